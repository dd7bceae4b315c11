package store

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// epochSuffix names the change counter's file beside the database, the way
// SQLite names its -wal and -shm files.
const epochSuffix = "-airlock-epoch"

// memEpoch counts the changes to this process's in-memory databases: no
// other process can open them, so nothing needs to be shared.
var memEpoch atomic.Uint64

// epoch is the counter every write of revocations, grants and approvals
// moves, in every process using the database file: a cached read is
// current only while the counter has not moved since it was loaded.
type epoch struct {
	n   *atomic.Uint64
	mem []byte // the shared mapping; nil for memEpoch
}

// openEpoch maps the counter of the database file dbFile, or returns the
// process-local counter when dbFile is "" (an in-memory database).
func openEpoch(dbFile string) (*epoch, error) {
	if dbFile == "" {
		return &epoch{n: &memEpoch}, nil
	}
	path := dbFile + epochSuffix
	// The counter takes the database file's permissions, as SQLite's own
	// -wal and -shm files do: whoever may write the database (a CLI run
	// as another user in the same group) must be able to bump it.
	perm := os.FileMode(0o600)
	if dfi, err := os.Stat(dbFile); err == nil {
		perm = dfi.Mode().Perm() & 0o666
	}
	// O_NOFOLLOW: whoever may write the directory must not be able to
	// point the counter's increments at another file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, perm)
	if err != nil {
		return nil, fmt.Errorf("store: epoch: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: epoch: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("store: epoch: %s is not a regular file", path)
	}
	size := os.Getpagesize()
	// Only ever grown: another process may have created the file and
	// counted already, and extending keeps what is there.
	if fi.Size() < int64(size) {
		if err := f.Truncate(int64(size)); err != nil {
			return nil, fmt.Errorf("store: epoch: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("store: epoch: map %s: %w", path, err)
	}
	// The mapping starts on a page boundary, so the counter is 8-byte
	// aligned as the atomic instructions need; a MAP_SHARED mapping of one
	// file is the same physical memory in every process on the host, so
	// the atomics are coherent across processes as they are across
	// goroutines. Processes on other hosts cannot share it, but SQLite's
	// WAL mode (its -shm index is such a mapping too) cannot either.
	return &epoch{n: (*atomic.Uint64)(unsafe.Pointer(&mem[0])), mem: mem}, nil
}

func (e *epoch) close() error {
	if e.mem == nil {
		return nil
	}
	err := syscall.Munmap(e.mem)
	e.mem, e.n = nil, nil
	if err != nil {
		return fmt.Errorf("store: epoch: unmap: %w", err)
	}
	return nil
}
