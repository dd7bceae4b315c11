package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timeouts are variables so tests can shorten them.
var (
	readyTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
)

// portAttempts bounds retries when another process takes the random port
// between our probe and postgres binding it.
const portAttempts = 5

// Options configures Start. The zero value is a temporary cluster on a
// random port with its log discarded.
type Options struct {
	// Dir holds the cluster: Dir/data is the data directory and the unix
	// socket lives in Dir. "" creates a temporary directory that Stop
	// removes. A given Dir is kept, handed to the server's user, and a data
	// directory already in it is reused, so the demo keeps its data.
	Dir string
	// Port is the loopback TCP port; 0 picks a free one.
	Port int
	// Log receives the server's log; nil discards it. Its tail is included
	// in errors either way.
	Log io.Writer
	// BinDir overrides the search for the server binaries.
	BinDir string
	// NoTemplateCache always runs initdb and never writes the cache.
	NoTemplateCache bool
}

// Server is a running cluster. Its superuser is "postgres" and every local
// connection is trusted: never expose it beyond loopback.
type Server struct {
	Host    string // always 127.0.0.1
	Port    int
	Dir     string // cluster directory; the unix socket lives here
	DataDir string
	BinDir  string
	Version string // server version, e.g. "15.18"
	// FromTemplate reports that the data directory was copied from the
	// cached template rather than made by initdb.
	FromTemplate bool

	ownDir bool
	logw   io.Writer
	tail   *tailBuffer
	cmd    *exec.Cmd
	done   chan struct{}
	waitMu sync.Mutex
	wait   error

	stopOnce sync.Once
	stopErr  error
}

// Start initializes (or reuses) a cluster and starts postgres. ctx bounds
// the start-up only; the server runs until Stop.
func Start(ctx context.Context, opt Options) (*Server, error) {
	binDir, err := findBinDir(opt.BinDir)
	if err != nil {
		return nil, err
	}
	short, full, err := serverVersion(binDir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: start: %w", err)
	}
	run, err := currentRunAs()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", BinDir: binDir, Version: short, tail: &tailBuffer{max: 8 << 10}}
	s.logw = s.tail
	if opt.Log != nil {
		s.logw = io.MultiWriter(opt.Log, s.tail)
	}
	if err := s.prepareDir(opt.Dir, run); err != nil {
		return nil, err
	}
	if err := s.startDir(ctx, opt, run, short, full); err != nil {
		if s.ownDir {
			os.RemoveAll(s.Dir)
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) prepareDir(dir string, run runAs) error {
	if dir == "" {
		reapStale()
		d, err := os.MkdirTemp("", tempPattern)
		if err != nil {
			return fmt.Errorf("pgserver: start: %w", err)
		}
		dir, s.ownDir = d, true
		if err := writeOwner(dir); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("pgserver: start: %w", err)
		}
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("pgserver: start: %w", err)
		}
		// Parents as well as Dir must be reachable by the server's user.
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return fmt.Errorf("pgserver: start: %w", err)
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return fmt.Errorf("pgserver: start: %w", err)
		}
		dir = abs
	}
	s.Dir, s.DataDir = dir, filepath.Join(dir, "data")
	err := run.checkTraversable(dir)
	if err == nil {
		err = run.chown(dir)
	}
	if err == nil {
		err = os.Chmod(dir, 0o700)
	}
	if err != nil {
		if s.ownDir {
			os.RemoveAll(dir)
		}
		return fmt.Errorf("pgserver: start: %w", err)
	}
	return nil
}

func (s *Server) startDir(ctx context.Context, opt Options, run runAs, short, full string) error {
	var cache *templateCache
	if !opt.NoTemplateCache {
		if c, err := newTemplateCache(short, full, s.BinDir); err == nil {
			cache = &c
		} else {
			s.logf("%v; running initdb", err)
		}
	}
	fresh := false
	if _, err := os.Stat(filepath.Join(s.DataDir, "PG_VERSION")); err != nil {
		if err := s.initData(ctx, run, cache); err != nil {
			return err
		}
		fresh = true
	}
	err := s.launch(ctx, opt, run)
	if err == nil || !fresh || !s.FromTemplate || !errors.Is(err, errExited) || errors.Is(err, errPortInUse) {
		return err
	}
	// The copy of the template would not start. If initdb's own output does,
	// the template is damaged (say, by a crash while it was written): remove
	// it so the next run publishes a new one.
	s.logf("pgserver: start from cached template failed (%v); retrying with initdb", err)
	if rerr := os.RemoveAll(s.DataDir); rerr != nil {
		return fmt.Errorf("pgserver: start: %w", rerr)
	}
	if ierr := s.initData(ctx, run, nil); ierr != nil {
		return ierr
	}
	if lerr := s.launch(ctx, opt, run); lerr != nil {
		return lerr
	}
	s.logf("pgserver: removing damaged template %s", cache.dir)
	os.RemoveAll(cache.dir)
	return nil
}

// initData fills s.DataDir from the template cache or with initdb, and
// publishes a fresh initdb result as the template before it is ever started.
func (s *Server) initData(ctx context.Context, run runAs, cache *templateCache) error {
	s.FromTemplate = false
	if cache != nil {
		if tmpl, ok := cache.usable(); ok {
			err := copyTree(tmpl, s.DataDir, run.chown, false)
			if err == nil {
				s.FromTemplate = true
				return nil
			}
			s.logf("pgserver: copy template %s: %v; running initdb", tmpl, err)
			if err := os.RemoveAll(s.DataDir); err != nil {
				return fmt.Errorf("pgserver: start: %w", err)
			}
		}
	}
	args := append([]string{"-D", s.DataDir}, initdbArgs...)
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, "initdb"), args...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = s.Dir, childEnv(), run.sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: initdb %s (as %s): %w\n%s", s.DataDir, run.name, err, bytes.TrimSpace(out))
	}
	if cache != nil {
		if err := cache.save(s.DataDir); err != nil {
			s.logf("%v", err)
		}
	}
	return nil
}

