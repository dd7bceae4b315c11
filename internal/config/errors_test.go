package config

import (
	"errors"
	"strings"
	"testing"
)

// clearEnv neutralises AIRLOCK_* variables from the environment the tests run
// in; an empty variable is ignored by Parse.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range EnvVars() {
		t.Setenv(name, "")
	}
}

// parseErr parses src and returns its *Error, failing if there is none.
func parseErr(t *testing.T, src string) *Error {
	t.Helper()
	cfg, err := Parse("airlock.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want an error; got %+v", cfg)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %q is not a *config.Error", err, err)
	}
	return ce
}

// conn is a valid connection the bad inputs below are built around.
const conn = "connections:\n  - name: prod-db\n    kind: postgres\n    dsn: env:CFG_TEST_DSN\n"

func TestParseErrors(t *testing.T) {
	clearEnv(t)
	t.Setenv("CFG_TEST_DSN", "postgres://u:pw@h/db")
	t.Setenv("CFG_TEST_EMPTY", "")
	tests := []struct {
		name string
		src  string
		line int
		key  string
		msg  string // a substring the message must contain
	}{
		{"yaml syntax", "listen: [\n", 1, "", "invalid YAML"},
		{"yaml syntax later line", "log: {level: info}\nlisten: :80\n  format: json\n", 3, "", "invalid YAML: mapping values are not allowed"},
		{"yaml unknown anchor", "listen: *addr\n", 0, "", "invalid YAML: unknown anchor 'addr'"},
		{"tab indentation", "log:\n\tlevel: info\n", 2, "", "invalid YAML"},
		{"second document", "listen: :1\n---\nlisten: :2\n", 2, "", "only one YAML document"},
		{"root is a list", "- listen\n", 1, "", "must be a mapping"},
		{"unknown top-level key", "listn: :8080\n", 1, "listn", `did you mean "listen"`},
		{"unknown key lists known keys", "zzzzzz: 1\n", 1, "zzzzzz", "known keys here: approvals, connections, identity"},
		{"unknown nested key", "limits:\n  max_row: 5\n", 2, "limits.max_row", `did you mean "max_rows"`},
		{"unknown connection key", conn + "    password: x\n", 5, "connections[0].password", `unknown key "password"`},
		{"unknown key in second connection", conn + "  - name: b\n    kind: k\n    lables: {}\n", 7, "connections[1].lables", `did you mean "labels"`},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", 3, "log.level", "given twice (first on line 2)"},
		{"merge key", "base: &b {level: info}\nlog:\n  <<: *b\n", 1, "base", "unknown key"},
		{"custom tag", "listen: !vault x\n", 1, "listen", "custom YAML tag"},
		{"section not a mapping", "limits: 5\n", 1, "limits", "must be a mapping"},
		{"connections not a list", "connections:\n  name: x\n", 2, "connections", "must be a list"},
		{"string given a list", "listen: [a]\n", 1, "listen", "must be a string, got a list"},
		{"label value a mapping", conn + "    labels:\n      env: {a: b}\n", 6, "connections[0].labels.env", "must be a string, got a mapping"},
		{"label value missing", conn + "    labels:\n      env:\n", 6, "connections[0].labels.env", "must have a value"},
		{"labels a list", conn + "    labels: [prod]\n", 5, "connections[0].labels", "must be a mapping"},
		{"int not a number", "limits:\n  max_rows: lots\n", 2, "limits.max_rows", `whole number, got "lots"`},
		{"int quoted", "limits:\n  max_rows: '100'\n", 2, "limits.max_rows", `whole number without quotes, got the string "100"`},
		{"int is a float", "limits:\n  max_rows: 1.5\n", 2, "limits.max_rows", `whole number, got "1.5"`},
		{"int32 overflow", "pool:\n  max_conns: 99999999999\n", 2, "pool.max_conns", "out of range"},
		{"bad duration unit", "limits:\n  statement_timeout: 5x\n", 2, "limits.statement_timeout", `invalid duration "5x"`},
		{"duration without unit", "server:\n  read_timeout: 30\n", 2, "server.read_timeout", "use a number with a unit"},
		{"negative duration", "limits:\n  call_timeout: -5s\n", 2, "limits.call_timeout", "must not be negative"},
		{"zero duration", "server:\n  idle_timeout: 0s\n", 2, "server.idle_timeout", "must be a positive duration"},
		{"duration a mapping", "limits:\n  call_timeout: {s: 1}\n", 2, "limits.call_timeout", "must be a duration"},
		{"bad log level", "log:\n  level: loud\n", 2, "log.level", `unknown log level "loud": use debug, info, warn or error`},
		{"bad log format", "log: {format: xml}\n", 1, "log.format", "use json or console"},
		{"listen without port", "listen: localhost\n", 1, "listen", "want host:port"},
		{"listen bad port", "listen: 127.0.0.1:99999\n", 1, "listen", "port must be a number"},
		{"listen bad host", "listen: 'bad host:80'\n", 1, "listen", "neither an IP address nor a host name"},
		{"resource not absolute", "resource: /mcp\n", 1, "resource", "absolute http(s) URL"},
		{"max_rows zero", "limits:\n  max_rows: 0\n", 2, "limits.max_rows", "greater than 0"},
		{"max_rows negative", "limits:\n  max_rows: -1\n", 2, "limits.max_rows", "greater than 0"},
		{"max_rows above ceiling", "limits:\n  max_rows: 20000\n", 2, "limits.max_rows", "max_rows (20000) is above max_rows_ceiling (10000)"},
		{"ceiling below default max_rows", "limits:\n  max_rows_ceiling: 10\n", 2, "limits.max_rows_ceiling", "max_rows (1000) is above max_rows_ceiling (10)"},
		{"max_result_bytes zero", "limits:\n  max_result_bytes: 0\n", 2, "limits.max_result_bytes", "positive number of bytes"},
		{"max_request_bytes negative", "server:\n  max_request_bytes: -1\n", 2, "server.max_request_bytes", "positive number of bytes"},
		{"pool max zero", "pool:\n  max_conns: 0\n", 2, "pool.max_conns", "at least 1"},
		{"pool min negative", "pool:\n  min_conns: -1\n", 2, "pool.min_conns", "must not be negative"},
		{"pool min above max", "pool:\n  max_conns: 2\n  min_conns: 3\n", 3, "pool.min_conns", "min_conns (3) is above max_conns (2)"},
		{"pool max below default min", "pool:\n  max_conns: 1\n  min_conns: 2\n", 3, "pool.min_conns", "above max_conns"},
		{"connection pool max below inherited min", conn + "    pool: {max_conns: 1}\npool: {min_conns: 2, max_conns: 8}\n", 5, "connections[0].pool.max_conns", "min_conns (2) is above max_conns (1)"},
		{"connection missing name", "connections:\n  - kind: postgres\n    dsn: env:CFG_TEST_DSN\n", 2, "connections[0].name", `missing required key "name"`},
		{"connection missing kind", "connections:\n  - name: a\n", 2, "connections[0].kind", `missing required key "kind"`},
		{"postgres missing dsn", "connections:\n  - name: a\n    kind: postgres\n", 2, "connections[0].dsn", `missing required key "dsn" for kind postgres`},
		{"postgres empty dsn", "connections:\n  - name: a\n    kind: postgres\n    dsn: ''\n", 4, "connections[0].dsn", `missing required key "dsn"`},
		{"bad connection name", "connections:\n  - name: Prod DB\n    kind: k\n", 2, "connections[0].name", `invalid connection name "Prod DB"`},
		{"connection name too long", "connections:\n  - name: " + strings.Repeat("a", 64) + "\n    kind: k\n", 2, "connections[0].name", "1 to 63"},
		{"duplicate connection name", conn + "  - name: prod-db\n    kind: k\n", 5, "connections[1].name", `duplicate connection name "prod-db" (first defined on line 2)`},
		{"connection limit zero", conn + "    limits:\n      max_rows: 0\n", 6, "connections[0].limits.max_rows", "leave it out to use the global value"},
		{"connection max_rows above inherited ceiling", conn + "    limits:\n      max_rows: 10001\n", 6, "connections[0].limits.max_rows", "above max_rows_ceiling (10000)"},
		{"connection ceiling below inherited max_rows", conn + "    limits:\n      max_rows_ceiling: 5\n", 6, "connections[0].limits.max_rows_ceiling", "max_rows (1000) is above"},
		{"connection bad duration", conn + "    limits: {statement_timeout: 1d-2h}\n", 5, "connections[0].limits.statement_timeout", "invalid duration"},
		{"unknown secret scheme", "connections:\n  - name: a\n    kind: postgres\n    dsn: vault:secret/db\n", 4, "connections[0].dsn", "unknown secret reference scheme: use env:NAME or file:PATH"},
		{"env ref without name", "connections:\n  - name: a\n    kind: postgres\n    dsn: 'env:'\n", 4, "connections[0].dsn", "needs an environment variable name"},
		{"file ref without path", "connections:\n  - name: a\n    kind: postgres\n    dsn: 'file:'\n", 4, "connections[0].dsn", "needs a path"},
		{"secret a mapping", "connections:\n  - name: a\n    kind: postgres\n    dsn: {env: X}\n", 4, "connections[0].dsn", "must be a secret reference"},
		{"unset env secret", "connections:\n  - name: a\n    kind: k\n  - name: b\n    kind: postgres\n    dsn: env:CFG_TEST_UNSET_XYZ\n", 6, "connections[1].dsn", "environment variable CFG_TEST_UNSET_XYZ is not set"},
		{"empty env secret", "connections:\n  - name: a\n    kind: postgres\n    dsn: env:CFG_TEST_EMPTY\n", 4, "connections[0].dsn", "environment variable CFG_TEST_EMPTY is empty"},
		{"unreadable file secret", "connections:\n  - name: a\n    kind: postgres\n    dsn: file:/nonexistent/airlock-test/dsn\n", 4, "connections[0].dsn", "cannot read secret file /nonexistent/airlock-test/dsn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseErr(t, tt.src)
			if e.File != "airlock.yaml" || e.Line != tt.line || e.Key != tt.key {
				t.Errorf("got %s:%d key %q, want airlock.yaml:%d key %q\nerror: %v", e.File, e.Line, e.Key, tt.line, tt.key, e)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Msg, tt.msg)
			}
			if strings.HasPrefix(e.Msg, "config:") || strings.HasPrefix(e.Msg, "yaml:") {
				t.Errorf("message %q repeats a package prefix the position already replaces", e.Msg)
			}
		})
	}
}

