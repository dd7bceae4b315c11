package config

import (
	"strings"
	"testing"
)

func TestStateSections(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad driver", "store:\n  driver: mysql\n", `a.yaml:2: store.driver: unknown store driver "mysql"`},
		{"plain postgres dsn", "store:\n  driver: postgres\n  dsn: postgres://u:hunter2@db/x\n", `a.yaml:3: store.dsn: a postgres connection string is a credential`},
		{"unset postgres dsn", "store:\n  driver: postgres\n  dsn: env:AIRLOCK_NO_SUCH_VAR\n", `a.yaml:3: store.dsn: environment variable AIRLOCK_NO_SUCH_VAR is not set`},
		{"bad durability", "store:\n  durability: maybe\n", `a.yaml:2: store.durability: unknown durability`},
		{"sink kind", "recorder:\n  sinks:\n    - {name: x, kind: kafka}\n", `a.yaml:3: recorder.sinks[0].kind: unknown sink kind "kafka"`},
		{"sink twice", "recorder:\n  sinks:\n    - {name: x, kind: file, path: a}\n    - {name: x, kind: file, path: b}\n", `recorder.sinks[1].name: sink "x" is defined twice`},
		{"syslog address", "recorder:\n  sinks:\n    - {name: s, kind: syslog, address: \"udp://x:514\"}\n", `recorder.sinks[0].address: want tcp://host:port or tls://host:port`},
		{"consume", "approvals:\n  consume: twice\n", `a.yaml:2: approvals.consume: unknown mode "twice"`},
		{"slack half", "approvals:\n  slack:\n    channel: \"#x\"\n", `approvals.slack: bot_token and channel are both required`},
		{"unnamed sinks of one kind", "recorder:\n  sinks:\n    - {kind: file, path: a}\n    - {kind: file, path: b}\n", `a.yaml:4: recorder.sinks[1].name: sink "file" is defined twice: give each sink its own name`},
		{"signing key from env", "recorder:\n  signing_key: env:AUDIT_KEY\n", `a.yaml:2: recorder.signing_key: must name a file (PATH or file:PATH)`},
		{"signing key empty ref", "recorder:\n  signing_key: \"file:\"\n", `a.yaml:2: recorder.signing_key: is required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	t.Setenv("AIRLOCK_TEST_STORE_DSN", "postgres://u@db/x")
	cfg, err := Parse("/etc/airlock/a.yaml", []byte("store:\n  driver: postgres\n  dsn: env:AIRLOCK_TEST_STORE_DSN\nrecorder:\n  signing_key: keys/audit.key\n"))
	if err != nil || cfg.Store.Resolved() != "postgres://u@db/x" || cfg.Recorder.SigningKey != "/etc/airlock/keys/audit.key" {
		t.Fatalf("%v %+v %+v", err, cfg.Store, cfg.Recorder)
	}
	cfg, err = Parse("/etc/airlock/a.yaml", nil)
	if err != nil || cfg.Store.Resolved() != "/etc/airlock/airlock.db" {
		t.Fatalf("sqlite default: %v %q", err, cfg.Store.Resolved())
	}
}

// TestDesignShapeLoads: the configuration as the design documents it
// loads as written, so an operator's file in that shape stays valid.
func TestDesignShapeLoads(t *testing.T) {
	clearEnv(t)
	for k, v := range map[string]string{"PROD_DB_DSN": "postgres://app@db/prod", "SLACK_BOT_TOKEN": "xoxb-1",
		"SLACK_SIGNING_SECRET": "s3cret"} {
		t.Setenv(k, v)
	}
	const design = `listen: 127.0.0.1:8080
resource: https://airlock.example.com/mcp
identity:
  oidc:
    - issuer: https://idp.example.com/
      audiences: [https://airlock.example.com/mcp]
      groups_claim: groups
  dev_identity: ""
store:
  driver: sqlite
  dsn: ./airlock.db
connections:
  - name: prod-db
    kind: postgres
    labels: {env: prod, team: payments}
    dsn: env:PROD_DB_DSN
policy:
  dir: ./policies
approvals:
  hold: 40s
  slack: {bot_token: env:SLACK_BOT_TOKEN, signing_secret: env:SLACK_SIGNING_SECRET, channel: "#prod-approvals"}
masking:
  rules:
    - {match: "prod-db:public.customers.ssn", action: redact}
recorder:
  retention: 400d
  signing_key: file:./audit-signing.key
  sinks:
    - {kind: syslog, address: tls://siem.example.com:6514}
`
	cfg, err := Parse("/etc/airlock/airlock.yaml", []byte(design))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Recorder.SigningKey != "/etc/airlock/audit-signing.key" || cfg.Store.Resolved() != "/etc/airlock/airlock.db" ||
		cfg.Policy.Dir != "/etc/airlock/policies" || len(cfg.Connections) != 1 || len(cfg.Recorder.Sinks) != 1 ||
		cfg.Recorder.Sinks[0].Name != "syslog" {
		t.Fatalf("loaded as %+v", cfg)
	}
}
