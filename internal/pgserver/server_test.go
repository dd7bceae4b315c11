package pgserver

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// start starts a server for one test and stops it when the test ends.
func start(t *testing.T, opt Options) *Server {
	t.Helper()
	t0 := time.Now()
	s, err := Start(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start: %v (from template: %v, port %d, PostgreSQL %s)", time.Since(t0), s.FromTemplate, s.Port, s.Version)
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// useCacheDir points os.UserCacheDir at a directory of the test's own, so
// the test sees a cold cache and leaves the real one alone.
func useCacheDir(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	return dir
}

func TestStartExecStop(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	ctx := context.Background()
	if s.Host != "127.0.0.1" || s.Port == 0 {
		t.Errorf("listening on %s:%d, want 127.0.0.1 and a port", s.Host, s.Port)
	}
	if err := s.Exec(ctx, "postgres", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.DSN("postgres", "", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var fsync, addr string
	err = conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM t), current_setting('fsync'), current_setting('listen_addresses')").Scan(&n, &fsync, &addr)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || fsync != "off" || addr != "127.0.0.1" {
		t.Errorf("rows %d, fsync %s, listen_addresses %s; want 2, off, 127.0.0.1", n, fsync, addr)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(s.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid == 0 || fi.Mode().Perm() != 0o700 {
			t.Errorf("data dir owned by uid %d with mode %v; want the postgres user and 0700", st.Uid, fi.Mode().Perm())
		}
	}

	t0 := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop: %v", time.Since(t0))
	select {
	case <-s.Done():
	default:
		t.Error("postgres still running after Stop")
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Stop (%v)", s.Dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestDSN(t *testing.T) {
	t.Parallel()
	s := &Server{Host: "127.0.0.1", Port: 5999}
	if got, want := s.DSN("app", "p@ss/word", "shop"), "postgres://app:p%40ss%2Fword@127.0.0.1:5999/shop?sslmode=disable"; got != want {
		t.Errorf("DSN = %s, want %s", got, want)
	}
	if got, want := s.DSN("postgres", "", "postgres"), "postgres://postgres@127.0.0.1:5999/postgres?sslmode=disable"; got != want {
		t.Errorf("DSN = %s, want %s", got, want)
	}
}

func TestTemplateCache(t *testing.T) {
	cache := useCacheDir(t)
	first := start(t, Options{})
	if first.FromTemplate {
		t.Fatal("first start with an empty cache claims to use a template")
	}
	tmpl := filepath.Join(cache, "airlock", "pg-template-"+first.Version)
	if _, err := os.Stat(filepath.Join(tmpl, stampFile)); err != nil {
		t.Fatalf("no template written: %v", err)
	}
	second := start(t, Options{})
	if !second.FromTemplate {
		t.Fatal("second start ran initdb instead of copying the template")
	}
	if err := second.Exec(context.Background(), "postgres", "SELECT 1"); err != nil {
		t.Fatal(err)
	}

	// A template someone else could have written is not trusted, nor is
	// one made by another build.
	binDir, err := findBinDir("")
	if err != nil {
		t.Fatal(err)
	}
	short, full, err := serverVersion(binDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newTemplateCache(short, full, binDir)
	if err != nil || c.dir != tmpl {
		t.Fatalf("cache %s, %v; want %s", c.dir, err, tmpl)
	}
	if _, ok := c.usable(); !ok {
		t.Fatal("the template just written is not usable")
	}
	if err := os.Chmod(tmpl, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.usable(); ok {
		t.Error("a world-writable template is usable")
	}
	if err := os.Chmod(tmpl, 0o700); err != nil {
		t.Fatal(err)
	}
	other := c
	other.stamp = strings.Replace(c.stamp, full, "postgres (PostgreSQL) "+short+" (another build)", 1)
	if _, ok := other.usable(); ok {
		t.Error("a template with a foreign stamp is usable")
	}

	// A damaged template is survived, then dropped and rebuilt.
	if err := os.Remove(filepath.Join(tmpl, templateDataDir, "global", "pg_control")); err != nil {
		t.Fatal(err)
	}
	if third := start(t, Options{}); third.FromTemplate {
		t.Error("claims to run from a template without pg_control")
	}
	if _, err := os.Stat(filepath.Join(tmpl, stampFile)); !os.IsNotExist(err) {
		t.Errorf("damaged template kept (%v)", err)
	}
}

// TestTemplateReplaced covers a template left by another build of the same
// version: it is replaced, not used and not left blocking the cache.
func TestTemplateReplaced(t *testing.T) {
	cache := useCacheDir(t)
	binDir, err := findBinDir("")
	if err != nil {
		t.Fatal(err)
	}
	short, full, err := serverVersion(binDir)
	if err != nil {
		t.Fatal(err)
	}
	stale := templateCache{dir: filepath.Join(cache, "airlock", "pg-template-"+short), stamp: "version=another build\n"}
	if err := os.MkdirAll(stale.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale.dir, stampFile), []byte(stale.stamp), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := start(t, Options{}); s.FromTemplate {
		t.Fatal("used a template with a foreign stamp")
	}
	c, err := newTemplateCache(short, full, binDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.usable(); !ok {
		t.Error("the foreign template was not replaced by a usable one")
	}
}

func TestPersistentDir(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "airlock-pg-persist-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	s := start(t, Options{Dir: dir})
	if err := s.Exec(ctx, "postgres", "CREATE TABLE kept (x int)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("a given Dir must survive Stop: %v", err)
	}
	again := start(t, Options{Dir: dir})
	if again.FromTemplate {
		t.Error("existing data directory was replaced")
	}
	if err := again.Exec(ctx, "postgres", "SELECT * FROM kept"); err != nil {
		t.Errorf("data lost across restart: %v", err)
	}
}

func TestUntraversableDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to another user")
	}
	// t.TempDir() sits below a 0700 directory owned by root.
	dir := filepath.Join(t.TempDir(), "pg")
	_, err := Start(context.Background(), Options{Dir: dir, NoTemplateCache: true})
	if err == nil || !strings.Contains(err.Error(), "cannot traverse") {
		t.Fatalf("Start in %s: %v; want an error saying postgres cannot traverse it", dir, err)
	}
}

func TestExplicitPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s, err := Start(context.Background(), Options{Port: port})
	if err == nil {
		s.Stop()
		t.Fatalf("started on port %d, which is taken", port)
	}
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("error does not explain the clash: %v", err)
	}
}

func TestRandomPortClashRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	calls := 0
	pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return taken, nil // as if someone bound it after our probe
		}
		return freePort()
	}
	t.Cleanup(func() { pickPort = freePort })
	s := start(t, Options{})
	if s.Port == taken || calls != 2 {
		t.Errorf("port %d after %d picks; want a second, different port", s.Port, calls)
	}
}

func TestBinariesNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no pg_config
	t.Setenv(BinDirEnv, "")
	old := debianGlob
	debianGlob = filepath.Join(t.TempDir(), "*", "bin")
	t.Cleanup(func() { debianGlob = old })
	_, err := Start(context.Background(), Options{})
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "install the postgresql package") {
		t.Errorf("got %v, want ErrNoBinaries telling what to install", err)
	}
}

func TestFindBinDirPrefersNewest(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "16", "17"} {
		dir := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		names := []string{"postgres", "initdb"}
		if v == "17" {
			names = names[:1] // client-only leftovers do not count
		}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv(BinDirEnv, "")
	old := debianGlob
	debianGlob = filepath.Join(root, "*", "bin")
	t.Cleanup(func() { debianGlob = old })
	got, err := findBinDir("")
	if want := filepath.Join(root, "16", "bin"); err != nil || got != want {
		t.Errorf("findBinDir = %s, %v; want %s", got, err, want)
	}
	if _, err := findBinDir(filepath.Join(root, "17", "bin")); err == nil {
		t.Error("an explicit directory without initdb was accepted")
	}
}

func TestReapStale(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * reapAge)
	mk := func(owner int, age time.Time) string {
		dir, err := os.MkdirTemp("", tempPattern)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(owner)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir, age, age); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	abandonedDir := mk(dead.Process.Pid, old)
	ours := mk(os.Getpid(), old)
	young := mk(dead.Process.Pid, time.Now())
	reapStale()
	if _, err := os.Stat(abandonedDir); !os.IsNotExist(err) {
		t.Errorf("abandoned %s kept", abandonedDir)
	}
	for _, dir := range []string{ours, young} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s removed: %v", dir, err)
		}
	}
}

func TestPersistentDirReachable(t *testing.T) {
	dir, err := PersistentDir("pgserver-test")
	if err != nil {
		t.Fatal(err)
	}
	run, err := currentRunAs()
	if err != nil {
		t.Fatal(err)
	}
	// Start creates the missing directories; the existing ancestors must
	// already let the server's user through.
	existing := filepath.Dir(dir)
	for {
		if _, err := os.Stat(existing); err == nil {
			break
		}
		existing = filepath.Dir(existing)
	}
	if err := run.checkTraversable(filepath.Join(existing, "x")); err != nil {
		t.Errorf("PersistentDir = %s: %v", dir, err)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	b.Write([]byte("abcdef"))
	mark := b.written()
	b.Write([]byte("ghij"))
	if got := b.String(); got != "cdefghij" {
		t.Errorf("tail %q, want the last 8 bytes", got)
	}
	if got := b.since(mark); got != "ghij" {
		t.Errorf("since = %q, want ghij", got)
	}
}
