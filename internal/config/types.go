package config

import (
	"strings"
	"time"
)

// Config is the whole of airlock.yaml.
type Config struct {
	// Listen is the Streamable HTTP address; the MCP endpoint is /mcp.
	Listen string `yaml:"listen"`
	// Resource is our canonical MCP URI (the token audience).
	Resource string   `yaml:"resource"`
	Identity Identity `yaml:"identity"`
	Limits   Limits   `yaml:"limits"`
	Server   Server   `yaml:"server"`
	Log      Log      `yaml:"log"`
	// Pool is the pool size every database connection starts from.
	Pool Pool `yaml:"pool"`
	// Connections are the governed backends, in file order.
	Connections []Connection `yaml:"connections"`
	Policy      Policy       `yaml:"policy"`
	Masking     Masking      `yaml:"masking"`
	Store       Store        `yaml:"store"`
	Recorder    Recorder     `yaml:"recorder"`
	Approvals   Approvals    `yaml:"approvals"`

	// Path is the file the configuration was read from ("" for defaults).
	Path string `yaml:"-"`
}

// Identity says who callers are.
type Identity struct {
	// OIDC lists the trusted token issuers. When set, every HTTP request
	// must carry a bearer token one of them issued.
	OIDC []OIDCIssuer `yaml:"oidc"`
	// TokenFile holds the bearer token of the stdio transport (the
	// AIRLOCK_TOKEN environment variable wins when set); it is read again
	// on every call, so a refresher may rewrite it. Relative to the file.
	TokenFile string `yaml:"token_file"`
	// DevIdentity is an explicit, unverified identity for demos and
	// development; everything it produces is marked unverified.
	DevIdentity string `yaml:"dev_identity"`
}

// OIDCIssuer is one trusted OpenID provider.
type OIDCIssuer struct {
	// Issuer is the issuer identifier exactly as tokens carry it in iss.
	Issuer string `yaml:"issuer"`
	// Audiences accepted from this issuer; empty accepts only resource.
	Audiences []string `yaml:"audiences"`
	// GroupsClaim names the claim with the caller's groups ("groups").
	GroupsClaim string `yaml:"groups_claim"`
	// EmailClaim names the claim with the caller's email ("email").
	EmailClaim string `yaml:"email_claim"`
	// RoleMap maps IdP groups to airlock groups; when set, only mapped
	// groups reach policy.
	RoleMap map[string][]string `yaml:"role_map"`
	// RequiredScopes must all be granted to a token.
	RequiredScopes []string `yaml:"required_scopes"`
}

// Limits bound what one call may cost. A connection may override them.
type Limits struct {
	// MaxRows is the default row cap of a SQL result (1000).
	MaxRows int `yaml:"max_rows"`
	// MaxRowsCeiling is the most rows a caller may ask for (10000).
	MaxRowsCeiling int `yaml:"max_rows_ceiling"`
	// MaxResultBytes caps the encoded size of one result (4 MiB).
	MaxResultBytes int `yaml:"max_result_bytes"`
	// StatementTimeout bounds one statement on the server (30s).
	StatementTimeout Duration `yaml:"statement_timeout"`
	// CallTimeout bounds one whole tool call in the gateway (60s).
	CallTimeout Duration `yaml:"call_timeout"`
}

// Server holds HTTP transport settings.
type Server struct {
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"` // 10s
	ReadTimeout       Duration `yaml:"read_timeout"`        // 30s
	WriteTimeout      Duration `yaml:"write_timeout"`       // 120s: covers held calls
	IdleTimeout       Duration `yaml:"idle_timeout"`        // 120s
	// MaxRequestBytes caps one HTTP request body (1 MiB).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// ShutdownGrace is how long in-flight calls may finish on SIGTERM (20s).
	ShutdownGrace Duration `yaml:"shutdown_grace"`
}

