package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

// The SQLite store caches each subject's revocation and active grants.
// These tests take the attacker's side: a revoked subject, or a revoked
// or expired grant, must be refused at the very next read of every store
// on the file, also when another store (another gateway or the CLI, each
// with its own cache) made the change.

func openSQLite(t testing.TB, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func isRevoked(t testing.TB, st store.Store, subject string) bool {
	t.Helper()
	r, ok, err := st.Revocation(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	return ok && r.Active
}

func grantIDs(t testing.TB, st store.Store, subject string, now time.Time) []int64 {
	t.Helper()
	gs, err := st.ActiveGrants(context.Background(), subject, now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids
}

var grantSeq atomic.Int64

// grantVia creates a grant the way request_access does: an approval
// request of kind grant, approved.
func grantVia(t testing.TB, st store.Store, subject string, now time.Time, ttl time.Duration) store.Grant {
	t.Helper()
	ctx := context.Background()
	r := apReq(fmt.Sprint("grant-", grantSeq.Add(1)), now)
	r.Kind, r.Subject, r.GrantAccess, r.GrantDuration = store.ApprovalKindGrant, subject, "write", ttl
	r, _, err := st.CreateApproval(ctx, r, now)
	if err != nil {
		t.Fatal(err)
	}
	_, g, err := st.DecideApproval(ctx, r.ID, store.ApprovalDecision{State: store.ApprovalApproved, At: now, By: "bob",
		Grant: &store.Grant{Subject: subject, Connection: "prod-db", Access: "write", GrantedBy: "bob",
			Approvers: []string{"group:dba", "carol"}, ExpiresAt: now.Add(ttl)}})
	if err != nil || g == nil {
		t.Fatalf("grant: %+v, %v", g, err)
	}
	return *g
}

// TestCacheRevocationSeenByOtherStore: store a has cached "not revoked";
// the change made through store b (its own cache and epoch mapping, as
// another process has) is what a's very next read reports.
func TestCacheRevocationSeenByOtherStore(t *testing.T) {
	p := filepath.Join(t.TempDir(), "airlock.db")
	a, b := openSQLite(t, p), openSQLite(t, p)
	ctx := context.Background()
	for range 3 {
		if isRevoked(t, a, "mallory") {
			t.Fatal("revoked before any revocation")
		}
	}
	if err := b.Revoke(ctx, "mallory", "laptop stolen", "sec", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !isRevoked(t, a, "mallory") {
		t.Fatal("store a still lets mallory through after store b revoked them")
	}
	if ok, err := b.Unrevoke(ctx, "mallory", "sec", time.Now()); err != nil || !ok {
		t.Fatalf("unrevoke: %v %v", ok, err)
	}
	if isRevoked(t, a, "mallory") {
		t.Fatal("store a still refuses mallory after store b lifted the revocation")
	}
	if err := b.Revoke(ctx, "mallory", "again", "sec", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !isRevoked(t, a, "mallory") {
		t.Fatal("store a missed the second revocation")
	}
}

// TestCacheGrantSeenByOtherStore: a grant approved through store b is in
// store a's next read, and gone from it as soon as b revokes it.
func TestCacheGrantSeenByOtherStore(t *testing.T) {
	p := filepath.Join(t.TempDir(), "airlock.db")
	a, b := openSQLite(t, p), openSQLite(t, p)
	now := time.Now()
	for range 3 {
		if ids := grantIDs(t, a, "alice", now); len(ids) != 0 {
			t.Fatalf("grants before any: %v", ids)
		}
	}
	g := grantVia(t, b, "alice", now, time.Hour)
	if ids := grantIDs(t, a, "alice", now); !slices.Equal(ids, []int64{g.ID}) {
		t.Fatalf("store a after store b's grant: %v, want [%d]", ids, g.ID)
	}
	grantIDs(t, a, "alice", now) // cached again
	if _, err := b.RevokeGrant(context.Background(), g.ID, "carol", "done", now); err != nil {
		t.Fatal(err)
	}
	if ids := grantIDs(t, a, "alice", now); len(ids) != 0 {
		t.Fatalf("store a still serves grant %v after store b revoked it", ids)
	}
}

// TestCacheRevocationUnderConcurrentReads: while readers on both stores
// hammer the check, every read that starts after Revoke or Unrevoke has
// returned (on the other store) reports the new state.
func TestCacheRevocationUnderConcurrentReads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "airlock.db")
	a, b := openSQLite(t, p), openSQLite(t, p)
	ctx := context.Background()
	// state is version*2, +1 while the write of the next version runs;
	// odd versions are revoked.
	var state atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var checked atomic.Int64
	for i := range 4 {
		st := []store.Store{a, b}[i%2]
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s1 := state.Load()
				r, ok, err := st.Revocation(ctx, "mallory")
				if err != nil {
					t.Error(err)
					return
				}
				if s2 := state.Load(); s1 != s2 || s1%2 == 1 {
					continue // a write overlapped this read: either answer is right
				}
				checked.Add(1)
				if want := (s1/2)%2 == 1; (ok && r.Active) != want {
					t.Errorf("version %d: read revoked=%v, want %v", s1/2, ok && r.Active, want)
					return
				}
			}
		})
	}
	for v := int64(1); v <= 40; v++ {
		time.Sleep(2 * time.Millisecond) // let the readers cache the current state
		state.Store(2*(v-1) + 1)
		var err error
		if v%2 == 1 {
			err = b.Revoke(ctx, "mallory", "stolen", "sec", time.Now())
		} else {
			_, err = b.Unrevoke(ctx, "mallory", "sec", time.Now())
		}
		if err != nil {
			t.Fatal(err)
		}
		state.Store(2 * v)
	}
	time.Sleep(2 * time.Millisecond)
	close(stop)
	wg.Wait()
	if checked.Load() == 0 {
		t.Fatal("no read was checked")
	}
}

