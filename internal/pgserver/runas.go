package pgserver

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// runAs is the account initdb and postgres run under. PostgreSQL refuses to
// run as root, so root borrows the distribution's `postgres` system user;
// anyone else runs the server as themselves.
type runAs struct {
	name     string
	uid, gid int
	groups   []int
	switched bool // true when the child gets credentials different from ours
}

func currentRunAs() (runAs, error) {
	if os.Geteuid() != 0 {
		name := strconv.Itoa(os.Geteuid())
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		return runAs{name: name, uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runAs{}, fmt.Errorf("pgserver: running as root, and PostgreSQL refuses root, but there is no unprivileged "+
			"'postgres' user to run it as (%v): install the postgresql package or run as a non-root user", err)
	}
	r := runAs{name: u.Username, switched: true}
	if r.uid, err = strconv.Atoi(u.Uid); err != nil {
		return runAs{}, fmt.Errorf("pgserver: user postgres: uid %q: %w", u.Uid, err)
	}
	if r.gid, err = strconv.Atoi(u.Gid); err != nil {
		return runAs{}, fmt.Errorf("pgserver: user postgres: gid %q: %w", u.Gid, err)
	}
	if r.uid == 0 {
		return runAs{}, fmt.Errorf("pgserver: user postgres has uid 0; PostgreSQL would refuse to run")
	}
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			r.groups = append(r.groups, n)
		}
	}
	return r, nil
}

// sysProcAttr gives every child its own process group, so a Ctrl-C in the
// terminal does not race our own shutdown, and a parent-death signal, so a
// test binary killed by `go test -timeout` does not leave servers behind.
// Pdeathsig fires when the forking OS thread exits; the Go runtime only
// retires threads whose goroutine died while locked to them, which nothing
// here does.
func (r runAs) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if r.switched {
		groups := make([]uint32, len(r.groups))
		for i, g := range r.groups {
			groups[i] = uint32(g)
		}
		attr.Credential = &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid), Groups: groups}
	}
	return attr
}

// chown hands path to the run-as user; a no-op when we are that user.
func (r runAs) chown(path string) error {
	if !r.switched {
		return nil
	}
	if err := os.Lchown(path, r.uid, r.gid); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, r.name, err)
	}
	return nil
}

// checkTraversable fails early, with a message naming the directory, when
// the run-as user cannot reach dir: otherwise initdb reports a bare
// "Permission denied" (typical case: a t.TempDir() below a 0700 directory).
func (r runAs) checkTraversable(dir string) error {
	if !r.switched {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !r.canSearch(fi) {
			return fmt.Errorf("user %s cannot traverse %s (mode %v); PostgreSQL runs as that user, "+
				"so put the server directory where it can (under /tmp or /var/lib, say)", r.name, p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (r runAs) canSearch(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case int(st.Uid) == r.uid:
		return perm&0o100 != 0
	case int(st.Gid) == r.gid || slices.Contains(r.groups, int(st.Gid)):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// childEnv drops libpq variables a developer may have exported (PGDATA,
// PGPORT, ...) so they cannot redirect initdb or postgres, and fixes the
// time zone so every template, on every machine, is initdb'd alike.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "TZ=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TZ=UTC")
}

// PersistentDir returns a directory for a cluster that outlives the process
// (the demo's), one the server's user can reach: under the user's cache
// directory, or, for root, whose home directory is private to root and so
// closed to the postgres user, under /var/lib/airlock.
func PersistentDir(name string) (string, error) {
	if os.Geteuid() == 0 {
		return filepath.Join("/var/lib/airlock", name), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("pgserver: persistent dir: %w", err)
	}
	return filepath.Join(base, "airlock", name), nil
}
