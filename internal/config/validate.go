package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// connName keeps names usable as policy keys, metric labels and in tool
// arguments without quoting.
var connName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validate checks c in file order and returns the first problem. It runs
// after inheritance, so connection limits are checked as they will be used.
func (p *parser) validate(c *Config) error {
	if err := checkListen(c.Listen); err != nil {
		return p.errAt("listen", "%v", err)
	}
	if c.Resource != "" {
		if err := checkResource(c.Resource); err != nil {
			return p.errAt("resource", "%v", err)
		}
	}
	if err := p.checkIdentity(c); err != nil {
		return err
	}
	if err := p.checkLimits("limits", c.Limits); err != nil {
		return err
	}
	s := c.Server
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"server.read_header_timeout", s.ReadHeaderTimeout},
		{"server.read_timeout", s.ReadTimeout},
		{"server.write_timeout", s.WriteTimeout},
		{"server.idle_timeout", s.IdleTimeout},
		{"server.shutdown_grace", s.ShutdownGrace},
	} {
		// Zero would mean "no timeout" to net/http: an open door for slow
		// clients, so it is refused rather than passed through.
		if d.v <= 0 {
			return p.errAt(d.key, "must be a positive duration such as 30s")
		}
	}
	if s.MaxRequestBytes <= 0 {
		return p.errAt("server.max_request_bytes", "must be a positive number of bytes, e.g. 1048576 for 1 MiB")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return p.errAt("log.level", "unknown log level %q: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		return p.errAt("log.format", "unknown log format %q: use json or console", c.Log.Format)
	}
	if err := p.checkPool("pool", c.Pool); err != nil {
		return err
	}
	if c.Policy.EvalTimeout <= 0 {
		return p.errAt("policy.eval_timeout", "must be a positive duration such as 100ms")
	}
	firstLine := map[string]int{}
	for i, conn := range c.Connections {
		if err := p.checkConnection(fmt.Sprintf("connections[%d]", i), conn, firstLine); err != nil {
			return err
		}
	}
	return nil
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid listen address %q: want host:port, e.g. 127.0.0.1:8080 or :8080", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("invalid listen address %q: the port must be a number from 0 to 65535", addr)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Errorf("invalid listen address %q: %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

var hostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)

func validHostname(h string) bool { return hostname.MatchString(h) }

// checkResource wants an absolute URL because clients compare it byte for
// byte with the token audience; a relative one can never match.
func checkResource(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("must be the absolute http(s) URL of the MCP endpoint, e.g. https://airlock.example.com/mcp")
	}
	return nil
}

// checkLimits validates l under prefix. For a connection, the values are
// already merged with the global ones; the messages say how to inherit.
func (p *parser) checkLimits(prefix string, l Limits) error {
	hint := ""
	if prefix != "limits" {
		hint = " (leave it out to use the global value)"
	}
	positives := []struct {
		key string
		ok  bool
		msg string
	}{
		{"max_rows", l.MaxRows > 0, "must be greater than 0"},
		{"max_rows_ceiling", l.MaxRowsCeiling > 0, "must be greater than 0"},
		{"max_result_bytes", l.MaxResultBytes > 0, "must be a positive number of bytes, e.g. 4194304 for 4 MiB"},
		{"statement_timeout", l.StatementTimeout > 0, "must be a positive duration such as 30s"},
		{"call_timeout", l.CallTimeout > 0, "must be a positive duration such as 60s"},
	}
	for _, c := range positives {
		if !c.ok {
			return p.errAt(prefix+"."+c.key, "%s%s", c.msg, hint)
		}
	}
	if l.MaxRows > l.MaxRowsCeiling {
		// Blame whichever of the two this part of the file set.
		key := prefix + ".max_rows"
		if !p.given(key) && p.given(prefix+".max_rows_ceiling") {
			key = prefix + ".max_rows_ceiling"
		}
		return p.errAt(key, "max_rows (%d) is above max_rows_ceiling (%d): a caller could never get the default row count; lower max_rows or raise max_rows_ceiling",
			l.MaxRows, l.MaxRowsCeiling)
	}
	return nil
}

