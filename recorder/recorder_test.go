package recorder

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

func TestConcurrentAppendsVerify(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		key := newKey(t)
		r := newRecorder(t, fx.st, key, Options{CheckpointEvery: 100})
		var wg sync.WaitGroup
		seen := sync.Map{}
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					in, out := callEvents("s"+string(rune('a'+w)), "alice", i)
					for _, e := range []Event{in, out} {
						seq, err := r.Append(context.Background(), e)
						if err != nil {
							t.Error(err)
							return
						}
						if _, dup := seen.LoadOrStore(seq, true); dup {
							t.Errorf("seq %d returned twice", seq)
						}
					}
				}
			}()
		}
		wg.Wait()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		rep := verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
		wantOK(t, rep)
		if rep.Events != 800 || rep.LastSeq != 800 || rep.Unsealed != 0 || rep.Checkpoints < 8 || len(rep.OutcomeUnknown) != 0 {
			t.Errorf("report = %+v", rep)
		}
		// Appends were batched: fewer transactions than events is the
		// point of the group commit, so checkpoints land at batch ends.
		t.Logf("%d checkpoints for 800 events", rep.Checkpoints)
	})
}

// TestCanonicalVector pins the hash of a fixed event: README.md documents
// the same vector so third parties can test their verifier against it.
func TestCanonicalVector(t *testing.T) {
	c := canonicalizer{}
	data, err := c.canonical([]byte(`{"b": [1, 2.50, "x\u00e9\n\"<>&\u2028"], "a": {"z": null, "y": true}, "\u00e9": 1}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantData := "{\"a\":{\"y\":true,\"z\":null},\"b\":[1,2.50,\"xé\\n\\\"<>&\u2028\"],\"é\":1}"
	if string(data) != wantData {
		t.Fatalf("canonical data\n got %s\nwant %s", data, wantData)
	}
	e := Event{Seq: 1, Time: time.Date(2026, 11, 27, 10, 0, 0, 123456000, time.UTC), Type: TypeCallIntent, Version: 1,
		CallID: "call_1", SessionID: "sess_1", Subject: "alice@example.com", Verified: true,
		Data: []byte(`{"tool":"sql_query"}`), PrevHash: GenesisHash}
	var enc []byte
	enc = append(enc, hashPrefix...)
	enc = envelope(enc, "seq", "1")
	enc = append(enc, body(fieldsOf(e))...)
	enc = envelope(enc, "prev_hash", e.PrevHash)
	wantEnc := "airlock-event-v1\nseq:1:1\ntime:27:2026-11-27T10:00:00.123456Z\ntype:11:call.intent\nversion:1:1\n" +
		"call_id:6:call_1\nsession_id:6:sess_1\nsubject:17:alice@example.com\nverified:4:true\n" +
		"data:20:{\"tool\":\"sql_query\"}\nprev_hash:64:" + GenesisHash + "\n"
	if string(enc) != wantEnc {
		t.Fatalf("encoding\n got %q\nwant %q", enc, wantEnc)
	}
	const wantHash = "3ec3ae32a36b2f27193cf9aac1b4c91247d13716e5ce653b7adb90c046227080"
	if got := HashEvent(e); got != wantHash {
		t.Fatalf("HashEvent = %s, want %s", got, wantHash)
	}
}

func TestMaskerAndBounds(t *testing.T) {
	fx := openFixture(t, backends[0])
	key := newKey(t)
	mask := MaskerFunc(func(s string) string { return strings.ReplaceAll(s, "4111111111111111", "[card]") })
	r := newRecorder(t, fx.st, key, Options{Masker: mask, MaxString: 32})
	ev, _ := NewEvent(TypeCallResult, ResultData{Status: "ok", Excerpt: "card 4111111111111111 " + strings.Repeat("x", 100)})
	if _, err := r.Append(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	r.Close()
	recs, _ := fx.st.Events(context.Background(), 0, 10)
	got := string(recs[0].Data)
	if strings.Contains(got, "4111") || !strings.Contains(got, "[card]") || !strings.Contains(got, truncMark) || strings.Contains(got, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") {
		t.Errorf("stored payload %s: want the card masked and the string cut", got)
	}
	wantOK(t, verify(t, fx.st, VerifyOptions{}, key))
}

// failingLog is a store that cannot write: the disk is full, the database
// is down.
type failingLog struct{ store.AuditLog }

func (failingLog) Append(context.Context, func(store.Head) (store.Batch, error)) (store.Head, error) {
	return store.Head{}, errors.New("disk full")
}

func TestFailClosed(t *testing.T) {
	fx := openFixture(t, backends[0])
	r := newRecorder(t, failingLog{fx.st}, newKey(t), Options{})
	in, _ := callEvents("s", "alice", 0)
	_, err := r.Append(context.Background(), in)
	if !errors.Is(err, ErrNotRecorded) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("append to a failing store: %v; want ErrNotRecorded with the cause", err)
	}
	r.Close()
	if _, err := r.Append(context.Background(), in); !errors.Is(err, ErrNotRecorded) || !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	// A closed store fails the same way.
	r2 := newRecorder(t, fx.st, newKey(t), Options{})
	fx.st.Close()
	if _, err := r2.Append(context.Background(), in); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("append to a closed store: %v", err)
	}
	// A payload that is not JSON is refused before anything is written.
	bad := in
	bad.Data = []byte("{not json")
	if _, err := r2.Append(context.Background(), bad); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("append of bad JSON: %v", err)
	}
}

func TestOutcomeUnknownAndReplay(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		key := newKey(t)
		r := newRecorder(t, fx.st, key, Options{})
		appendN(t, r, "sess_1", 11) // start + 5 calls
		in, _ := callEvents("sess_1", "alice@example.com", 99)
		seq, err := r.Append(context.Background(), in) // the gateway dies here
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		rep := verify(t, fx.st, VerifyOptions{}, key)
		wantOK(t, rep)
		if len(rep.OutcomeUnknown) != 1 || rep.OutcomeUnknown[0].Seq != seq {
			t.Fatalf("outcome unknown = %+v, want seq %d", rep.OutcomeUnknown, seq)
		}
		recs, err := fx.st.Search(context.Background(), store.Query{SessionID: "sess_1"})
		if err != nil {
			t.Fatal(err)
		}
		var evs []Event
		for _, rc := range recs {
			evs = append(evs, FromRecord(rc))
		}
		var buf bytes.Buffer
		if err := WriteTranscript(&buf, evs); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{"session sess_1 started", "claude-code 2.1 over http from 127.0.0.1:5000",
			"call call_sess_1_0: sql_query on prod-db", `{"sql":"SELECT * FROM orders WHERE id = 0"}`,
			"decision:  allow (policy sha256:abc): reads are allowed", "result of call_sess_1_0: ok, 1 rows",
			`[masked]`, "denied call_sess_1_4: writes to prod-db need approval", "outcome unknown"} {
			if !strings.Contains(out, want) {
				t.Errorf("transcript lacks %q:\n%s", want, out)
			}
		}
		if strings.Count(out, "outcome unknown") != 1 {
			t.Errorf("only call 99 has an unknown outcome:\n%s", out)
		}
	})
}

func TestTimedCheckpoint(t *testing.T) {
	fx := openFixture(t, backends[0])
	key := newKey(t)
	r := newRecorder(t, fx.st, key, Options{CheckpointInterval: 100 * time.Millisecond})
	defer r.Close()
	appendN(t, r, "s", 3)
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := fx.st.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if h.Checkpoint != nil && h.Checkpoint.Seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no timed checkpoint; head %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantOK(t, verify(t, fx.st, VerifyOptions{RequireSealed: true}, key))
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "audit.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !k1.Equal(k2) {
		t.Fatalf("reload: %v, created %v, same %v", err, created, k1.Equal(k2))
	}
	pub := filepath.Join(dir, "audit.pub")
	if err := os.WriteFile(pub, PublicKeyPEM(k1.Public().(ed25519.PublicKey)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{pub, path} {
		keys, err := LoadPublicKeys(p)
		if err != nil || len(keys) != 1 || KeyID(keys[0]) != KeyID(k1.Public().(ed25519.PublicKey)) {
			t.Errorf("LoadPublicKeys(%s) = %v, %v", p, keys, err)
		}
	}
	if _, err := LoadPublicKeys(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing key file accepted")
	}
}

// TestTwoWritersOneSQLiteFile has two recorders with their own store
// handles on one file, as the gateway and `airlock audit hold` would:
// BEGIN IMMEDIATE serialises them and the chain stays linear.
func TestTwoWritersOneSQLiteFile(t *testing.T) {
	fx := openFixture(t, backends[0])
	other := &fixture{driver: fx.driver, dsn: fx.dsn}
	other.reopen(t)
	key := newKey(t)
	var wg sync.WaitGroup
	for i, st := range []store.Store{fx.st, other.st} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRecorder(t, st, key, Options{CheckpointEvery: 50})
			var inner sync.WaitGroup
			for w := range 4 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					for j := range 50 {
						in, _ := callEvents(fmt.Sprintf("s%d-%d", i, w), "alice", j)
						if _, err := r.Append(context.Background(), in); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			inner.Wait()
			r.Close()
		}()
	}
	wg.Wait()
	rep := verify(t, fx.st, VerifyOptions{}, key)
	wantOK(t, rep)
	if rep.Events != 400 {
		t.Errorf("events = %d, want 400", rep.Events)
	}
}

func TestPreMaskedSkipsTheLastPass(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	calls := 0
	r, err := New(context.Background(), st, Options{SigningKey: key,
		Masker: MaskerFunc(func(s string) string { calls++; return strings.ReplaceAll(s, "secret", "[x]") })})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, pre := range []bool{false, true} {
		ev, _ := NewEvent(TypeCallResult, map[string]any{"excerpt": "a secret"})
		ev.Subject, ev.PreMasked = "s", pre
		if _, err := r.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := st.Events(context.Background(), 0, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %d", err, len(recs))
	}
	if !strings.Contains(string(recs[0].Data), "[x]") || !strings.Contains(string(recs[1].Data), "a secret") || calls == 0 {
		t.Fatalf("masked: %s / %s (%d calls)", recs[0].Data, recs[1].Data, calls)
	}
}