// Start-up failures that decide whether to retry: errExited when postgres
// quit (rather than hung), errPortInUse when it quit over its TCP port.
var (
	errExited    = errors.New("postgres exited")
	errPortInUse = errors.New("port in use")
)

// launch starts postgres, retrying on a port clash when the port is ours
// to choose.
func (s *Server) launch(ctx context.Context, opt Options, run runAs) error {
	for attempt := 1; ; attempt++ {
		port := opt.Port
		if port == 0 {
			p, err := pickPort()
			if err != nil {
				return fmt.Errorf("pgserver: start: pick port: %w", err)
			}
			port = p
		}
		err := s.launchOnce(ctx, port, run)
		if err == nil {
			return nil
		}
		if opt.Port != 0 || !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return err
		}
		s.logf("pgserver: port %d taken, retrying", port)
	}
}

func (s *Server) launchOnce(ctx context.Context, port int, run runAs) error {
	cmd := exec.Command(filepath.Join(s.BinDir, "postgres"),
		"-D", s.DataDir, "-p", strconv.Itoa(port), "-k", s.Dir,
		"-c", "listen_addresses="+s.Host,
		// Throwaway data: durability buys nothing and costs seconds.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Dir, cmd.Env, cmd.SysProcAttr = s.Dir, childEnv(), run.sysProcAttr()
	cmd.Stderr = s.logw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgserver: start postgres: %w", err)
	}
	done := make(chan struct{})
	s.cmd, s.done, s.Port = cmd, done, port
	go func() {
		err := cmd.Wait()
		s.waitMu.Lock()
		s.wait = err
		s.waitMu.Unlock()
		close(done)
	}()
	if err := s.waitReady(ctx, s.tail.written()); err != nil {
		s.kill()
		return err
	}
	return nil
}

// waitReady polls until postgres accepts connections; mark is how much log
// preceded this attempt, so an earlier attempt's clash is not taken for ours.
func (s *Server) waitReady(ctx context.Context, mark int64) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// Probe through the unix socket in our private directory: a TCP probe
	// could reach whoever else holds the port and hang until its timeout,
	// while postgres quits anyway when it cannot bind its TCP address.
	q := url.Values{"host": {s.Dir}, "port": {strconv.Itoa(s.Port)}, "user": {"postgres"},
		"sslmode": {"disable"}, "connect_timeout": {"2"}}
	dsn := "postgres:///postgres?" + q.Encode()
	var lastErr error
	for {
		select {
		case <-s.done:
			ours := s.tail.since(mark)
			err := fmt.Errorf("pgserver: start: %w (%v) on port %d:\n%s", errExited, s.exitErr(), s.Port, ours)
			if strings.Contains(ours, "Address already in use") || strings.Contains(ours, "could not create any TCP/IP sockets") {
				return fmt.Errorf("%w: %w", errPortInUse, err)
			}
			return err
		default:
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgserver: start: not ready on port %d: %w (last error: %v)\n%s",
				s.Port, ctx.Err(), lastErr, s.tail.String())
		case <-s.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill ends a server that failed to come up; its data is not worth a clean
// shutdown.
func (s *Server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *Server) exitErr() error {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	return s.wait
}

// Stop shuts the server down (fast shutdown: sessions are disconnected,
// nothing is waited for) and removes the directory Start created. It is
// safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if s.cmd != nil {
			errs = append(errs, s.shutdown())
		}
		if s.ownDir {
			if err := os.RemoveAll(s.Dir); err != nil {
				errs = append(errs, fmt.Errorf("pgserver: stop: %w", err))
			}
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

func (s *Server) shutdown() error {
	select {
	case <-s.done:
		return fmt.Errorf("pgserver: stop: postgres had already exited (%v):\n%s", s.exitErr(), s.tail.String())
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
	}
	s.kill()
	return fmt.Errorf("pgserver: stop: fast shutdown took over %v; killed:\n%s", stopTimeout, s.tail.String())
}

// Done is closed when postgres exits, for whatever reason.
func (s *Server) Done() <-chan struct{} { return s.done }

// LogTail returns the last few kilobytes of the server log.
func (s *Server) LogTail() string { return s.tail.String() }

// DSN returns a libpq URL for a TCP connection to db. An empty password is
// left out: local connections are trusted.
func (s *Server) DSN(user, password, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		Host:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// Exec runs sql in db as the superuser. Several statements run in one
// implicit transaction, so statements that refuse transactions (CREATE
// DATABASE, VACUUM) must be sent alone.
func (s *Server) Exec(ctx context.Context, db, sql string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres", "", db))
	if err != nil {
		return fmt.Errorf("pgserver: exec in %s: %w", db, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgserver: exec in %s: %w", db, err)
	}
	return nil
}

func (s *Server) logf(format string, args ...any) {
	fmt.Fprintf(s.logw, format+"\n", args...)
}

// pickPort is a variable so tests can simulate a port taken after the probe.
var pickPort = freePort

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	total int64 // bytes ever written
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += int64(len(p))
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func (b *tailBuffer) written() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// since returns what was written after mark, as far as the tail still holds.
func (b *tailBuffer) since(mark int64) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := b.total - mark; n < int64(len(b.buf)) {
		return string(b.buf[int64(len(b.buf))-n:])
	}
	return string(b.buf)
}