func TestErrorRendering(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "airlock.yaml", Line: 12, Key: "connections[1].dsn", Msg: "environment variable PROD_DB_DSN is not set"},
			"airlock.yaml:12: connections[1].dsn: environment variable PROD_DB_DSN is not set"},
		{Error{File: "airlock.yaml", Line: 3, Msg: "invalid YAML: x"}, "airlock.yaml:3: invalid YAML: x"},
		{Error{File: "airlock.yaml", Key: "listen", Msg: "bad"}, "airlock.yaml: listen: bad"},
		{Error{Line: 4, Msg: "bad"}, "line 4: bad"},
		{Error{Msg: "bad"}, "config: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestPlainSecretNotEchoed: a credential pasted where a reference belongs is
// refused without being repeated, since the error ends up in logs and CI output.
func TestPlainSecretNotEchoed(t *testing.T) {
	clearEnv(t)
	for _, dsn := range []string{
		"postgres://admin:hunter2-pw@db.internal:5432/prod",
		"hunter2-pw",
		"hunter2-pw:with-colon",
		"host=db password=hunter2-pw",
	} {
		e := parseErr(t, "connections:\n  - name: a\n    kind: postgres\n    dsn: '"+dsn+"'\n")
		if e.Line != 4 || e.Key != "connections[0].dsn" {
			t.Errorf("%q: placed at %d %q", dsn, e.Line, e.Key)
		}
		if strings.Contains(e.Error(), "hunter2") {
			t.Errorf("error echoes the secret: %v", e)
		}
		if !strings.Contains(e.Msg, "env:NAME or file:PATH") {
			t.Errorf("error does not say what to write instead: %v", e)
		}
	}
}

func TestEnvOverrideErrorNamesVariable(t *testing.T) {
	clearEnv(t)
	t.Setenv("AIRLOCK_LOG_LEVEL", "chatty")
	e := parseErr(t, "log:\n  level: info\n")
	// The file's line would point at a value that is not the one in use.
	if e.Line != 0 || e.Key != "log.level" || !strings.Contains(e.Msg, "set by environment variable AIRLOCK_LOG_LEVEL") {
		t.Errorf("got %v", e)
	}
	if want := `airlock.yaml: log.level: unknown log level "chatty"`; !strings.HasPrefix(e.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", e.Error(), want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(t.TempDir() + "/nope.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "config: ") || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("Load of a missing file: %v", err)
	}
}
