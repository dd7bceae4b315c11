package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../../deploy/examples/airlock.yaml"

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := Parse("airlock.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	want := &Config{
		Listen: "127.0.0.1:8080",
		Limits: Limits{MaxRows: 1000, MaxRowsCeiling: 10000, MaxResultBytes: 4 << 20,
			StatementTimeout: Duration(30 * time.Second), CallTimeout: Duration(60 * time.Second)},
		Server: Server{ReadHeaderTimeout: Duration(10 * time.Second), ReadTimeout: Duration(30 * time.Second),
			WriteTimeout: Duration(120 * time.Second), IdleTimeout: Duration(120 * time.Second),
			MaxRequestBytes: 1 << 20, ShutdownGrace: Duration(20 * time.Second)},
		Log:    Log{Level: "info", Format: "json"},
		Policy: Policy{EvalTimeout: Duration(100 * time.Millisecond)},
		Pool:   Pool{MaxConns: 8, MinConns: 1},
		Store:  Store{Driver: "sqlite", DSN: "airlock.db", Durability: "process", resolved: "airlock.db"},
		Recorder: Recorder{SigningKey: "airlock-audit.key", CheckpointEvery: 1000,
			CheckpointInterval: Duration(10 * time.Second)},
		Approvals: Approvals{Hold: Duration(40 * time.Second), RequestTTL: Duration(time.Hour),
			ApprovalTTL: Duration(15 * time.Minute), Consume: "once", Window: Duration(5 * time.Minute),
			MaxGrant: Duration(8 * time.Hour), ApproverGroups: []string{"approvers"}},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Defaults() = %+v\nwant %+v", d, want)
	}
	// Each call is a fresh copy: callers may change theirs.
	d.Limits.MaxRows = 1
	if Defaults().Limits.MaxRows != 1000 {
		t.Error("Defaults() shares state between calls")
	}
}

func TestEmptyFilesAreDefaults(t *testing.T) {
	clearEnv(t)
	for _, src := range []string{"", "# only a comment\n", "---\n", "{}\n", "limits:\nserver:\nlog:\n"} {
		cfg := mustParse(t, src)
		want := Defaults()
		want.Path = "airlock.yaml"
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("Parse(%q) = %+v, want the defaults", src, cfg)
		}
	}
}

func TestFileOverridesOnlyWhatItSets(t *testing.T) {
	clearEnv(t)
	cfg := mustParse(t, "listen: ':9090'\nlimits:\n  max_rows: 50\n  call_timeout: 2m\nserver: {shutdown_grace: 5s}\nlog: {format: console}\n")
	if cfg.Listen != ":9090" || cfg.Limits.MaxRows != 50 || cfg.Limits.CallTimeout.D() != 2*time.Minute ||
		cfg.Server.ShutdownGrace.D() != 5*time.Second || cfg.Log.Format != "console" {
		t.Errorf("file values not applied: %+v", cfg)
	}
	if cfg.Limits.MaxRowsCeiling != 10000 || cfg.Limits.StatementTimeout.D() != 30*time.Second ||
		cfg.Server.WriteTimeout.D() != 120*time.Second || cfg.Log.Level != "info" {
		t.Errorf("defaults lost next to file values: %+v", cfg)
	}
}

func TestEnvOverrides(t *testing.T) {
	clearEnv(t)
	t.Setenv("AIRLOCK_LISTEN", "0.0.0.0:9999")
	t.Setenv("AIRLOCK_RESOURCE", "https://gw.example.com/mcp")
	t.Setenv("AIRLOCK_DEV_IDENTITY", "alice@example.com")
	t.Setenv("AIRLOCK_LOG_LEVEL", "debug")
	t.Setenv("AIRLOCK_LOG_FORMAT", "console")
	cfg := mustParse(t, "listen: 127.0.0.1:1\nresource: https://file.example.com/mcp\nidentity: {dev_identity: bob}\nlog: {level: error, format: json}\n")
	got := []string{cfg.Listen, cfg.Resource, cfg.Identity.DevIdentity, cfg.Log.Level, cfg.Log.Format}
	want := []string{"0.0.0.0:9999", "https://gw.example.com/mcp", "alice@example.com", "debug", "console"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after env overrides got %q, want %q", got, want)
	}
}

