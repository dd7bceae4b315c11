package bench

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/zap"

	"github.com/airlockhq/airlock/approvals"
	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/app"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/gateway"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/mask"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/internal/testenv"
	"github.com/airlockhq/airlock/policy"
	"github.com/airlockhq/airlock/recorder"
	"github.com/airlockhq/airlock/tools"
)

const pkLookup = "SELECT id, name, email FROM customers WHERE id = $1"

// BenchmarkFloorMCP is a no-op tool on the same MCP framework over
// Streamable HTTP: the least any MCP server costs.
func BenchmarkFloorMCP(b *testing.B) {
	url := noopURL(b)
	for _, v := range versions {
		b.Run(v, func(b *testing.B) {
			c := connect(b, url, v)
			var l latencies
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l.time(func() { callTool(b, c, "noop", nil) })
			}
			l.report(b, "")
		})
	}
}

// BenchmarkFloorPgx runs the primary-key lookup with pgx directly: plain,
// and inside a read-only transaction the usual way (three round trips); rows
// are encoded to JSON as a server must.
func BenchmarkFloorPgx(b *testing.B) {
	db := testenv.Postgres(b).NewDatabase(b)
	pool, err := pgxpool.New(context.Background(), db.AppDSN)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	rowsOf := func(r pgx.Rows) [][]any {
		var out [][]any
		for r.Next() {
			v, _ := r.Values()
			out = append(out, v)
		}
		r.Close()
		return out
	}
	b.Run("plain", func(b *testing.B) {
		var l latencies
		for i := 0; i < b.N; i++ {
			l.time(func() {
				r, err := pool.Query(ctx, pkLookup, 1+i%50)
				if err != nil {
					b.Fatal(err)
				}
				encodeRows(rowsOf(r))
			})
		}
		l.report(b, "")
	})
	b.Run("readonly_tx_json", func(b *testing.B) {
		var l latencies
		for i := 0; i < b.N; i++ {
			l.time(func() {
				tx, err := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
				if err != nil {
					b.Fatal(err)
				}
				r, err := tx.Query(ctx, pkLookup, 1+i%50)
				if err != nil {
					b.Fatal(err)
				}
				encodeRows(rowsOf(r))
				if err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			})
		}
		l.report(b, "")
	})
}

// BenchmarkGateway is sql_query through the whole gateway over Streamable
// HTTP: identity, parse, policy, read-only execution, result encoding.
func BenchmarkGateway(b *testing.B) {
	url, _ := gatewayURL(b)
	for _, v := range versions {
		c := connect(b, url, v)
		for _, q := range []struct{ name, sql string }{{"select1", "SELECT 1"}, {"pk_lookup", pkLookup}} {
			b.Run(v+"/"+q.name, func(b *testing.B) {
				var l latencies
				for i := 0; i < b.N; i++ {
					args := map[string]any{"connection": "shop", "sql": q.sql}
					if q.sql == pkLookup {
						args["params"] = []any{1 + i%50}
					}
					l.time(func() { callTool(b, c, "sql_query", args) })
				}
				l.report(b, "")
			})
		}
	}
}

// stopBeforeDB is the real connection with execution cut off: what remains
// is the pipeline's own cost between the MCP handler and the database.
type stopBeforeDB struct{ connectors.Connection }

var canned = &connectors.Result{Text: "ok", Structured: map[string]any{}}

func (stopBeforeDB) Execute(context.Context, connectors.Operation, *connectors.Action, connectors.Limits) (*connectors.Result, error) {
	return canned, nil
}

func BenchmarkPipeline(b *testing.B) {
	db := testenv.Postgres(b).NewDatabase(b)
	b.Setenv("AIRLOCK_BENCH_DSN", db.AppDSN)
	cfg, err := config.Parse(filepath.Join(b.TempDir(), "bench.yaml"), []byte(configYAML))
	if err != nil {
		b.Fatal(err)
	}
	conns, err := connectors.Open(context.Background(), cfg.Connections)
	if err != nil {
		b.Fatal(err)
	}
	defer connectors.CloseAll(conns)
	p, _ := identity.Dev("bench@example.com")
	engine, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Catalog: tools.Default(),
		Connections: map[string]connectors.Connection{"shop": stopBeforeDB{conns["shop"]}},
		Identity:    identity.Static{P: p}, Authorizer: gateway.PolicyAuthorizer{Engine: engine}, Visibility: engine})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, sql func(i int) string) {
		var l latencies
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c := &gateway.Call{ToolName: "sql_query", Arguments: map[string]any{
				"connection": "shop", "sql": sql(i), "params": []any{float64(1 + i%50)}}}
			l.time(func() {
				if _, err := gw.Handle(ctx, c); err != nil {
					b.Fatal(err)
				}
			})
		}
		l.report(b, "")
	}
	// Agents repeat statement texts with different parameters: classification
	// is then cached.
	b.Run("repeated_sql", func(b *testing.B) { run(b, func(int) string { return pkLookup }) })
	// Every call a new text: the parser runs every time.
	b.Run("distinct_sql", func(b *testing.B) {
		run(b, func(int) string { return pkLookup + " /* " + strconv.FormatInt(distinct.Add(1), 10) + " */" })
	})
	// The same with everything else every call goes through, wired as the
	// gateway wires it: the revocation and grant reads from an SQLite
	// store, masking, and the intent and result written to the audit
	// journal.
	gw = recordedGateway(b, cfg, conns["shop"], p, engine)
	b.Run("recorded/repeated_sql", func(b *testing.B) { run(b, func(int) string { return pkLookup }) })
	b.Run("recorded/distinct_sql", func(b *testing.B) {
		run(b, func(int) string { return pkLookup + " /* " + strconv.FormatInt(distinct.Add(1), 10) + " */" })
	})
}