// Log configures operational logs (never the audit trail).
type Log struct {
	Level  string `yaml:"level"`  // debug|info|warn|error (info)
	Format string `yaml:"format"` // json|console (json)
}

// Connection is one governed backend.
type Connection struct {
	Name        string            `yaml:"name"`
	Kind        string            `yaml:"kind"`
	Description string            `yaml:"description"`
	Labels      map[string]string `yaml:"labels"`
	// DSN is the connection string, a secret reference (postgres).
	DSN Secret `yaml:"dsn"`
	// Limits override the global limits for this connection. Zero fields
	// inherit the global ones when the file is loaded, so callers read
	// Limits directly and never merge.
	Limits Limits `yaml:"limits"`
	// Pool sizes the connection pool (postgres); zero fields inherit the
	// global pool like Limits do.
	Pool Pool `yaml:"pool"`

	// Line is where the connection starts in the file, for messages.
	Line int `yaml:"-"`
}

// Pool sizes a database pool.
type Pool struct {
	MaxConns int32 `yaml:"max_conns"` // 8
	MinConns int32 `yaml:"min_conns"` // 1
}

// Duration is a time.Duration written in YAML as "30s", "5m", "400d".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Policy configures the OPA policy that decides every call.
type Policy struct {
	// Dir holds operator .rego files (and their _test.rego tests) that
	// extend the embedded default bundle; relative to the config file.
	Dir string `yaml:"dir"`
	// ReplaceDefault drops the default airlock.authz rules (the helper
	// library airlock.lib stays).
	ReplaceDefault bool `yaml:"replace_default"`
	// EvalTimeout bounds one decision; running out denies the call (100ms).
	EvalTimeout Duration `yaml:"eval_timeout"`
}

// Masking configures what sensitive data is masked in responses and in
// everything recorded.
type Masking struct {
	// Rules mask by source column ("conn:schema.table.column") or JSON
	// field path ("conn:$.path"), first match wins.
	Rules []MaskRule `yaml:"rules"`
	// Detectors names the built-in content detectors to run; empty runs
	// all of them (card, iban, ssn, email, phone, jwt, private_key,
	// aws_access_key, aws_secret_key, github_token, slack_token, stripe_key).
	Detectors []string `yaml:"detectors"`
	// Custom are operator-defined content detectors (Go regular expressions).
	Custom []CustomDetector `yaml:"custom"`
	// HashKey keys the "hash" action (HMAC), a secret reference of at least
	// 16 bytes; required when a rule hashes.
	HashKey Secret `yaml:"hash_key"`
}

// MaskRule is one masking rule.
type MaskRule struct {
	Name  string `yaml:"name"`
	Match string `yaml:"match"`
	// Action is redact (default), partial, hash or drop.
	Action string `yaml:"action"`
	// Kind labels the replacement, [REDACTED:kind].
	Kind string `yaml:"kind"`
	// FailClosed masks whole any computed column that may derive from
	// this column when its sources cannot be resolved.
	FailClosed bool `yaml:"fail_closed"`
}

// CustomDetector is an operator-defined content detector.
type CustomDetector struct {
	Name    string `yaml:"name"`
	Pattern string `yaml:"pattern"`
}

// Store is where shared state lives: the audit trail, approvals, grants.
type Store struct {
	// Driver is sqlite (one embedded file, the default) or postgres (for
	// several replicas).
	Driver string `yaml:"driver"`
	// DSN is the SQLite file (relative to the config file) or, for
	// postgres, a secret reference to the connection string.
	DSN string `yaml:"dsn"`
	// Durability is "process" (survives a crash of the gateway; the
	// default) or "fsync" (survives power loss; slower).
	Durability string `yaml:"durability"`

	// resolved is the DSN ready to open.
	resolved string
}

// UseSQLite points the store at an SQLite file (the dev demo's).
func (s *Store) UseSQLite(path string) {
	s.Driver, s.DSN, s.resolved = "sqlite", path, path
}

