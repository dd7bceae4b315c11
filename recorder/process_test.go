package recorder

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

// Environment of the helper processes: the tests below re-execute the test
// binary to get real, independent gateway processes.
const (
	envHelper  = "AIRLOCK_RECORDER_HELPER" // "writer" or "crash"
	envDriver  = "AIRLOCK_RECORDER_DRIVER"
	envDSN     = "AIRLOCK_RECORDER_DSN"
	envSeed    = "AIRLOCK_RECORDER_SEED" // signing key seed, hex
	envName    = "AIRLOCK_RECORDER_NAME"
	envCount   = "AIRLOCK_RECORDER_COUNT"
	envJournal = "AIRLOCK_RECORDER_JOURNAL"
)

// TestHelperProcess is not a test: it is the body of the helper processes.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		return // run normally, it has nothing to do: the tests re-execute it
	}
	seed, err := hex.DecodeString(os.Getenv(envSeed))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, os.Getenv(envDriver), os.Getenv(envDSN))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := New(ctx, st, Options{SigningKey: ed25519.NewKeyFromSeed(seed), CheckpointEvery: 100, Journal: os.Getenv(envJournal)})
	if err != nil {
		t.Fatal(err)
	}
	name := os.Getenv(envName)
	switch mode {
	case "writer":
		n, _ := strconv.Atoi(os.Getenv(envCount))
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 4 {
					ev, _ := NewEvent(TypeConfigLoaded, LoadedData{Hash: fmt.Sprint(i)})
					ev.Subject, ev.SessionID = name, name
					if _, err := r.Append(ctx, ev); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	case "crash":
		// Appends intents until killed, printing each acknowledged seq.
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					in, _ := callEvents(name, "alice", w*1_000_000+i)
					var seq int64
					var err error
					if r.j != nil {
						err = r.Write(ctx, in) // durable in the journal; no seq yet
					} else {
						seq, err = r.Append(ctx, in)
					}
					if err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(3)
					}
					mu.Lock()
					fmt.Printf("ack %d %s\n", seq, in.CallID)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
}

func helper(t *testing.T, mode, driver, dsn string, key ed25519.PrivateKey, name string, count int, journal ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envDriver+"="+driver, envDSN+"="+dsn,
		envSeed+"="+hex.EncodeToString(key.Seed()), envName+"="+name, envCount+"="+strconv.Itoa(count))
	if len(journal) > 0 {
		cmd.Env = append(cmd.Env, envJournal+"="+journal[0])
	}
	cmd.Stderr = os.Stderr
	return cmd
}

// TestTwoGatewaysOnePostgres runs two writer processes against one
// PostgreSQL store at once, each with its own recorder and connections.
func TestTwoGatewaysOnePostgres(t *testing.T) {
	db := backends[1].dsn(t)
	key := newKey(t)
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for _, name := range []string{"gw-a", "gw-b"} {
		c := helper(t, "writer", "postgres", db, key, name, 500)
		out := &strings.Builder{}
		c.Stdout = out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, c), append(outs, out)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer %d: %v\n%s", i, err, outs[i])
		}
	}
	st, err := store.Open(context.Background(), "postgres", db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep := verify(t, st, VerifyOptions{RequireSealed: true}, key)
	wantOK(t, rep)
	if rep.Events != 1000 || rep.FirstSeq != 1 || rep.LastSeq != 1000 || rep.Checkpoints < 10 {
		t.Fatalf("report = %+v; want 1000 events sealed by at least 10 checkpoints", rep)
	}
	recs, _ := st.Events(context.Background(), 0, 1000)
	per, switches := map[string]int{}, 0
	for i, r := range recs {
		per[r.Subject]++
		if i > 0 && r.Subject != recs[i-1].Subject {
			switches++
		}
	}
	if per["gw-a"] != 500 || per["gw-b"] != 500 {
		t.Errorf("events per writer = %v", per)
	}
	t.Logf("%d checkpoints; the writers' batches interleaved %d times", rep.Checkpoints, switches)
}

// TestCrash kills a writer with SIGKILL mid-stream: every event it was
// told is durable must be there after a restart, and the chain verifies.
func TestCrash(t *testing.T) {
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) {
			dsn := b.dsn(t)
			key := newKey(t)
			cmd := helper(t, "crash", b.driver, dsn, key, "crash", 0)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := map[int64]string{}
			sc := bufio.NewScanner(stdout)
			deadline := time.Now().Add(time.Minute)
			for sc.Scan() {
				var seq int64
				var call string
				if _, err := fmt.Sscanf(sc.Text(), "ack %d %s", &seq, &call); err == nil {
					acked[seq] = call
				}
				if len(acked) >= 400 || time.Now().After(deadline) {
					break
				}
			}
			// SIGKILL while the writer is still appending.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() { // acks already written to the pipe count too
				var seq int64
				var call string
				if _, err := fmt.Sscanf(sc.Text(), "ack %d %s", &seq, &call); err == nil {
					acked[seq] = call
				}
			}
			_ = cmd.Wait()
			if len(acked) < 100 {
				t.Fatalf("only %d acknowledged appends before the kill", len(acked))
			}
			fx := &fixture{driver: b.driver, dsn: dsn}
			fx.reopen(t)
			ctx := context.Background()
			rep := verify(t, fx.st, VerifyOptions{}, key)
			wantOK(t, rep)
			recs, err := fx.st.Events(ctx, 0, 1_000_000)
			if err != nil {
				t.Fatal(err)
			}
			have := map[int64]string{}
			for _, r := range recs {
				have[r.Seq] = r.CallID
			}
			for seq, call := range acked {
				if have[seq] != call {
					t.Fatalf("acknowledged seq %d (%s) lost after kill -9: store has %q", seq, call, have[seq])
				}
			}
			if len(rep.OutcomeUnknown) != int(rep.Events) {
				t.Errorf("every intent lacks a result: %d unknown of %d", len(rep.OutcomeUnknown), rep.Events)
			}
			// The restarted gateway continues the chain.
			r := newRecorder(t, fx.st, key, Options{})
			appendN(t, r, "after", 5)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			rep = verify(t, fx.st, VerifyOptions{RequireSealed: true}, key)
			wantOK(t, rep)
			t.Logf("%d acknowledged before kill -9, %d events in the store after, %d checkpoints", len(acked), rep.Events, rep.Checkpoints)
		})
	}
}