func TestEmptyEnvOverrideIgnored(t *testing.T) {
	clearEnv(t) // sets every AIRLOCK_* to ""
	cfg := mustParse(t, "listen: 127.0.0.1:1\nlog: {level: warn}\n")
	if cfg.Listen != "127.0.0.1:1" || cfg.Log.Level != "warn" {
		t.Errorf("empty variables changed the config: %+v", cfg)
	}
}

func TestConnectionsInheritGlobals(t *testing.T) {
	clearEnv(t)
	t.Setenv("CFG_TEST_DSN", "postgres://x")
	cfg := mustParse(t, `limits:
  max_rows: 200
  statement_timeout: 5s
pool:
  max_conns: 3
  min_conns: 2
connections:
  - name: a
    kind: postgres
    dsn: env:CFG_TEST_DSN
  - name: b
    kind: postgres
    dsn: env:CFG_TEST_DSN
    limits:
      max_rows: 10
      call_timeout: 1s
    pool:
      max_conns: 5
      min_conns: 0
`)
	a, b := cfg.Connections[0], cfg.Connections[1]
	if a.Limits != cfg.Limits {
		t.Errorf("a.Limits = %+v, want the global %+v", a.Limits, cfg.Limits)
	}
	if a.Pool != cfg.Pool {
		t.Errorf("a.Pool = %+v, want the global %+v", a.Pool, cfg.Pool)
	}
	wantB := Limits{MaxRows: 10, MaxRowsCeiling: 10000, MaxResultBytes: 4 << 20,
		StatementTimeout: Duration(5 * time.Second), CallTimeout: Duration(time.Second)}
	if b.Limits != wantB {
		t.Errorf("b.Limits = %+v, want %+v", b.Limits, wantB)
	}
	// An explicit 0 is a choice, not "unset".
	if b.Pool != (Pool{MaxConns: 5, MinConns: 0}) {
		t.Errorf("b.Pool = %+v, want {5 0}", b.Pool)
	}
	if a.Line != 8 || b.Line != 11 {
		t.Errorf("connection lines = %d, %d; want 8, 11", a.Line, b.Line)
	}
	if c, ok := cfg.Connection("b"); !ok || c.Name != "b" {
		t.Errorf("Connection(b) = %v, %v", c, ok)
	}
	if _, ok := cfg.Connection("zz"); ok {
		t.Error("Connection(zz) found")
	}
}

func TestUnknownKindIsNotAConfigError(t *testing.T) {
	clearEnv(t)
	cfg := mustParse(t, "connections:\n  - name: box\n    kind: teleporter\n    labels: {env: dev}\n")
	if cfg.Connections[0].Kind != "teleporter" || cfg.Connections[0].Labels["env"] != "dev" {
		t.Errorf("got %+v", cfg.Connections[0])
	}
}

func TestAliasesAndScalarLabels(t *testing.T) {
	clearEnv(t)
	cfg := mustParse(t, `connections:
  - name: a
    kind: k
    labels: &l {env: prod, tier: 1, pci: true}
  - name: b
    kind: k
    labels: *l
`)
	for _, c := range cfg.Connections {
		want := map[string]string{"env": "prod", "tier": "1", "pci": "true"}
		if !reflect.DeepEqual(c.Labels, want) {
			t.Errorf("%s labels = %v, want %v", c.Name, c.Labels, want)
		}
	}
}

func setExampleEnv(t *testing.T) {
	t.Helper()
	clearEnv(t)
	t.Setenv("PROD_DB_DSN", "postgres://airlock:prod-s3cret@prod-db:5432/payments")
	t.Setenv("DEV_DB_DSN", "postgres://airlock:dev-s3cret@dev-db:5432/payments")
	t.Setenv("AIRLOCK_MASK_HASH_KEY", "mask-hash-key-of-32-bytes-000000")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-test")
	t.Setenv("SLACK_SIGNING_SECRET", "signing-secret")
	t.Setenv("SLACK_APP_TOKEN", "xapp-test")
}

