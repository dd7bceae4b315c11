package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/identity"
)

// TokenVerifier turns a bearer token into the principal it proves. A
// refused token is an *identity.TokenError (identity.ErrInvalidToken or
// identity.ErrInsufficientScope); any other error means the verifier could
// not decide, and the request is refused as unavailable.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (identity.Principal, error)
}

// AuthConfig makes the HTTP transport an OAuth 2.0 resource server as the
// MCP authorization spec describes: every request to Endpoint carries a
// bearer token, and the protected resource metadata (RFC 9728) tells
// clients where to get one.
type AuthConfig struct {
	Verifier TokenVerifier
	// Resource is our canonical URI. When empty it is derived from each
	// request (scheme, host and Endpoint), which is only right when no
	// proxy rewrites the host.
	Resource string
	// AuthorizationServers are the issuers clients may get tokens from.
	AuthorizationServers []string
	// Scopes are the scopes a token needs, advertised in the metadata and
	// in WWW-Authenticate.
	Scopes []string
	// SessionTTL is how long an idle session keeps its principal binding
	// (2h; longer than the transport's session idle time).
	SessionTTL time.Duration
}

// wellKnown is the metadata path of RFC 9728; the resource's path is
// appended to it for a path-qualified resource (/mcp).
const wellKnown = server.WellKnownProtectedResourcePath

// maxSessionBindings bounds the session table; past it, new sessions are
// refused rather than old bindings forgotten (a forgotten binding would
// let the session change hands).
const maxSessionBindings = 100000

// authenticator is the middleware in front of the MCP endpoint.
type authenticator struct {
	cfg      AuthConfig
	log      *zap.Logger
	sessions *sessionTable
}

func newAuthenticator(cfg AuthConfig, log *zap.Logger) *authenticator {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 2 * time.Hour
	}
	return &authenticator{cfg: cfg, log: log.Named("auth"),
		sessions: &sessionTable{m: map[string]binding{}, ttl: cfg.SessionTTL, max: maxSessionBindings, now: time.Now}}
}

// routes registers the metadata documents on mux: the bare well-known
// path and the one qualified by the resource's path (/mcp), which is the
// one WWW-Authenticate points at.
func (a *authenticator) routes(mux *http.ServeMux) {
	mux.HandleFunc(wellKnown, a.metadata)
	paths := map[string]bool{wellKnown + Endpoint: true}
	if a.cfg.Resource != "" {
		paths[server.ProtectedResourceMetadataPath(a.cfg.Resource)] = true
	}
	for p := range paths {
		if p != wellKnown {
			mux.HandleFunc(p, a.metadata)
		}
	}
}

// resource returns our resource URI for r.
func (a *authenticator) resource(r *http.Request) string {
	if a.cfg.Resource != "" {
		return a.cfg.Resource
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Endpoint
}

// metadataURL is where the metadata of resource is served (RFC 9728 §3.1).
func metadataURL(resource string) string {
	u, err := url.Parse(resource)
	if err != nil {
		return resource
	}
	return u.Scheme + "://" + u.Host + server.ProtectedResourceMetadataPath(resource)
}

func (a *authenticator) metadata(w http.ResponseWriter, r *http.Request) {
	// Browser-based clients discover cross-origin.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	doc := server.ProtectedResourceMetadataConfig{
		Resource:               a.resource(r),
		AuthorizationServers:   a.cfg.AuthorizationServers,
		ScopesSupported:        a.cfg.Scopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "airlock",
	}
	w.Header().Set("Content-Type", "application/json")
	// Metadata changes with the configuration; stale copies mislead clients.
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(doc)
}

// wrap authenticates every request to next except CORS preflights, which
// carry no credentials and reach no tool.
func (a *authenticator) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := bearer(r)
		if !ok {
			a.challenge(w, r, http.StatusUnauthorized, "", "", nil)
			return
		}
		p, err := a.cfg.Verifier.Verify(r.Context(), tok)
		if err != nil {
			a.refuse(w, r, err)
			return
		}
		sid := r.Header.Get(server.HeaderKeySessionID)
		if sid != "" {
			switch a.sessions.check(sid, p) {
			case sessionMismatch:
				a.log.Warn("refused: session used by another principal", zap.String("session_id", sid),
					zap.String("subject", p.Subject), zap.String("issuer", p.Issuer))
				writeError(w, http.StatusForbidden, "access_denied",
					"this session was opened by another principal; start a new session")
				return
			case sessionTableFull:
				writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "too many open sessions")
				return
			}
		}
		// The token stops here: nothing behind this point (the MCP server,
		// connectors, targets) ever sees it.
		r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		r.Header = r.Header.Clone()
		r.Header.Del("Authorization")
		if sid == "" && r.Method == http.MethodPost {
			// An initialize answer names the new session: bind it to this
			// principal before the client can use it.
			w = &sessionWriter{ResponseWriter: w, onHeader: func(status int, h http.Header) {
				if id := h.Get(server.HeaderKeySessionID); id != "" && status < 300 {
					a.sessions.check(id, p)
				}
			}}
		}
		next.ServeHTTP(w, r)
		if sid != "" && r.Method == http.MethodDelete {
			a.sessions.drop(sid)
		}
	})
}

