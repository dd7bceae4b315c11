package config

import (
	"fmt"
	"net/url"
	"strings"
)

// checkState validates the store, recorder and approvals sections; the
// postgres store DSN is a secret and is resolved here.
func (p *parser) checkState(c *Config, dir string) error {
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.DSN == "" {
			return p.errAt("store.dsn", "is required: the SQLite file, e.g. ./airlock.db")
		}
	case "postgres":
		if !strings.HasPrefix(c.Store.DSN, "env:") && !strings.HasPrefix(c.Store.DSN, "file:") {
			return p.errAt("store.dsn", "a postgres connection string is a credential: give it as env:NAME or file:PATH")
		}
		v, err := resolveRef(c.Store.DSN, dir)
		if err != nil {
			return p.errAt("store.dsn", "%v", err)
		}
		c.Store.resolved = v
	default:
		return p.errAt("store.driver", "unknown store driver %q: use sqlite or postgres", c.Store.Driver)
	}
	switch c.Store.Durability {
	case "process", "fsync":
	default:
		return p.errAt("store.durability", "unknown durability %q: use process or fsync", c.Store.Durability)
	}
	r := c.Recorder
	if r.SigningKey == "" || r.SigningKey == "file:" {
		return p.errAt("recorder.signing_key", "is required: the file holding the checkpoint signing key")
	}
	if strings.HasPrefix(r.SigningKey, "env:") {
		return p.errAt("recorder.signing_key", "must name a file (PATH or file:PATH), not an environment variable: the key is generated there on first start")
	}
	if r.CheckpointEvery <= 0 {
		return p.errAt("recorder.checkpoint_every", "must be a positive number of events")
	}
	if r.CheckpointInterval <= 0 {
		return p.errAt("recorder.checkpoint_interval", "must be a positive duration such as 10s")
	}
	if r.Retention < 0 {
		return p.errAt("recorder.retention", "must not be negative (0 keeps everything)")
	}
	names := map[string]bool{}
	for i, s := range r.Sinks {
		key := fmt.Sprintf("recorder.sinks[%d]", i)
		if s.Name == "" {
			// A sink without a name (as the design's example has it) is
			// named by its kind, which names its cursor, while that kind
			// appears once.
			s.Name = s.Kind
			r.Sinks[i].Name = s.Kind
		}
		if names[s.Name] {
			return p.errAt(key+".name", "sink %q is defined twice: give each sink its own name (it names the sink's export cursor)", s.Name)
		}
		names[s.Name] = true
		switch s.Kind {
		case "file":
			if s.Path == "" {
				return p.errAt(key+".path", "is required for a file sink")
			}
		case "syslog":
			u, err := url.Parse(s.Address)
			if err != nil || (u.Scheme != "tcp" && u.Scheme != "tls") || u.Host == "" {
				return p.errAt(key+".address", "want tcp://host:port or tls://host:port")
			}
		case "webhook":
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return p.errAt(key+".url", "want an http(s) URL")
			}
		default:
			return p.errAt(key+".kind", "unknown sink kind %q: use file, syslog or webhook", s.Kind)
		}
	}
	a := c.Approvals
	for _, d := range []struct {
		key string
		v   Duration
	}{{"approvals.hold", a.Hold}, {"approvals.request_ttl", a.RequestTTL}, {"approvals.approval_ttl", a.ApprovalTTL},
		{"approvals.window", a.Window}, {"approvals.max_grant", a.MaxGrant}} {
		if d.v <= 0 {
			return p.errAt(d.key, "must be a positive duration")
		}
	}
	switch a.Consume {
	case "once", "window":
	default:
		return p.errAt("approvals.consume", "unknown mode %q: use once or window", a.Consume)
	}
	sl := a.Slack
	if sl.BotToken.Ref != "" || sl.Channel != "" {
		if sl.BotToken.Ref == "" || sl.Channel == "" {
			return p.errAt("approvals.slack", "bot_token and channel are both required for Slack")
		}
		if sl.SigningSecret.Ref == "" && sl.AppToken.Ref == "" {
			return p.errAt("approvals.slack", "set signing_secret (interactivity over HTTP) or app_token (Socket Mode)")
		}
	}
	return nil
}
