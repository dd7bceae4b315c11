package pgserver

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Temporary clusters of a process that died without Stop (a test binary
// killed by `go test -timeout`, say) lose their server through Pdeathsig but
// keep their ~40 MB directory. Each one records its owner's pid, so later
// starts can remove the ones whose owner and server are both gone.
const (
	tempPattern = "airlock-pg-"
	ownerFile   = "airlock-owner.pid"
	// reapAge keeps a start in progress, which has no server yet, safe even
	// if its owner's pid were reused.
	reapAge = time.Minute
)

func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// reapStale removes abandoned temporary clusters; best effort and silent.
func reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPattern+"*"))
	for _, dir := range dirs {
		if abandoned(dir) {
			os.RemoveAll(dir)
		}
	}
}

func abandoned(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < reapAge {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false // not ours, or from before owners were recorded
	}
	if owner, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || alive(owner) {
		return false
	}
	// The first line of postmaster.pid is the server's pid.
	if pm, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
		first, _, _ := strings.Cut(string(pm), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(first)); err != nil || alive(pid) {
			return false
		}
	}
	return true
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