func TestExampleFileLoads(t *testing.T) {
	setExampleEnv(t)
	cfg, err := Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s): %v", examplePath, err)
	}
	if len(cfg.Connections) != 2 {
		t.Fatalf("example has %d connections, want 2", len(cfg.Connections))
	}
	prod, dev := cfg.Connections[0], cfg.Connections[1]
	if prod.Name != "prod-db" || prod.Labels["env"] != "prod" || prod.DSN.Value() != os.Getenv("PROD_DB_DSN") {
		t.Errorf("prod connection = %+v", prod)
	}
	if dev.Name != "dev-db" || dev.Labels["env"] != "dev" || dev.DSN.Value() != os.Getenv("DEV_DB_DSN") {
		t.Errorf("dev connection = %+v", dev)
	}
	if dev.Limits != cfg.Limits || dev.Pool != cfg.Pool {
		t.Errorf("dev-db should inherit everything: %+v %+v", dev.Limits, dev.Pool)
	}
	if cfg.Path != examplePath {
		t.Errorf("Path = %q", cfg.Path)
	}
}

// TestExampleShowsEveryKey keeps the example honest as keys are added: every
// key of the Config type must appear in it, and a connection's keys in its
// first connection.
func TestExampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := joinKey(key, n.Content[i].Value)
				present[k] = true
				if !strings.HasSuffix(k, "labels") {
					walk(n.Content[i+1], k)
				}
			}
		case yaml.SequenceNode:
			for _, e := range n.Content {
				walk(e, key+"[]")
			}
		}
	}
	walk(doc.Content[0], "")
	var missing []string
	var want func(typ reflect.Type, key string)
	want = func(typ reflect.Type, key string) {
		for i := range typ.NumField() {
			name := yamlName(typ.Field(i))
			if name == "" {
				continue
			}
			k := joinKey(key, name)
			if !present[k] {
				missing = append(missing, k)
			}
			ft := typ.Field(i).Type
			if ft.Kind() == reflect.Slice {
				ft, k = ft.Elem(), k+"[]"
			}
			// Types that decode themselves (Duration, Secret) are leaves.
			if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType) {
				want(ft, k)
			}
		}
	}
	want(reflect.TypeFor[Config](), "")
	if len(missing) > 0 {
		t.Errorf("%s does not show these keys: %s", examplePath, strings.Join(missing, ", "))
	}
}

func TestFileSecretRelativeToConfig(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "dsn"), []byte("postgres://from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "secrets", "abs")
	if err := os.WriteFile(abs, []byte("absolute\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "airlock.yaml")
	src := "connections:\n  - name: a\n    kind: postgres\n    dsn: file:secrets/dsn\n  - name: b\n    kind: postgres\n    dsn: file:" + abs + "\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	// Run from elsewhere: the path must not depend on the working directory.
	t.Chdir(t.TempDir())
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Connections[0].DSN.Value(); got != "postgres://from-file" {
		t.Errorf("relative file secret = %q, want the file's content without the newline", got)
	}
	if got := cfg.Connections[1].DSN.Value(); got != "absolute" {
		t.Errorf("absolute file secret = %q", got)
	}

	// A file that exists relative to the working directory but not to the
	// config file must not be found.
	if err := os.WriteFile(filepath.Join(dir, "airlock.yaml"), []byte("connections:\n  - name: a\n    kind: postgres\n    dsn: file:cwd-only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("cwd-only", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "cwd-only")) {
		t.Errorf("want an error naming %s, got %v", filepath.Join(dir, "cwd-only"), err)
	}
}

func TestRedactedRoundTrips(t *testing.T) {
	setExampleEnv(t)
	cfg, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.Redacted()
	if !strings.Contains(out, "dsn: env:PROD_DB_DSN") || !strings.Contains(out, "statement_timeout: 10s") {
		t.Errorf("Redacted() lacks expected lines:\n%s", out)
	}
	// The printed config is itself a valid file meaning the same thing.
	again, err := Parse(examplePath, []byte(out))
	if err != nil {
		t.Fatalf("Redacted() output does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(stripLines(again), stripLines(cfg)) {
		t.Errorf("round trip differs:\n%+v\n%+v", again, cfg)
	}
}

func stripLines(c *Config) *Config {
	out := *c
	out.Connections = append([]Connection(nil), c.Connections...)
	for i := range out.Connections {
		out.Connections[i].Line = 0
	}
	return &out
}