// distinct numbers statement texts never seen before, across runs too.
var distinct atomic.Int64

// recordedGateway is the pipeline with the default state: an SQLite store
// with its journal, revocations and grants read from it per call.
func recordedGateway(b *testing.B, cfg *config.Config, conn connectors.Connection, p identity.Principal, engine *policy.Engine) *gateway.Gateway {
	ctx := context.Background()
	mc, err := cfg.Masking.MaskConfig()
	if err != nil {
		b.Fatal(err)
	}
	masker, err := mask.New(mc)
	if err != nil {
		b.Fatal(err)
	}
	dbPath := filepath.Join(b.TempDir(), "airlock.db")
	st, err := store.Open(ctx, "sqlite", dbPath)
	if err != nil {
		b.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	rec, err := recorder.New(ctx, st, recorder.Options{SigningKey: key, Journal: dbPath + ".journal",
		Masker: recorder.MaskerFunc(func(s string) string { t, _ := masker.Text(s); return t })})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rec.Close(); _ = st.Close() })
	ap := approvals.New(st, nil, approvals.Options{})
	gw, err := gateway.New(gateway.Options{Config: cfg, Catalog: tools.Default(),
		Connections: map[string]connectors.Connection{"shop": stopBeforeDB{conn}},
		Identity:    identity.Static{P: p}, Authorizer: gateway.PolicyAuthorizer{Engine: engine, Grants: app.PolicyGrants(ap, zap.NewNop())},
		Visibility: engine, Masker: masker, Approvals: ap, Recorder: rec, Revocations: app.StoreRevocations(st)})
	if err != nil {
		b.Fatal(err)
	}
	return gw
}

// BenchmarkOverhead interleaves the floors and the gateway in one loop so
// they see the same machine, and reports the gateway's p50 against the sum
// of the framework floor and the database floor.
func BenchmarkOverhead(b *testing.B) {
	gwURL, db := gatewayURL(b)
	floorURL := noopURL(b)
	pool, err := pgxpool.New(context.Background(), db.AppDSN)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	for _, v := range versions {
		b.Run(v, func(b *testing.B) {
			gw, floor := connect(b, gwURL, v), connect(b, floorURL, v)
			var lg, lf, ld latencies
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				id := 1 + i%50
				lf.time(func() { callTool(b, floor, "noop", nil) })
				ld.time(func() {
					tx, _ := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
					r, err := tx.Query(ctx, pkLookup, id)
					if err != nil {
						b.Fatal(err)
					}
					var rows [][]any
					for r.Next() {
						vals, _ := r.Values()
						rows = append(rows, vals)
					}
					r.Close()
					encodeRows(rows)
					_ = tx.Commit(ctx)
				})
				lg.time(func() {
					callTool(b, gw, "sql_query", map[string]any{"connection": "shop", "sql": pkLookup, "params": []any{id}})
				})
			}
			lf.report(b, "floor-mcp-")
			ld.report(b, "floor-db-")
			lg.report(b, "gateway-")
			floorSum := lf.pct(0.5) + ld.pct(0.5)
			b.ReportMetric(float64(lg.pct(0.5))/float64(floorSum), "x-floor")
		})
	}
}

// BenchmarkConcurrent drives 8 concurrent clients: first against the no-op
// tool on a plain mcp-go server in this process (the framework's own
// ceiling on this machine, where the clients share the two cores), then
// against the airlock binary doing primary-key lookups, with mcp-go's
// client and with plain HTTP clients that replay what mcp-go's client
// sends (so the clients take less of the machine); it reports calls per
// second, the binary's RSS, and the CPU per call of the binary, of the
// clients and of PostgreSQL: calls/s is bounded by their sum.
func BenchmarkConcurrent(b *testing.B) {
	b.Run("floor-noop", func(b *testing.B) {
		self0 := selfCPU()
		drive(b, noopURL(b), "noop", func(int64) map[string]any { return nil })
		b.ReportMetric(float64((selfCPU()-self0).Microseconds())/float64(b.N), "clients+server-cpu-µs/call")
	})
	b.Run("airlock", func(b *testing.B) {
		url, pid := startBinary(b)
		measure(b, pid, func() { drive(b, url, "sql_query", lookupArgs) })
	})
	b.Run("airlock-http-clients", func(b *testing.B) {
		url, pid := startBinary(b)
		calls := recordCalls(b, url, "sql_query", lookupArgs, 50)
		measure(b, pid, func() { driveHTTP(b, url, calls) })
	})
}