const (
	envHelper  = "AIRLOCK_STORE_HELPER" // "revoke" or "unrevoke"
	envDSN     = "AIRLOCK_STORE_DSN"
	envSubject = "AIRLOCK_STORE_SUBJECT"
)

// TestHelperProcess is not a test: it is the body of the helper process,
// a CLI that opens the store file itself and changes a revocation.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		return
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", os.Getenv(envDSN))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	subject := os.Getenv(envSubject)
	switch mode {
	case "revoke":
		err = st.Revoke(ctx, subject, "from another process", "sec", time.Now())
	case "unrevoke":
		_, err = st.Unrevoke(ctx, subject, "sec", time.Now())
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestRevocationFromAnotherProcess: `airlock revoke` run as its own
// process; the gateway's next read after it exits refuses the subject,
// and after `airlock revoke --lift` admits them again.
func TestRevocationFromAnotherProcess(t *testing.T) {
	p := filepath.Join(t.TempDir(), "airlock.db")
	gw := openSQLite(t, p)
	run := func(mode string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envHelper+"="+mode, envDSN+"="+p, envSubject+"=mallory")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s process: %v\n%s", mode, err, out)
		}
	}
	for range 2 {
		if isRevoked(t, gw, "mallory") {
			t.Fatal("revoked before any revocation")
		}
	}
	run("revoke")
	if !isRevoked(t, gw, "mallory") {
		t.Fatal("the gateway still lets mallory through after another process revoked them")
	}
	isRevoked(t, gw, "mallory")
	run("unrevoke")
	if isRevoked(t, gw, "mallory") {
		t.Fatal("the gateway still refuses mallory after another process lifted the revocation")
	}
}