// Resolved returns the DSN to open: the SQLite path made absolute against
// the config file, or the resolved postgres secret.
func (s Store) Resolved() string { return s.resolved }

// Recorder configures the audit trail.
type Recorder struct {
	// SigningKey is the Ed25519 key (PKCS#8 PEM file) that signs
	// checkpoints; generated on first start when missing.
	SigningKey string `yaml:"signing_key"`
	// CheckpointEvery and CheckpointInterval close the chain every N
	// events or T, whichever comes first.
	CheckpointEvery    int      `yaml:"checkpoint_every"`
	CheckpointInterval Duration `yaml:"checkpoint_interval"`
	// Retention purges events older than this (whole sealed segments);
	// 0 keeps everything.
	Retention Duration `yaml:"retention"`
	// Sinks export every event to a SIEM, each from its own cursor.
	Sinks []Sink `yaml:"sinks"`
	// Journal is the directory of the write-ahead journal: a call waits
	// for its intent to reach the journal (one write, or one fdatasync
	// with store.durability fsync), and events move into the store in
	// batches a few milliseconds later. Empty: beside the SQLite file
	// (<file>.journal), none for postgres, whose replicas may not keep
	// local disks. "off": every event waits for a store commit.
	Journal string `yaml:"journal"`
}

// JournalDir is the journal directory for store st, or "" for none.
func (r Recorder) JournalDir(st Store) string {
	switch {
	case r.Journal == "off":
		return ""
	case r.Journal != "":
		return r.Journal
	case st.Driver == "sqlite" && st.Resolved() != "" && !strings.HasPrefix(st.Resolved(), ":memory:") &&
		!strings.HasPrefix(st.Resolved(), "file:"):
		return st.Resolved() + ".journal"
	}
	return ""
}

// Sink is one export destination.
type Sink struct {
	Name string `yaml:"name"`
	// Kind is file (JSON lines, rotated), syslog (RFC 5424 over tcp:// or
	// tls://) or webhook (HTTP POST of JSON batches).
	Kind    string `yaml:"kind"`
	Path    string `yaml:"path"`    // file
	Address string `yaml:"address"` // syslog: tcp://host:port or tls://host:port
	URL     string `yaml:"url"`     // webhook
	// MaxBytes and Keep rotate a file sink.
	MaxBytes int64 `yaml:"max_bytes"`
	Keep     int   `yaml:"keep"`
}

// Approvals configures human approval of risky calls and JIT grants.
type Approvals struct {
	// Hold is how long a call waits in the MCP request for a decision
	// (40s: under common client timeouts).
	Hold Duration `yaml:"hold"`
	// RequestTTL is how long a request may wait for a decision (1h).
	RequestTTL Duration `yaml:"request_ttl"`
	// ApprovalTTL is how long an approval waits for its call (15m).
	ApprovalTTL Duration `yaml:"approval_ttl"`
	// Consume is once (default) or window: an approval then covers
	// identical calls for Window.
	Consume string   `yaml:"consume"`
	Window  Duration `yaml:"window"`
	// MaxGrant caps a JIT grant's duration (8h).
	MaxGrant Duration `yaml:"max_grant"`
	// ApproverGroups decide requests whose policy names no approvers, such
	// as JIT access requests (default: approvers, the default policy's
	// approver group).
	ApproverGroups []string `yaml:"approver_groups"`
	Slack          Slack    `yaml:"slack"`
}

// Slack configures approval requests in Slack.
type Slack struct {
	BotToken      Secret `yaml:"bot_token"`
	SigningSecret Secret `yaml:"signing_secret"`
	// AppToken enables Socket Mode (no inbound URL needed).
	AppToken Secret `yaml:"app_token"`
	Channel  string `yaml:"channel"`
	// APIURL overrides Slack's Web API address (a proxy; tests).
	APIURL string `yaml:"api_url"`
	// Approvers maps approvers' verified Slack emails to airlock groups.
	Approvers map[string][]string `yaml:"approvers"`
}
