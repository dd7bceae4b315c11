package testenv

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// mainRunning is set by Main. Shared servers outlive single tests, so
// without Main nobody would stop them and their directories would leak.
var mainRunning atomic.Bool

// stoppers are the shutdown functions of the shared servers started so far.
var (
	stopMu   sync.Mutex
	stoppers []func() error
)

// Main runs the package's tests and then stops the shared servers. A
// server that fails to stop cleanly turns a passing run into a failing one,
// since it means leaked processes or files.
func Main(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	stopMu.Lock()
	defer stopMu.Unlock()
	for i := len(stoppers) - 1; i >= 0; i-- {
		if err := stoppers[i](); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	stoppers = nil
	return code
}

func registerStop(stop func() error) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stoppers = append(stoppers, stop)
}

func requireMain(t testing.TB) {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("testenv: shared servers need the package's TestMain to call testenv.Main, which stops them: " +
			"func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }")
	}
}
