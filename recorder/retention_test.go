package recorder

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

func TestRetention(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		key := newKey(t)
		r := newRecorder(t, fx.st, key, Options{CheckpointEvery: 100})
		appendN(t, r, "old", 250) // checkpoints at 100 and 200
		time.Sleep(5 * time.Millisecond)
		cut := time.Now()
		appendN(t, r, "new", 30)

		// A legal hold stops purging, and both are recorded.
		if err := r.SetLegalHold(ctx, true, "carol", "case 42"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Purge(ctx, cut, "retention"); !errors.Is(err, ErrLegalHold) {
			t.Fatalf("purge under a legal hold: %v", err)
		}
		if err := r.SetLegalHold(ctx, false, "carol", "case closed"); err != nil {
			t.Fatal(err)
		}
		res, err := r.Purge(ctx, cut, "retention")
		if err != nil {
			t.Fatal(err)
		}
		if res.ThroughSeq != 200 || res.Events != 200 || res.Checkpoints != 1 {
			t.Fatalf("purge = %+v; want events 1..200 gone, the checkpoint at 200 kept", res)
		}
		rep := verify(t, fx.st, VerifyOptions{}, key)
		wantOK(t, rep)
		if rep.FirstSeq != 201 {
			t.Errorf("first retained seq %d, want 201", rep.FirstSeq)
		}
		// Nothing older remains to purge; the chain goes on and verifies.
		if res, err = r.Purge(ctx, cut, "retention"); err != nil || res.ThroughSeq != 0 {
			t.Errorf("second purge = %+v, %v; want nothing to do", res, err)
		}
		appendN(t, r, "later", 10)
		r.Close()
		rep = verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
		wantOK(t, rep)
		recs, _ := fx.st.Search(ctx, store.Query{Types: []string{TypeLegalHoldSet, TypeLegalHoldCleared, TypeRetentionPurged}})
		if len(recs) != 3 || recs[0].Subject != "carol" || recs[2].Type != TypeRetentionPurged {
			t.Errorf("recorded hold and purge events: %+v", recs)
		}
	})
}

func TestRetentionLoop(t *testing.T) {
	fx := openFixture(t, backends[0])
	key := newKey(t)
	r := newRecorder(t, fx.st, key, Options{CheckpointEvery: 10})
	appendN(t, r, "s", 25)
	r.Close()
	time.Sleep(10 * time.Millisecond)
	r = newRecorder(t, fx.st, key, Options{Retention: 5 * time.Millisecond, PurgeInterval: 20 * time.Millisecond})
	defer r.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := fx.st.Events(context.Background(), 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 1 && evs[0].Seq > 25 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not purge; first event %+v", evs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantOK(t, verify(t, fx.st, VerifyOptions{}, key))
}