// clients is how many callers BenchmarkConcurrent runs at once.
const clients = 8

// lookupArgs is the i-th call's primary-key lookup.
func lookupArgs(i int64) map[string]any {
	return map[string]any{"connection": "shop", "sql": pkLookup, "params": []any{1 + i%50}}
}

// startBinary runs the airlock binary over a fresh database and returns
// its /mcp URL and process id.
func startBinary(b *testing.B) (string, int) {
	db := testenv.Postgres(b).NewDatabase(b)
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "AIRLOCK_BENCH_DSN="+db.AppDSN, "AIRLOCK_LOG_LEVEL=info")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := ""
	sc := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`"url":"([^"]+)"`)
	for url == "" && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if url == "" {
		b.Fatal("airlock did not start")
	}
	return url, cmd.Process.Pid
}

// measure runs load and reports where the machine went per call.
func measure(b *testing.B, pid int, load func()) {
	cpu0, pg0, self0 := procCPU(b, pid), postgresCPU(b), selfCPU()
	load()
	// The binary's own CPU per call: the clients and PostgreSQL share
	// the machine, so calls/s alone does not say what the gateway costs.
	perCall := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(perCall(procCPU(b, pid)-cpu0), "gateway-cpu-µs/call")
	// Where the rest of the machine goes: the 8 clients (this
	// process) and PostgreSQL's backends.
	b.ReportMetric(perCall(selfCPU()-self0), "clients-cpu-µs/call")
	b.ReportMetric(perCall(postgresCPU(b)-pg0), "postgres-cpu-µs/call")
	rss, hwm := procMemory(b, pid)
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(hwm, "peak-rss-MiB")
}

// drive makes b.N calls of tool from 8 clients at once and reports calls/s.
func drive(b *testing.B, url, tool string, args func(i int64) map[string]any) {
	callers := make([]func(i int64) bool, clients)
	for n := range callers {
		c := connect(b, url, mcp.ProtocolVersion20260728)
		callers[n] = func(i int64) bool { callTool(b, c, tool, args(i)); return true }
	}
	fanOut(b, callers)
}

// fanOut runs each caller on its own goroutine, handing out call numbers
// 1..b.N until they are used up or a caller returns false, and reports
// calls/s.
func fanOut(b *testing.B, callers []func(i int64) bool) {
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, call := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) || !call(i) {
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// procCPU is the user and system time pid has used, from /proc (in clock
// ticks of 10 ms: the benchmark runs long enough for that).
func procCPU(b *testing.B, pid int) time.Duration {
	cpu, err := readCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	return cpu
}

func readCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// postgresCPU is the CPU time of every postgres process on the machine
// (the test server's backends; nothing else runs PostgreSQL here).
func postgresCPU(b *testing.B) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var sum time.Duration
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			if cpu, err := readCPU(pid); err == nil { // a backend may exit meanwhile
				sum += cpu
			}
		}
	}
	return sum
}

// selfCPU is this process's user and system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func procMemory(b *testing.B, pid int) (rss, hwm float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// BenchmarkMaskingShare is a 1,000-row customer read (names, emails,
// phones, SSNs, card numbers, IBANs) through the whole gateway over
// Streamable HTTP, with the default detectors and column rules, against
// the same read with masking switched off; it reports masking's share of
// the call.
func BenchmarkMaskingShare(b *testing.B) {
	const rows = `SELECT c.* FROM customers c CROSS JOIN generate_series(1, 20) g LIMIT 1000`
	run := func(b *testing.B, extra string) time.Duration {
		url, _ := gatewayURLWith(b, extra)
		c := connect(b, url, mcp.ProtocolVersion20260728)
		var l latencies
		for i := 0; i < b.N; i++ {
			l.time(func() { callTool(b, c, "sql_query", map[string]any{"connection": "shop", "sql": rows}) })
		}
		return l.pct(0.5)
	}
	var masked, plain time.Duration
	b.Run("masked", func(b *testing.B) {
		masked = run(b, "masking:\n  rules:\n    - {match: \"shop:public.customers.ssn\", action: redact}\n    - {match: \"shop:public.customers.card_number\", action: partial}\n")
		b.ReportMetric(float64(masked.Microseconds()), "p50-µs")
	})
	b.Run("unmasked", func(b *testing.B) {
		plain = run(b, "masking:\n  detectors: []\n")
		b.ReportMetric(float64(plain.Microseconds()), "p50-µs")
		if masked > 0 {
			b.ReportMetric(100*float64(masked-plain)/float64(masked), "masking-%")
		}
	})
}
