package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/airlockhq/airlock/internal/app"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/testenv"
	airmcp "github.com/airlockhq/airlock/mcp"
)

var binary string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "airlock-bench")
		if err != nil {
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "airlock")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/airlock")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: build:", err)
			return 1
		}
		return testenv.Main(m)
	}())
}

var versions = []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728}

const configYAML = `identity:
  dev_identity: bench@example.com
log:
  level: error
connections:
  - name: shop
    kind: postgres
    labels: {env: dev}
    dsn: env:AIRLOCK_BENCH_DSN
    pool: {max_conns: 16, min_conns: 8}
`

// gatewayURL starts the gateway in process over a fresh database.
func gatewayURL(b *testing.B) (string, testenv.DB) { return gatewayURLWith(b, "") }

// gatewayURLWith adds top-level YAML to the configuration.
func gatewayURLWith(b *testing.B, extra string) (string, testenv.DB) {
	b.Helper()
	db := testenv.Postgres(b).NewDatabase(b)
	b.Setenv("AIRLOCK_BENCH_DSN", db.AppDSN)
	cfg, err := config.Parse(filepath.Join(b.TempDir(), "bench.yaml"), []byte(configYAML+extra))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := airmcp.NewHTTP(a.MCP, cfg.Server, a.Ready, a.Log)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = h.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done; a.Close() })
	return "http://" + ln.Addr().String() + "/mcp", db
}

// noopURL serves one no-op tool on a plain mcp-go server: the framework floor.
func noopURL(b *testing.B) string {
	b.Helper()
	s := server.NewMCPServer("floor", "1")
	s.AddTool(mcp.NewTool("noop"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("ok"), nil
	})
	srv := &http.Server{Handler: server.NewStreamableHTTPServer(s)}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/mcp"
}

func connect(b testing.TB, url, version string, opts ...transport.StreamableHTTPCOption) *client.Client {
	b.Helper()
	tr, err := transport.NewStreamableHTTP(url, opts...)
	if err != nil {
		b.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(version))
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

func callTool(b testing.TB, c *client.Client, name string, args map[string]any) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	if res.IsError {
		b.Fatalf("%s: %v", name, res.Content)
	}
}

// latencies records one duration per iteration and reports percentiles.
type latencies []time.Duration

func (l *latencies) time(fn func()) {
	t := time.Now()
	fn()
	*l = append(*l, time.Since(t))
}

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func (l latencies) report(b *testing.B, prefix string) {
	b.ReportMetric(float64(l.pct(0.5).Nanoseconds())/1e3, prefix+"p50-µs")
	b.ReportMetric(float64(l.pct(0.99).Nanoseconds())/1e3, prefix+"p99-µs")
}

func encodeRows(rows [][]any) {
	_, _ = json.Marshal(map[string]any{"rows": rows})
}
