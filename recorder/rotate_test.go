package recorder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

// busyLog is a store during each of whose commits another event arrives,
// as under a load that never pauses: after every commit something still
// waits to be stored.
type busyLog struct {
	store.AuditLog
	during func()
}

func (b *busyLog) Append(ctx context.Context, build func(store.Head) (store.Batch, error)) (store.Head, error) {
	h, err := b.AuditLog.Append(ctx, build)
	if err == nil && b.during != nil {
		b.during()
	}
	return h, err
}

// TestJournalStaysBoundedUnderSteadyLoad: under a load that never pauses
// the store is never fully caught up, yet frames go to a new file once
// one is full, and each file is deleted as soon as its last frame is
// stored: the journal holds what waits for the store, not everything
// since the last lull.
func TestJournalStaysBoundedUnderSteadyLoad(t *testing.T) {
	fx := openFixture(t, backends[0])
	dir := t.TempDir()
	key := newKey(t)
	log := &busyLog{AuditLog: fx.st}
	r := newRecorder(t, log, key, Options{Journal: dir, IngestDelay: time.Millisecond})
	const rotateAt, calls = 8 << 10, 1500
	r.j.mu.Lock()
	r.j.rotateAt = rotateAt
	r.j.mu.Unlock()
	var n int
	var largest int64
	seen := map[string]bool{}
	log.during = func() { // on the ingest goroutine, between two commits
		if n >= calls {
			return
		}
		in, _ := callEvents("sess_steady", "gail@example.com", n)
		n++
		if err := r.Write(context.Background(), in); err != nil {
			t.Error(err)
		}
		var total int64
		for _, f := range journalFiles(t, dir) {
			seen[filepath.Base(f)] = true
			if st, err := os.Stat(f); err == nil {
				total += st.Size()
			}
		}
		largest = max(largest, total)
	}
	in, _ := callEvents("sess_steady", "gail@example.com", -1)
	if err := r.Write(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every event to be stored", func() bool {
		h, err := fx.st.Head(context.Background())
		return err == nil && h.Seq >= calls+1
	})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
	wantOK(t, rep)
	var total int64
	recs, err := fx.st.Events(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range recs {
		total += int64(len(rc.Data))
	}
	if rep.Events < calls+1 || total < 20*rotateAt {
		t.Fatalf("%d events, %d bytes: too few to fill the journal many times over", rep.Events, total)
	}
	if largest > 3*rotateAt {
		t.Errorf("the journal reached %d bytes (files of %d) while %d were written: files are not dropped as they are stored", largest, rotateAt, total)
	}
	if files := journalFiles(t, dir); len(files) != 0 {
		t.Fatalf("journal files left: %v", files)
	}
	// Nor the cursors of the files once they are gone.
	if len(seen) < 10 {
		t.Fatalf("only %d journal files seen", len(seen))
	}
	for name := range seen {
		if at, err := fx.st.Cursor(context.Background(), cursorPrefix+name); err != nil || at != 0 {
			t.Errorf("the cursor of deleted journal %s is still there (%d, %v)", name, at, err)
		}
	}
}

// TestSealedJournalsSurviveAStoreOutage: while the store is down the
// journal fills several files; the gateway stops before the store is back
// (as a crash would leave them); the next start stores every frame of
// every file, in order, once, and deletes the files.
func TestSealedJournalsSurviveAStoreOutage(t *testing.T) {
	fx := openFixture(t, backends[0])
	log := &switchLog{AuditLog: fx.st}
	dir := t.TempDir()
	key := newKey(t)
	r := newRecorder(t, log, key, Options{Journal: dir, MaxPending: 10_000})
	r.j.mu.Lock()
	r.j.rotateAt = 4 << 10
	r.j.mu.Unlock()
	log.down.Store(true)
	const calls = 100
	for i := range calls {
		in, out := callEvents("sess_sealed", "hank@example.com", i)
		if err := r.Write(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if err := r.Enqueue(out); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(journalFiles(t, dir)); n < 5 {
		t.Fatalf("%d journal files for %d calls at 4 KiB each", n, calls)
	}
	// Stop without the store: every file stays for the next start.
	r.j.mu.Lock()
	r.jclosed = true
	r.j.mu.Unlock()
	close(r.ingestStop)
	<-r.ingestDone
	if err := r.j.close(false); err != nil {
		t.Fatal(err)
	}
	_, stranded, err := Stranded(context.Background(), fx.st, dir)
	if err != nil || stranded != 2*calls {
		t.Fatalf("stranded %d, %v; want %d", stranded, err, 2*calls)
	}
	r2 := newRecorder(t, fx.st, key, Options{Journal: dir})
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
	wantOK(t, rep)
	recs, err := fx.st.Events(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, rc := range recs {
		if rc.Type == TypeCallIntent {
			order = append(order, rc.CallID)
		}
	}
	if len(order) != calls {
		t.Fatalf("%d intents stored, want %d", len(order), calls)
	}
	for i, id := range order {
		if id != fmt.Sprintf("call_sess_sealed_%d", i) {
			t.Fatalf("intent %d is %s: the files were not recovered in order", i, id)
		}
	}
	if files := journalFiles(t, dir); len(files) != 0 {
		t.Fatalf("journal files left after recovery: %v", files)
	}
}