func (p *parser) checkPool(prefix string, pool Pool) error {
	if pool.MaxConns < 1 {
		return p.errAt(prefix+".max_conns", "must be at least 1")
	}
	if pool.MinConns < 0 {
		return p.errAt(prefix+".min_conns", "must not be negative")
	}
	if pool.MinConns > pool.MaxConns {
		key := prefix + ".min_conns"
		if !p.given(key) && p.given(prefix+".max_conns") {
			key = prefix + ".max_conns"
		}
		return p.errAt(key, "min_conns (%d) is above max_conns (%d)", pool.MinConns, pool.MaxConns)
	}
	return nil
}

// checkConnection validates one connection; firstLine remembers names seen
// so far, to point a duplicate at the original.
func (p *parser) checkConnection(prefix string, c Connection, firstLine map[string]int) error {
	switch {
	case c.Name == "":
		return p.errAt(prefix+".name", "missing required key \"name\" (e.g. name: prod-db)")
	case !connName.MatchString(c.Name):
		return p.errAt(prefix+".name", "invalid connection name %q: use 1 to 63 lowercase letters, digits, \"-\" and \"_\", starting with a letter or digit", c.Name)
	}
	if line, dup := firstLine[c.Name]; dup {
		return p.errAt(prefix+".name", "duplicate connection name %q (first defined on line %d)", c.Name, line)
	}
	firstLine[c.Name] = p.lineOf(prefix + ".name")
	if c.Kind == "" {
		return p.errAt(prefix+".kind", "missing required key \"kind\" (e.g. kind: postgres)")
	}
	// Unknown kinds are left to the connectors registry, which knows which
	// kinds this binary was built with.
	if c.Kind == "postgres" && c.DSN.IsZero() {
		return p.errAt(prefix+".dsn", "missing required key \"dsn\" for kind postgres: give a secret reference such as env:PROD_DB_DSN or file:/run/secrets/prod-db-dsn")
	}
	if err := p.checkLimits(prefix+".limits", c.Limits); err != nil {
		return err
	}
	return p.checkPool(prefix+".pool", c.Pool)
}

// checkIdentity validates identity.oidc and fills each issuer's claim
// names with their defaults.
func (p *parser) checkIdentity(c *Config) error {
	seen := map[string]int{}
	for i := range c.Identity.OIDC {
		o := &c.Identity.OIDC[i]
		key := fmt.Sprintf("identity.oidc[%d]", i)
		if o.GroupsClaim == "" {
			o.GroupsClaim = "groups"
		}
		if o.EmailClaim == "" {
			o.EmailClaim = "email"
		}
		if o.Issuer == "" {
			return p.errAt(key+".issuer", "missing required key \"issuer\" (e.g. issuer: https://idp.example.com)")
		}
		if err := checkIssuer(o.Issuer); err != nil {
			return p.errAt(key+".issuer", "%v", err)
		}
		if first, dup := seen[o.Issuer]; dup {
			return p.errAt(key+".issuer", "issuer %q is listed twice (first as identity.oidc[%d])", o.Issuer, first)
		}
		seen[o.Issuer] = i
		for j, a := range o.Audiences {
			if strings.TrimSpace(a) == "" {
				return p.errAt(fmt.Sprintf("%s.audiences[%d]", key, j), "must not be empty")
			}
		}
		if len(o.Audiences) == 0 && c.Resource == "" {
			return p.errAt(key, "no audience to check tokens against: set resource: (our MCP URI, the default audience) or audiences for this issuer")
		}
		for j, s := range o.RequiredScopes {
			if s == "" || strings.ContainsAny(s, " \t\"\\") {
				return p.errAt(fmt.Sprintf("%s.required_scopes[%d]", key, j), "invalid scope %q: one scope per entry, without spaces or quotes", s)
			}
		}
		for g, roles := range o.RoleMap {
			for _, r := range roles {
				if strings.TrimSpace(r) == "" {
					return p.errAt(key+".role_map."+g, "airlock groups must not be empty")
				}
			}
		}
	}
	if c.Identity.TokenFile != "" && len(c.Identity.OIDC) == 0 {
		return p.errAt("identity.token_file", "a token file needs identity.oidc: the issuers its token is verified against")
	}
	return nil
}

// checkIssuer wants https, except on loopback where a local IdP (tests,
// demos) has no certificate; a token's issuer must match byte for byte,
// so a relative or decorated URL could never match.
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("invalid issuer %q: must be an absolute URL without query or fragment, e.g. https://idp.example.com", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("invalid issuer %q: must use https (http is accepted only for loopback issuers)", s)
	}
	return fmt.Errorf("invalid issuer %q: must be an https URL", s)
}
