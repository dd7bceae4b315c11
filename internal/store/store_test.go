package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

type backend struct {
	driver string
	dsn    func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "airlock.db") }},
	{"postgres", func(t *testing.T) string { return testenv.Postgres(t).NewDatabase(t).AdminDSN }},
}

// each runs fn against a fresh store of every backend.
func each(t *testing.T, fn func(t *testing.T, st store.Store, dsn string)) {
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) {
			dsn := b.dsn(t)
			st, err := store.Open(context.Background(), b.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st, dsn)
		})
	}
}

// fakeHash stands in for a SHA-256: the store never checks hashes.
func fakeHash(seq int64) string { return fmt.Sprintf("%064x", seq) }

func rec(seq int64, typ, session, call string) store.Record {
	return store.Record{Seq: seq, Time: time.Unix(1700000000, 0).Add(time.Duration(seq) * time.Second).UTC(),
		Type: typ, Version: 1, CallID: call, SessionID: session, Subject: "alice", Verified: true,
		Data: []byte(`{"n":` + fmt.Sprint(seq) + `}`), PrevHash: fakeHash(seq - 1), Hash: fakeHash(seq)}
}

func appendRecs(t *testing.T, st store.AuditLog, recs ...store.Record) store.Head {
	t.Helper()
	h, err := st.Append(context.Background(), func(store.Head) (store.Batch, error) {
		return store.Batch{Records: recs}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMigrations(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, dsn string) {
		ctx := context.Background()
		h, err := st.Head(ctx)
		if err != nil || h.Seq != 0 || h.Hash != genesis {
			t.Fatalf("fresh head = %+v, %v; want seq 0 and the genesis hash", h, err)
		}
		// Reopening applies nothing twice.
		st2, err := store.Open(ctx, st.Driver(), dsn)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		st2.Close()
		if store.LatestVersion() < 1 {
			t.Fatalf("LatestVersion = %d", store.LatestVersion())
		}
	})
}

func TestAppendKeepsTheChainLinear(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ string) {
		ctx := context.Background()
		r1 := rec(1, "session.start", "s1", "")
		r1.PrevHash = genesis
		h := appendRecs(t, st, r1, rec(2, "call.intent", "s1", "c1"))
		if h.Seq != 2 || h.Hash != fakeHash(2) {
			t.Fatalf("head after append = %d %s", h.Seq, h.Hash)
		}
		for name, bad := range map[string]store.Record{
			"gap":  rec(4, "call.result", "s1", "c1"),
			"fork": func() store.Record { r := rec(3, "call.result", "s1", "c1"); r.PrevHash = fakeHash(1); return r }(),
		} {
			if _, err := st.Append(ctx, func(store.Head) (store.Batch, error) {
				return store.Batch{Records: []store.Record{bad}}, nil
			}); err == nil {
				t.Errorf("%s: append succeeded", name)
			}
		}
		cp := &store.Checkpoint{Seq: 3, Hash: fakeHash(3), Time: time.Now().UTC().Truncate(time.Microsecond), KeyID: "k1", Signature: []byte("sig")}
		sh := *cp
		sh.Signature = []byte("head-sig")
		_, err := st.Append(ctx, func(h store.Head) (store.Batch, error) {
			if h.Seq != 2 {
				return store.Batch{}, fmt.Errorf("build saw head %d", h.Seq)
			}
			return store.Batch{Records: []store.Record{rec(3, "call.result", "s1", "c1")}, Checkpoint: cp, Signed: &sh}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		h, err = st.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h.Seq != 3 || h.Checkpoint == nil || h.Checkpoint.Seq != 3 || string(h.Checkpoint.Signature) != "sig" ||
			h.Signed == nil || string(h.Signed.Signature) != "head-sig" || !h.Signed.Time.Equal(cp.Time) {
			t.Fatalf("head = %+v (checkpoint %+v, signed %+v)", h, h.Checkpoint, h.Signed)
		}
		evs, err := st.Events(ctx, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Seq != 2 || string(evs[1].Data) != `{"n":3}` || !evs[0].Time.Equal(rec(2, "", "", "").Time) || !evs[0].Verified {
			t.Fatalf("events after 1 = %+v", evs)
		}
		cps, err := st.Checkpoints(ctx)
		if err != nil || len(cps) != 1 || cps[0].KeyID != "k1" {
			t.Fatalf("checkpoints = %+v, %v", cps, err)
		}
	})
}

func TestSearchAndSessions(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ string) {
		ctx := context.Background()
		r1 := rec(1, "session.start", "s1", "")
		r1.PrevHash = genesis
		i1 := rec(2, "call.intent", "s1", "c1")
		i1.Tool, i1.Connection, i1.Decision = "sql_query", "prod-db", "allow"
		i2 := rec(4, "call.intent", "s2", "c2")
		i2.Tool, i2.Connection, i2.Decision, i2.Subject = "sql_query", "dev-db", "deny", "bob"
		e2 := rec(5, "call.error", "s2", "c2")
		e2.Subject = "bob"
		appendRecs(t, st, r1, i1, rec(3, "call.result", "s1", "c1"), i2, e2)

		got, err := st.Search(ctx, store.Query{Connection: "prod-db"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 {
			t.Errorf("search connection=prod-db: %v, want the intent and result of c1", seqs(got))
		}
		got, _ = st.Search(ctx, store.Query{Decision: "deny", Subject: "bob"})
		if len(got) != 2 || got[0].CallID != "c2" {
			t.Errorf("search decision=deny subject=bob: %v", seqs(got))
		}
		got, _ = st.Search(ctx, store.Query{Types: []string{"call.result", "call.error"}, Limit: 1})
		if len(got) != 1 || got[0].Seq != 3 {
			t.Errorf("search types, limit 1: %v", seqs(got))
		}
		since := rec(3, "", "", "").Time
		got, _ = st.Search(ctx, store.Query{Since: since, Until: since.Add(2 * time.Second)})
		if len(got) != 2 || got[0].Seq != 3 {
			t.Errorf("search time range: %v", seqs(got))
		}
		ss, err := st.Sessions(ctx, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 2 || ss[0].SessionID != "s2" || ss[0].Denied != 1 || ss[1].Calls != 1 || ss[1].Events != 3 || !ss[1].Verified {
			t.Errorf("sessions = %+v", ss)
		}
		if ss, _ = st.Sessions(ctx, store.Query{Tool: "sql_query", Connection: "prod-db"}); len(ss) != 1 || ss[0].SessionID != "s1" {
			t.Errorf("sessions on prod-db = %+v", ss)
		}
	})
}

func seqs(rs []store.Record) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

func TestCursorsHoldAndPurge(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ string) {
		ctx := context.Background()
		if c, err := st.Cursor(ctx, "siem"); err != nil || c != 0 {
			t.Fatalf("new cursor = %d, %v", c, err)
		}
		for _, v := range []int64{5, 9} {
			if err := st.SetCursor(ctx, "siem", v); err != nil {
				t.Fatal(err)
			}
		}
		if c, _ := st.Cursor(ctx, "siem"); c != 9 {
			t.Errorf("cursor = %d, want 9", c)
		}
		r1 := rec(1, "x", "", "")
		r1.PrevHash = genesis
		appendRecs(t, st, r1, rec(2, "x", "", ""), rec(3, "x", "", ""))
		if _, err := st.Purge(ctx, 2); !errors.Is(err, store.ErrNoAnchor) {
			t.Errorf("purge without a checkpoint: %v, want ErrNoAnchor", err)
		}
		_, err := st.Append(ctx, func(h store.Head) (store.Batch, error) {
			return store.Batch{Records: []store.Record{rec(4, "x", "", "")},
				Checkpoint: &store.Checkpoint{Seq: 4, Hash: fakeHash(4), Time: time.Now().UTC(), KeyID: "k", Signature: []byte{1}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetLegalHold(ctx, true); err != nil {
			t.Fatal(err)
		}
		if on, _ := st.LegalHold(ctx); !on {
			t.Error("legal hold not set")
		}
		if _, err := st.Purge(ctx, 4); !errors.Is(err, store.ErrLegalHold) {
			t.Errorf("purge under legal hold: %v, want ErrLegalHold", err)
		}
		if err := st.SetLegalHold(ctx, false); err != nil {
			t.Fatal(err)
		}
		ps, err := st.Purge(ctx, 4)
		if err != nil || ps.Events != 4 || ps.Checkpoints != 0 {
			t.Fatalf("purge = %+v, %v", ps, err)
		}
		if evs, _ := st.Events(ctx, 0, 10); len(evs) != 0 {
			t.Errorf("events after purge: %v", seqs(evs))
		}
		if cps, _ := st.Checkpoints(ctx); len(cps) != 1 || cps[0].Seq != 4 {
			t.Errorf("the anchor checkpoint must stay: %+v", cps)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, "oracle", "x"); !errors.Is(err, store.ErrUnknownType) {
		t.Errorf("unknown driver: %v", err)
	}
	if _, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "x.db"), store.WithDurability("maybe")); err == nil {
		t.Error("unknown durability accepted")
	}
	p := filepath.Join(t.TempDir(), "fsync.db")
	st, err := store.Open(ctx, "sqlite", p, store.WithDurability(store.DurabilityFsync))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

// TestNewerSchemaRefused: a store migrated by a newer airlock must not be
// written by an older one.
func TestNewerSchemaRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.db")
	st, err := store.Open(context.Background(), "sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name, applied_us) VALUES (9999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := store.Open(context.Background(), "sqlite", p); err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Fatalf("open of a newer schema: %v", err)
	}
}
