package config

import (
	"fmt"
	"time"
)

// Defaults returns the built-in configuration every file is laid over. Each
// call returns a fresh copy, so callers may modify it.
func Defaults() *Config {
	return &Config{
		Listen: "127.0.0.1:8080",
		Limits: Limits{
			MaxRows:          1000,
			MaxRowsCeiling:   10000,
			MaxResultBytes:   4 << 20,
			StatementTimeout: Duration(30 * time.Second),
			CallTimeout:      Duration(60 * time.Second),
		},
		Server: Server{
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(30 * time.Second),
			// Long enough for a call held for approval to answer.
			WriteTimeout:    Duration(120 * time.Second),
			IdleTimeout:     Duration(120 * time.Second),
			MaxRequestBytes: 1 << 20,
			ShutdownGrace:   Duration(20 * time.Second),
		},
		Log:    Log{Level: "info", Format: "json"},
		Policy: Policy{EvalTimeout: Duration(100 * time.Millisecond)},
		// resolved matches a config file in the working directory.
		Store: Store{Driver: "sqlite", DSN: "airlock.db", Durability: "process", resolved: "airlock.db"},
		Recorder: Recorder{SigningKey: "airlock-audit.key", CheckpointEvery: 1000,
			CheckpointInterval: Duration(10 * time.Second)},
		Approvals: Approvals{Hold: Duration(40 * time.Second), RequestTTL: Duration(time.Hour),
			ApprovalTTL: Duration(15 * time.Minute), Consume: "once", Window: Duration(5 * time.Minute),
			MaxGrant: Duration(8 * time.Hour), ApproverGroups: []string{"approvers"}},
		Pool: Pool{MaxConns: 8, MinConns: 1},
	}
}

// Connection returns the connection called name.
func (c *Config) Connection(name string) (*Connection, bool) {
	for i := range c.Connections {
		if c.Connections[i].Name == name {
			return &c.Connections[i], true
		}
	}
	return nil, false
}

// inherit fills the limits and pool fields a connection does not set from
// the global ones. given says whether the file (or the environment) set a
// key, so an explicit 0 stays 0: "min_conns: 0" is a real choice, and an
// explicit "max_rows: 0" must be reported rather than silently replaced.
func (c *Config) inherit(given func(key string) bool) {
	for i := range c.Connections {
		l, p := &c.Connections[i].Limits, &c.Connections[i].Pool
		at := func(key string) string { return fmt.Sprintf("connections[%d].%s", i, key) }
		fill(given, at("limits.max_rows"), &l.MaxRows, c.Limits.MaxRows)
		fill(given, at("limits.max_rows_ceiling"), &l.MaxRowsCeiling, c.Limits.MaxRowsCeiling)
		fill(given, at("limits.max_result_bytes"), &l.MaxResultBytes, c.Limits.MaxResultBytes)
		fill(given, at("limits.statement_timeout"), &l.StatementTimeout, c.Limits.StatementTimeout)
		fill(given, at("limits.call_timeout"), &l.CallTimeout, c.Limits.CallTimeout)
		fill(given, at("pool.max_conns"), &p.MaxConns, c.Pool.MaxConns)
		fill(given, at("pool.min_conns"), &p.MinConns, c.Pool.MinConns)
	}
}

func fill[T comparable](given func(string) bool, key string, dst *T, v T) {
	var zero T
	if *dst == zero && !given(key) {
		*dst = v
	}
}
