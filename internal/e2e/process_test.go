package e2e

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/airlockhq/airlock/internal/testenv"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "airlock.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStdioTransport(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	cfg := writeConfig(t, yamlConfig(db, "30s", ""))
	c, err := client.NewStdioMCPClient(binary, append(os.Environ(), "AIRLOCK_TEST_SHOP_DSN="+db.AppDSN),
		"serve", "--stdio", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "stdio-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize over stdio: %v", err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil || len(tools.Tools) != 8 {
		t.Fatalf("tools/list over stdio: %v %d tools", err, len(tools.Tools))
	}
	res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT count(*) AS n FROM orders"})
	var out queryOut
	structured(t, res, &out)
	if res.IsError || out.Rows[0][0].(float64) != 200 {
		t.Fatalf("count over stdio: %s", textOf(res))
	}
	res = call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "DELETE FROM orders"})
	if !res.IsError {
		t.Fatal("a delete over stdio was not refused")
	}
}

func TestBadConfigurationRefusesToStart(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	for _, tc := range []struct {
		name, body string
		want       *regexp.Regexp
	}{
		{"unknown key", strings.Replace(yamlConfig(db, "30s", ""), "description:", "descripton:", 1),
			regexp.MustCompile(`airlock\.yaml:1[0-9]: connections\[0\]\.descripton: .*unknown`)},
		{"bad duration", yamlConfig(db, "5 parsecs", ""),
			regexp.MustCompile(`airlock\.yaml:9: limits\.statement_timeout: `)},
		{"unset secret", strings.Replace(yamlConfig(db, "30s", ""), "AIRLOCK_TEST_SHOP_DSN", "AIRLOCK_NOT_SET_ANYWHERE", 1),
			regexp.MustCompile(`airlock\.yaml:1[0-9]: connections\[0\]\.dsn: .*AIRLOCK_NOT_SET_ANYWHERE`)},
		{"plain password", strings.Replace(yamlConfig(db, "30s", ""), "env:AIRLOCK_TEST_SHOP_DSN", "postgres://app:hunter2@db/x", 1),
			regexp.MustCompile(`airlock\.yaml:1[0-9]: connections\[0\]\.dsn: .*env:`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, tc.body)
			for _, args := range [][]string{{"serve", "--config", cfg}, {"config", "validate", cfg}} {
				cmd := exec.Command(binary, args...)
				cmd.Env = append(os.Environ(), "AIRLOCK_TEST_SHOP_DSN="+db.AppDSN)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 2 {
					t.Fatalf("%v: exit %v, want 2; stderr: %s", args, err, stderr.String())
				}
				if !tc.want.MatchString(stderr.String()) {
					t.Fatalf("%v: stderr %q does not match %s", args, stderr.String(), tc.want)
				}
				if strings.Contains(stderr.String(), "hunter2") {
					t.Fatalf("the password was printed: %s", stderr.String())
				}
			}
		})
	}
	t.Run("no identity", func(t *testing.T) {
		body := strings.Replace(yamlConfig(db, "30s", ""), "  dev_identity: alice@example.com\n", "", 1)
		cmd := exec.Command(binary, "serve", "--config", writeConfig(t, body))
		cmd.Env = append(os.Environ(), "AIRLOCK_TEST_SHOP_DSN="+db.AppDSN)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "no identity source") {
			t.Fatalf("without an identity: %v %s", err, out)
		}
	})
}

// startBinary runs `airlock serve` on a random port and returns its URL.
func startBinary(t *testing.T, cfg string, env []string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--config", cfg, "--listen", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "AIRLOCK_LOG_LEVEL=info"), env...)
	var logs bytes.Buffer
	pr, pw, _ := os.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`"url":"(http://[^"]+)/mcp"`)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case u := <-urlc:
		return cmd, u, &logs
	case <-time.After(20 * time.Second):
		t.Fatalf("airlock did not start: %s", logs.String())
	}
	return nil, "", nil
}

func TestSIGTERMLetsInFlightCallsFinish(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	cfg := writeConfig(t, strings.Replace(yamlConfig(db, "30s", ""), "log:\n  level: warn", "log:\n  level: info", 1))
	cmd, base, _ := startBinary(t, cfg, []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN})
	e := &env{t: t, url: base}
	c := e.client(mcp.ProtocolVersion20260728)

	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = "sql_query"
		req.Params.Arguments = map[string]any{"connection": "shop", "sql": "SELECT pg_sleep(1.5), 'finished' AS state"}
		res, err := c.CallTool(context.Background(), req)
		done <- answer{res, err}
	}()
	time.Sleep(500 * time.Millisecond) // the call is in the database now
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil || a.res.IsError || !strings.Contains(textOf(a.res), "finished") {
		t.Fatalf("in-flight call during shutdown: %v %s", a.err, textOf(a.res))
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("airlock exited with %v after SIGTERM", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

func TestDatabaseDownKeepsOtherConnections(t *testing.T) {
	extra := `  - name: gone
    kind: postgres
    labels: {env: dev}
    dsn: env:AIRLOCK_TEST_GONE_DSN
`
	t.Setenv("AIRLOCK_TEST_GONE_DSN", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	e := newEnv(t, "30s", extra)
	c := e.client(mcp.ProtocolVersion20260728)
	res := call(t, c, "sql_query", map[string]any{"connection": "gone", "sql": "SELECT 1"})
	if !res.IsError || !strings.Contains(textOf(res), "connection gone is unavailable") {
		t.Fatalf("down database: %s", textOf(res))
	}
	res = call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT 1 AS up"})
	if res.IsError {
		t.Fatalf("the healthy connection failed too: %s", textOf(res))
	}
	resp, err := http.Get(e.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(body.String(), `"connection:gone":"unreachable"`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body.String())
	}
}

func TestSIGTERMCancelsCallsAfterTheGracePeriod(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	cfg := writeConfig(t, yamlConfig(db, "30s", "")+"server:\n  shutdown_grace: 1s\n")
	cmd, base, _ := startBinary(t, cfg, []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN})
	c := (&env{t: t, url: base}).client(mcp.ProtocolVersion20260728)
	done := make(chan struct{})
	go func() {
		defer close(done)
		req := mcp.CallToolRequest{}
		req.Params.Name = "sql_query"
		req.Params.Arguments = map[string]any{"connection": "shop", "sql": "SELECT pg_sleep(20)"}
		_, _ = c.CallTool(context.Background(), req)
	}()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 8*time.Second {
		t.Fatalf("shutdown took %s; want about the 1s grace period", d)
	}
	// The database no longer runs the cancelled statement.
	admin, err := pgx.Connect(context.Background(), db.AdminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := admin.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND state = 'active' AND pid <> pg_backend_pid()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the statement still runs after the gateway cancelled it")
		}
		time.Sleep(100 * time.Millisecond)
	}
	<-done
}
