package recorder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+journalExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestJournalWritesReachTheChainInOrder: Write returns before the store
// has the event; the ingester stores every event in write order, and
// Close leaves no journal behind.
func TestJournalWritesReachTheChainInOrder(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		key := newKey(t)
		dir := filepath.Join(t.TempDir(), "journal")
		r := newRecorder(t, fx.st, key, Options{Journal: dir, CheckpointEvery: 50})
		if n := len(journalFiles(t, dir)); n != 1 {
			t.Fatalf("%d journal files while running, want 1", n)
		}
		ctx := context.Background()
		var calls []string
		for i := range 120 {
			in, out := callEvents("sess_j", "alice@example.com", i)
			for _, ev := range []Event{in, out} {
				if err := r.Write(ctx, ev); err != nil {
					t.Fatal(err)
				}
				calls = append(calls, ev.CallID+"/"+ev.Type)
			}
		}
		waitFor(t, "the ingester", func() bool {
			h, err := fx.st.Head(ctx)
			return err == nil && h.Seq == int64(len(calls))
		})
		// Append waits for the store and gets the next sequence number.
		ev, _ := NewEvent(TypeConfigLoaded, LoadedData{Hash: "sha256:cfg"})
		seq, err := r.Append(ctx, ev)
		if err != nil || seq != int64(len(calls))+1 {
			t.Fatalf("Append = %d, %v; want seq %d", seq, err, len(calls)+1)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if files := journalFiles(t, dir); len(files) != 0 {
			t.Fatalf("journal files left after a clean close: %v", files)
		}
		if c, _ := fx.st.Cursor(ctx, cursorPrefix+"x"); c != 0 {
			t.Fatal("a cursor for an unknown journal")
		}
		recs, err := fx.st.Events(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range calls {
			if got := recs[i].CallID + "/" + recs[i].Type; got != want {
				t.Fatalf("event %d = %s, want %s", i+1, got, want)
			}
		}
		wantOK(t, verify(t, fx.st, VerifyOptions{RequireSealed: true}, key))
	})
}

// switchLog fails every append while down is set: a store that is
// unreachable.
type switchLog struct {
	store.AuditLog
	down atomic.Bool
}

func (s *switchLog) Append(ctx context.Context, build func(store.Head) (store.Batch, error)) (store.Head, error) {
	if s.down.Load() {
		return store.Head{}, errors.New("connection refused")
	}
	return s.AuditLog.Append(ctx, build)
}

