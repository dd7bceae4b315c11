package m

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/pgserver"
	"github.com/airlockhq/airlock/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestMeasure(t *testing.T) {
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		t.Setenv("XDG_CACHE_HOME", t.TempDir())
		t0 := time.Now()
		s, err := pgserver.Start(ctx, pgserver.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cold := time.Since(t0)
		t0 = time.Now()
		s2, err := pgserver.Start(ctx, pgserver.Options{})
		if err != nil {
			t.Fatal(err)
		}
		warm := time.Since(t0)
		t0 = time.Now()
		s.Stop()
		stop := time.Since(t0)
		s2.Stop()
		t.Logf("cold(initdb+cache) %v  template %v (fromTemplate=%v)  stop %v", cold, warm, s2.FromTemplate, stop)
	}
	os.Unsetenv("XDG_CACHE_HOME")
	t0 := time.Now()
	pg := testenv.Postgres(t)
	t.Logf("testenv.Postgres first use (start+seed): %v", time.Since(t0))
	for i := 0; i < 3; i++ {
		t0 = time.Now()
		pg.NewDatabase(t)
		t.Logf("NewDatabase: %v", time.Since(t0))
	}
	t0 = time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); pg.NewDatabase(t) }()
	}
	wg.Wait()
	t.Logf("4 NewDatabase in parallel: %v", time.Since(t0))
}
