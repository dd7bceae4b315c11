package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSecretValueNeverPrinted checks every way a Config is commonly turned
// into text: a credential must not come out of any of them.
func TestSecretValueNeverPrinted(t *testing.T) {
	setExampleEnv(t)
	cfg, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"prod-s3cret", "dev-s3cret"}
	if !strings.Contains(cfg.Connections[0].DSN.Value(), secrets[0]) {
		t.Fatal("test setup: the secret was not resolved")
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dsn := cfg.Connections[0].DSN
	outputs := map[string]string{
		"%v":             fmt.Sprintf("%v", cfg),
		"%+v":            fmt.Sprintf("%+v", cfg),
		"%#v":            fmt.Sprintf("%#v", cfg),
		"%v value":       fmt.Sprintf("%v", *cfg),
		"Sprint":         fmt.Sprint(cfg.Connections),
		"%q":             fmt.Sprintf("%q", dsn),
		"%x":             fmt.Sprintf("%x", dsn),
		"%d":             fmt.Sprintf("%d", dsn),
		"%#v secret":     fmt.Sprintf("%#v", dsn),
		"Println":        fmt.Sprintln(cfg.Connections[0]),
		"String":         dsn.String(),
		"GoString":       dsn.GoString(),
		"Redacted":       cfg.Redacted(),
		"json.Marshal":   string(js),
		"yaml.Marshal":   string(ym),
		"json of secret": mustJSON(t, dsn),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks the secret: %s", name, out)
			}
		}
	}
	for _, name := range []string{"%+v", "%#v", "Redacted", "json.Marshal"} {
		if !strings.Contains(outputs[name], "env:PROD_DB_DSN") {
			t.Errorf("%s does not show the reference: %s", name, outputs[name])
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSecretErrorsNeverShowValue: when resolution fails after other secrets
// resolved, the error still carries only references.
func TestSecretErrorsNeverShowValue(t *testing.T) {
	clearEnv(t)
	t.Setenv("CFG_TEST_DSN", "postgres://u:leaky-pw@h/db")
	e := parseErr(t, "connections:\n  - name: a\n    kind: postgres\n    dsn: env:CFG_TEST_DSN\n  - name: b\n    kind: postgres\n    dsn: env:CFG_TEST_NOT_SET\n")
	if strings.Contains(e.Error(), "leaky-pw") {
		t.Errorf("error leaks a secret: %v", e)
	}
	if want := "airlock.yaml:7: connections[1].dsn: environment variable CFG_TEST_NOT_SET is not set"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

func TestSecretYAML(t *testing.T) {
	var v struct {
		DSN Secret `yaml:"dsn"`
	}
	if err := yaml.Unmarshal([]byte("dsn: env:X_DSN\n"), &v); err != nil || v.DSN.Ref != "env:X_DSN" || v.DSN.Value() != "" {
		t.Errorf("Unmarshal = %#v, %v", v.DSN, err)
	}
	// Used on its own with yaml.v3, the error still has a line and no value.
	err := yaml.Unmarshal([]byte("\ndsn: 'p@ssw0rd'\n"), &v)
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 2 || strings.Contains(err.Error(), "p@ssw0rd") {
		t.Errorf("Unmarshal of a plain value: %v", err)
	}
	out, err := yaml.Marshal(struct {
		DSN Secret `yaml:"dsn"`
	}{NewSecret("file:/run/dsn", "value")})
	if err != nil || string(out) != "dsn: file:/run/dsn\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func TestSecretString(t *testing.T) {
	for _, tt := range []struct {
		s          Secret
		str, gostr string
	}{
		{Secret{}, "", `config.Secret{Ref:""}`},
		{Secret{Ref: "env:A"}, "env:A", `config.Secret{Ref:"env:A"}`},
		{NewSecret("env:A", "v"), "env:A (resolved)", `config.Secret{Ref:"env:A"}`},
	} {
		if got := fmt.Sprint(tt.s); got != tt.str {
			t.Errorf("Sprint = %q, want %q", got, tt.str)
		}
		if got := fmt.Sprintf("%#v", tt.s); got != tt.gostr {
			t.Errorf("%%#v = %q, want %q", got, tt.gostr)
		}
	}
}

func TestResolveSecret(t *testing.T) {
	t.Setenv("CFG_TEST_TOKEN", "tok")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("line1\nline2\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	tests := []struct {
		ref, want, err string
	}{
		{"env:CFG_TEST_TOKEN", "tok", ""},
		{"file:key", "line1\nline2", ""}, // relative to the working directory
		{"file:" + filepath.Join(dir, "key"), "line1\nline2", ""},
		{"env:CFG_TEST_NOT_SET", "", "config: environment variable CFG_TEST_NOT_SET is not set"},
		{"file:missing", "", "config: cannot read secret file missing: no such file or directory"},
		{"vault:x", "", "config: unknown secret reference scheme"},
		{"plain-password", "", "config: a plain value is not allowed"},
	}
	for _, tt := range tests {
		got, err := ResolveSecret(tt.ref)
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("ResolveSecret(%q) error = %v, want prefix %q", tt.ref, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "plain-password") {
				t.Errorf("ResolveSecret echoes the value: %v", err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveSecret(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
}