// TestJournalOutlivesAStoreOutage: while the store is down, writes are
// durable in the journal and bounded; when it is back every one of them
// is stored, once.
func TestJournalOutlivesAStoreOutage(t *testing.T) {
	fx := openFixture(t, backends[0])
	log := &switchLog{AuditLog: fx.st}
	key := newKey(t)
	r := newRecorder(t, log, key, Options{Journal: t.TempDir(), MaxPending: 20})
	ctx := context.Background()
	log.down.Store(true)
	for i := range 10 {
		in, out := callEvents("sess_down", "bob@example.com", i)
		for _, ev := range []Event{in, out} {
			if err := r.Write(ctx, ev); err != nil {
				t.Fatalf("write %d while the store is down: %v", i, err)
			}
		}
	}
	in, _ := callEvents("sess_down", "bob@example.com", 99)
	err := r.Write(ctx, in)
	if !errors.Is(err, ErrNotRecorded) || !errors.Is(err, ErrBacklog) {
		t.Fatalf("write past MaxPending = %v; want ErrNotRecorded and ErrBacklog", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := r.Append(short, Event{Type: TypeConfigLoaded, Data: []byte(`{}`)}); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("Append while the store is down and the backlog full = %v", err)
	}
	if h, _ := fx.st.Head(ctx); h.Seq != 0 {
		t.Fatalf("store head %d while down", h.Seq)
	}
	log.down.Store(false)
	waitFor(t, "the backlog to drain", func() bool {
		h, err := fx.st.Head(ctx)
		return err == nil && h.Seq == 20
	})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
	wantOK(t, rep)
	if rep.Events != 20 {
		t.Fatalf("%d events stored, want the 20 acknowledged ones", rep.Events)
	}
}

// TestJournalRotatesUnderConcurrentSyncedWrites: with fsync on and a
// tiny rotation size, files are replaced while writers wait for their
// fdatasync; every write succeeds, every event is stored once, and no
// file is left behind.
func TestJournalRotatesUnderConcurrentSyncedWrites(t *testing.T) {
	fx := openFixture(t, backends[0])
	dir := t.TempDir()
	key := newKey(t)
	r := newRecorder(t, fx.st, key, Options{Journal: dir, JournalFsync: true, IngestDelay: time.Millisecond})
	r.j.mu.Lock()
	r.j.rotateAt = 4 << 10
	first := r.j.name
	r.j.mu.Unlock()
	const writers, each = 8, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				in, out := callEvents(fmt.Sprintf("sess_rot%d", w), "frank@example.com", i)
				if err := r.Write(context.Background(), in); err != nil {
					errs <- err
					return
				}
				if err := r.Enqueue(out); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r.j.mu.Lock()
	rotated := r.j.name != first
	r.j.mu.Unlock()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !rotated {
		t.Fatal("the journal never rotated")
	}
	if files := journalFiles(t, dir); len(files) != 0 {
		t.Fatalf("journal files left: %v", files)
	}
	rep := verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
	wantOK(t, rep)
	if rep.Events != 2*writers*each {
		t.Fatalf("%d events stored, want %d", rep.Events, 2*writers*each)
	}
	recs, _ := fx.st.Events(context.Background(), 0, 10000)
	seen := map[string]bool{}
	for _, rc := range recs {
		k := rc.CallID + "/" + rc.Type
		if seen[k] {
			t.Fatalf("%s stored twice", k)
		}
		seen[k] = true
	}
	if cs, _ := fx.st.Cursor(context.Background(), cursorPrefix+first); cs != 0 {
		t.Fatalf("the rotated journal's cursor is still there (%d)", cs)
	}
}

// TestJournalRecoveryStopsAtATornFrame: a journal whose last frame was
// cut short, or whose bytes were altered, gives back exactly the intact
// frames before it.
func TestJournalRecoveryStopsAtATornFrame(t *testing.T) {
	fx := openFixture(t, backends[0])
	dir := t.TempDir()
	var frames []byte
	var recs []store.Record
	for i := range 5 {
		in, _ := callEvents("sess_torn", "carol@example.com", i)
		req, err := (&Recorder{canon: canonicalizer{maxString: 1 << 16}}).prepare(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, req.rec)
		frames = encodeJournalFrame(frames, &req.rec)
	}
	// An orphan with a torn tail: the fifth frame lost its last bytes.
	torn := frames[:len(frames)-3]
	if err := os.WriteFile(filepath.Join(dir, "1-torn"+journalExt), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	r := newRecorder(t, fx.st, key, Options{Journal: dir})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := fx.st.Events(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("recovered %d events from 4 intact frames and a torn one", len(got))
	}
	for i, g := range got {
		if g.CallID != recs[i].CallID || string(g.Data) != string(recs[i].Data) || !g.Time.Equal(recs[i].Time) {
			t.Fatalf("recovered event %d = %s %s, want %s %s", i, g.CallID, g.Data, recs[i].CallID, recs[i].Data)
		}
	}
	if files := journalFiles(t, dir); len(files) != 0 {
		t.Fatalf("recovered journal not removed: %v", files)
	}

	// A flipped byte in the second frame: only the first is trusted.
	fx2 := openFixture(t, backends[0])
	bad := append([]byte(nil), frames...)
	bad[len(encodeJournalFrame(nil, &recs[0]))+journalFrameHdr+5] ^= 0xff
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, "2-bad"+journalExt), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	r2 := newRecorder(t, fx2.st, key, Options{Journal: dir2})
	_ = r2.Close()
	if h, _ := fx2.st.Head(context.Background()); h.Seq != 1 {
		t.Fatalf("a corrupt second frame: %d events recovered, want 1", h.Seq)
	}
	wantOK(t, verify(t, fx2.st, VerifyOptions{}, key))
}

// TestJournalOfALiveProcessIsLeftAlone: a second recorder on the same
// directory does not take over the journal a running one holds.
func TestJournalOfALiveProcessIsLeftAlone(t *testing.T) {
	fx := openFixture(t, backends[0])
	dir := t.TempDir()
	key := newKey(t)
	a := newRecorder(t, fx.st, key, Options{Journal: dir, IngestDelay: time.Hour})
	in, _ := callEvents("sess_live", "dan@example.com", 1)
	if err := a.Write(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	b := newRecorder(t, fx.st, key, Options{Journal: dir})
	if h, _ := fx.st.Head(context.Background()); h.Seq != 0 {
		t.Fatalf("the second recorder ingested the first one's journal (head %d)", h.Seq)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	recs, _ := fx.st.Events(context.Background(), 0, 10)
	if len(recs) != 1 || recs[0].CallID != in.CallID {
		t.Fatalf("events after both closed: %d, want the one written", len(recs))
	}
}

// TestJournalCrash kills a gateway process writing through its journal
// with SIGKILL: every write it acknowledged is in the store exactly once
// after the next start, and the chain verifies.
func TestJournalCrash(t *testing.T) {
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) {
			dsn := b.dsn(t)
			key := newKey(t)
			dir := filepath.Join(t.TempDir(), "journal")
			cmd := helper(t, "crash", b.driver, dsn, key, "jcrash", 0, dir)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := map[string]bool{}
			sc := bufio.NewScanner(stdout)
			scan := func() {
				var seq int64
				var call string
				if _, err := fmt.Sscanf(sc.Text(), "ack %d %s", &seq, &call); err == nil {
					acked[call] = true
				}
			}
			deadline := time.Now().Add(time.Minute)
			for sc.Scan() {
				scan()
				if len(acked) >= 2000 || time.Now().After(deadline) {
					break
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				scan()
			}
			_ = cmd.Wait()
			if len(journalFiles(t, dir)) != 1 {
				t.Fatalf("journal files after kill -9: %v", journalFiles(t, dir))
			}
			fx := &fixture{driver: b.driver, dsn: dsn}
			fx.reopen(t)
			ctx := context.Background()
			before, _ := fx.st.Head(ctx)
			_, stranded, err := Stranded(ctx, fx.st, dir)
			if err != nil {
				t.Fatal(err)
			}
			r := newRecorder(t, fx.st, key, Options{Journal: dir})
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			rep := verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
			wantOK(t, rep)
			recs, err := fx.st.Events(ctx, 0, 10_000_000)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, rc := range recs {
				count[rc.CallID]++
			}
			for call := range acked {
				if count[call] != 1 {
					t.Fatalf("acknowledged %s is stored %d times after kill -9 and recovery", call, count[call])
				}
			}
			for call, n := range count {
				if n != 1 && strings.HasPrefix(call, "call_jcrash") {
					t.Fatalf("%s stored %d times", call, n)
				}
			}
			if files := journalFiles(t, dir); len(files) != 0 {
				t.Fatalf("journal files left after recovery: %v", files)
			}
			if before.Seq+int64(stranded) != rep.Events {
				t.Fatalf("%d events in the store and %d stranded in the journal before recovery, %d after", before.Seq, stranded, rep.Events)
			}
			t.Logf("%d acknowledged before kill -9; %d were in the store, %d stranded in the journal, %d after recovery",
				len(acked), before.Seq, stranded, rep.Events)
		})
	}
}

// FuzzJournalFrame: any bytes in a journal are read without a panic, and
// every record survives a round trip through a frame unchanged.
func FuzzJournalFrame(f *testing.F) {
	in, out := callEvents("sess_fuzz", "erin@example.com", 3)
	for _, ev := range []Event{in, out} {
		req, err := (&Recorder{canon: canonicalizer{maxString: 1 << 16}}).prepare(context.Background(), ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(encodeJournalFrame(nil, &req.rec))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if rec, err := decodeJournalPayload(b); err == nil {
			again, err := decodeJournalPayload(encodeJournalFrame(nil, &rec)[journalFrameHdr:])
			if err != nil || !reflect.DeepEqual(again, rec) {
				t.Fatalf("round trip changed the record: %+v -> %+v (%v)", rec, again, err)
			}
		}
		path := filepath.Join(t.TempDir(), "x"+journalExt)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		ents, err := readJournal(fh, 0)
		if err != nil {
			t.Fatal(err)
		}
		var end int64
		for _, e := range ents {
			if e.end <= end || e.end > int64(len(b)) {
				t.Fatalf("frame ends at %d after %d in %d bytes", e.end, end, len(b))
			}
			end = e.end
		}
	})
}