// TestCacheSafetyBound: a change written by a tool that knows nothing of
// the epoch (here a plain database/sql connection) may be missed for at
// most the safety bound, never longer.
func TestCacheSafetyBound(t *testing.T) {
	const bound = 300 * time.Millisecond
	store.SetCacheMaxAge(t, bound)
	p := filepath.Join(t.TempDir(), "airlock.db")
	st := openSQLite(t, p)
	now := time.Now()
	g := grantVia(t, st, "alice", now, time.Hour)

	loaded := time.Now()
	if isRevoked(t, st, "mallory") || !slices.Equal(grantIDs(t, st, "alice", now), []int64{g.ID}) {
		t.Fatal("unexpected state before the foreign write")
	}
	foreign, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	if _, err := foreign.Exec(`INSERT INTO revocations (subject, revoked_at_us, active, reason, revoked_by, lifted_at_us, lifted_by)
VALUES ('mallory', ?, 1, 'by hand', 'dba', NULL, '')`, now.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if _, err := foreign.Exec("UPDATE grants SET revoked_at = ?, revoked_by = 'dba' WHERE id = ?", now.UnixMicro(), g.ID); err != nil {
		t.Fatal(err)
	}
	// Within the bound the cache may answer from before the write; that
	// it does shows the part below tests something.
	stale := !isRevoked(t, st, "mallory")
	if time.Since(loaded) < bound/2 && !stale {
		t.Error("the cache did not serve the revocation within the bound: is it caching at all?")
	}
	time.Sleep(time.Until(loaded.Add(bound + 10*time.Millisecond)))
	for i := range 3 {
		if !isRevoked(t, st, "mallory") {
			t.Fatalf("read %d after the bound: mallory's revocation is still not seen", i)
		}
		if ids := grantIDs(t, st, "alice", now); len(ids) != 0 {
			t.Fatalf("read %d after the bound: revoked grant still served: %v", i, ids)
		}
	}
}

// TestCachedGrantExpires: a grant read once is not served past its
// expiry, with no write to the store in between.
func TestCachedGrantExpires(t *testing.T) {
	st := openSQLite(t, filepath.Join(t.TempDir(), "airlock.db"))
	now := time.Now()
	short := grantVia(t, st, "alice", now, time.Minute)
	long := grantVia(t, st, "alice", now, time.Hour)
	for _, c := range []struct {
		at   time.Duration
		want []int64
	}{
		// Loaded after the short grant's expiry, the cache cannot answer
		// for a time before it.
		{2 * time.Minute, []int64{long.ID}},
		{30 * time.Second, []int64{short.ID, long.ID}},
		{0, []int64{short.ID, long.ID}},
		{30 * time.Second, []int64{short.ID, long.ID}},
		{time.Minute - time.Microsecond, []int64{short.ID, long.ID}},
		{time.Minute, []int64{long.ID}}, // expires_at is exclusive
		{2 * time.Minute, []int64{long.ID}},
		{-time.Second, []int64{short.ID, long.ID}}, // earlier than the load
		{2 * time.Hour, nil},
		{30 * time.Second, []int64{short.ID, long.ID}},
	} {
		if ids := grantIDs(t, st, "alice", now.Add(c.at)); !slices.Equal(ids, c.want) {
			t.Errorf("at now%+v: grants %v, want %v", c.at, ids, c.want)
		}
	}
}

// TestCachedGrantsAreCopies: what a caller does with the grants it got
// does not change what the next caller gets.
func TestCachedGrantsAreCopies(t *testing.T) {
	st := openSQLite(t, filepath.Join(t.TempDir(), "airlock.db"))
	now := time.Now()
	grantVia(t, st, "alice", now, time.Hour)
	ctx := context.Background()
	for range 3 {
		gs, err := st.ActiveGrants(ctx, "alice", now)
		if err != nil || len(gs) != 1 {
			t.Fatalf("grants: %+v, %v", gs, err)
		}
		if gs[0].Access != "write" || !slices.Equal(gs[0].Approvers, []string{"group:dba", "carol"}) {
			t.Fatalf("grant changed by an earlier caller: %+v", gs[0])
		}
		gs[0].Access, gs[0].Approvers[0] = "admin", "mallory"
		_ = append(gs[0].Approvers[:1], "mallory")
		gs[0] = store.Grant{}
	}
}

// TestEpochUnavailable: when the epoch file cannot be created the store
// opens and works, without the cache: a change written behind its back is
// seen at once.
func TestEpochUnavailable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "airlock.db")
	if err := os.Mkdir(p+store.EpochSuffix, 0o700); err != nil {
		t.Fatal(err)
	}
	a, b := openSQLite(t, p), openSQLite(t, p)
	ctx := context.Background()
	now := time.Now()
	if isRevoked(t, a, "mallory") || len(grantIDs(t, a, "alice", now)) != 0 {
		t.Fatal("unexpected state")
	}
	if err := b.Revoke(ctx, "mallory", "stolen", "sec", now); err != nil {
		t.Fatal(err)
	}
	g := grantVia(t, b, "alice", now, time.Hour)
	if !isRevoked(t, a, "mallory") || !slices.Equal(grantIDs(t, a, "alice", now), []int64{g.ID}) {
		t.Fatal("store a missed store b's changes")
	}
	foreign, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	if _, err := foreign.Exec("UPDATE revocations SET active = 0 WHERE subject = 'mallory'"); err != nil {
		t.Fatal(err)
	}
	if isRevoked(t, a, "mallory") {
		t.Fatal("without an epoch the store must not cache: it served a stale revocation")
	}
}

// TestCacheInMemory: stores sharing an in-memory database in one process
// see each other's changes through the process-local epoch.
func TestCacheInMemory(t *testing.T) {
	dsn := fmt.Sprintf("file:%s?mode=memory&cache=shared", t.Name())
	a, b := openSQLite(t, dsn), openSQLite(t, dsn)
	for range 2 {
		if isRevoked(t, a, "mallory") {
			t.Fatal("revoked before any revocation")
		}
	}
	if err := b.Revoke(context.Background(), "mallory", "stolen", "sec", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !isRevoked(t, a, "mallory") {
		t.Fatal("store a missed store b's revocation")
	}
}