// bearer extracts the token of an "Authorization: Bearer" header. Tokens
// in the query or the body are not accepted (RFC 6750 discourages both).
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// refuse answers a token the verifier did not accept.
func (a *authenticator) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var te *identity.TokenError
	switch {
	case errors.As(err, &te) && errors.Is(err, identity.ErrInsufficientScope):
		a.log.Info("refused: insufficient scope", zap.String("reason", te.Reason), zap.String("remote", r.RemoteAddr))
		a.challenge(w, r, http.StatusForbidden, "insufficient_scope", te.Reason, te.Scopes)
	case errors.As(err, &te):
		a.log.Info("refused: invalid token", zap.String("reason", te.Reason), zap.Error(err), zap.String("remote", r.RemoteAddr))
		a.challenge(w, r, http.StatusUnauthorized, "invalid_token", te.Reason, nil)
	default:
		// The verifier could not decide (keys or revocation store
		// unreachable): refuse without blaming the token, so clients retry
		// instead of sending their user through a new login.
		a.log.Error("refused: token could not be verified", zap.Error(err), zap.String("remote", r.RemoteAddr))
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the token could not be verified right now")
	}
}

// challenge answers 401 or 403 with the WWW-Authenticate header of RFC
// 6750 plus the resource_metadata parameter of RFC 9728, which is how MCP
// clients find the authorization server.
func (a *authenticator) challenge(w http.ResponseWriter, r *http.Request, status int, code, desc string, scopes []string) {
	var params []string
	if code != "" {
		params = append(params, `error="`+code+`"`)
		if desc != "" {
			params = append(params, `error_description="`+quoteSafe(desc)+`"`)
		}
	}
	params = append(params, `resource_metadata="`+metadataURL(a.resource(r))+`"`)
	if len(scopes) == 0 {
		scopes = a.cfg.Scopes
	}
	if len(scopes) > 0 {
		params = append(params, `scope="`+quoteSafe(strings.Join(scopes, " "))+`"`)
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	if code == "" {
		code, desc = "invalid_request", "a bearer token is required"
	}
	writeError(w, status, code, desc)
}

// quoteSafe keeps a value inside a quoted-string: the characters allowed
// in error_description by RFC 6750, nothing that ends the quote.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// sessionWriter reports the response status and headers once, before
// they are sent.
type sessionWriter struct {
	http.ResponseWriter
	onHeader func(status int, h http.Header)
	once     sync.Once
}

func (w *sessionWriter) report(status int) {
	w.once.Do(func() { w.onHeader(status, w.Header()) })
}

func (w *sessionWriter) WriteHeader(status int) {
	w.report(status)
	w.ResponseWriter.WriteHeader(status)
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	w.report(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Flush keeps streaming (SSE) working through the wrapper.
func (w *sessionWriter) Flush() {
	w.report(http.StatusOK)
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sessionTable remembers which principal opened each session, so a
// session (2025-11-25 transport) cannot change principal half-way.
type sessionTable struct {
	mu        sync.Mutex
	m         map[string]binding
	ttl       time.Duration
	max       int
	now       func() time.Time
	lastSweep time.Time
}

type binding struct {
	subject, issuer string
	seen            time.Time
}

type sessionVerdict int

const (
	sessionOK sessionVerdict = iota
	sessionMismatch
	sessionTableFull
)

// check binds id to p on first sight and afterwards accepts only p.
func (s *sessionTable) check(id string, p identity.Principal) sessionVerdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.lastSweep) > s.ttl/4 {
		for k, b := range s.m {
			if now.Sub(b.seen) > s.ttl {
				delete(s.m, k)
			}
		}
		s.lastSweep = now
	}
	b, ok := s.m[id]
	switch {
	case ok && (b.subject != p.Subject || b.issuer != p.Issuer):
		return sessionMismatch
	case !ok && len(s.m) >= s.max:
		return sessionTableFull
	}
	s.m[id] = binding{subject: p.Subject, issuer: p.Issuer, seen: now}
	return sessionOK
}

func (s *sessionTable) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}
