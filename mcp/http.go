package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/identity"
)

// Endpoint is the MCP path of the Streamable HTTP transport.
const Endpoint = "/mcp"

// Readiness reports whether the gateway can serve, with details per
// component (connections, policy, ...). An empty map means nothing to say.
type Readiness func(ctx context.Context) (ok bool, detail map[string]string)

// HTTP serves MCP over Streamable HTTP plus health endpoints.
type HTTP struct {
	s         *Server
	cfg       config.Server
	log       *zap.Logger
	streaming *server.StreamableHTTPServer
	srv       *http.Server
	ready     Readiness
	draining  atomic.Bool
}

// NewHTTP builds the HTTP transport. Both protocol eras are served on
// Endpoint: mcp-go decides per request from the version it declares.
func NewHTTP(s *Server, cfg config.Server, ready Readiness, log *zap.Logger) *HTTP {
	h := &HTTP{s: s, cfg: cfg, log: log, ready: ready}
	h.streaming = server.NewStreamableHTTPServer(s.mcp,
		server.WithEndpointPath(Endpoint),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			ctx = context.WithValue(ctx, remoteAddrKey{}, r.RemoteAddr)
			return context.WithValue(ctx, transportKey{}, "http")
		}),
		server.WithHeartbeatInterval(25*time.Second),
		server.WithEventStore(newEventStore()),
		server.WithSessionIdleTTL(30*time.Minute),
	)
	mux := http.NewServeMux()
	var mcpHandler http.Handler = h.streaming
	var a *authenticator
	if s.auth != nil {
		a = newAuthenticator(*s.auth, log)
		mcpHandler = a.wrap(mcpHandler)
		a.routes(mux)
	}
	for _, rt := range s.routes {
		hnd := rt.Handler
		if rt.Authenticated {
			if a != nil {
				hnd = a.wrap(hnd)
			} else {
				hnd = h.sourcePrincipal(hnd)
			}
		}
		mux.Handle(rt.Pattern, h.limitBody(hnd))
	}
	mux.Handle(Endpoint, h.limitBody(mcpHandler))
	mux.HandleFunc("/healthz", h.healthz)
	mux.HandleFunc("/readyz", h.readyz)
	h.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cfg.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	return h
}

// sourcePrincipal puts the gateway's configured principal (a development
// identity) in the request context; without one the request is refused.
func (h *HTTP) sourcePrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.s.gw.Principal(r.Context())
		if err != nil {
			http.Error(w, "no identity", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(identity.WithPrincipal(r.Context(), p)))
	})
}

// Handler returns the HTTP handler (for tests that bring their own server).
func (h *HTTP) Handler() http.Handler { return h.srv.Handler }

// limitBody refuses bodies over the configured size, so one huge request
// cannot exhaust memory.
func (h *HTTP) limitBody(next http.Handler) http.Handler {
	max := h.cfg.MaxRequestBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if max > 0 {
			if r.ContentLength > max {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

func (h *HTTP) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

func (h *HTTP) readyz(w http.ResponseWriter, r *http.Request) {
	ok, detail := true, map[string]string{}
	if h.draining.Load() {
		ok = false
		detail["server"] = "shutting down"
	} else if h.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		ok, detail = h.ready(ctx)
		cancel()
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": ok, "detail": detail})
}

// Serve accepts on ln until ctx is cancelled, then shuts down gracefully:
// stop accepting, let in-flight calls finish within the grace period, then
// cancel what is left.
func (h *HTTP) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- h.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return h.shutdown()
}

func (h *HTTP) shutdown() error {
	h.draining.Store(true)
	grace := h.cfg.ShutdownGrace.D()
	h.log.Info("shutting down", zap.Int64("calls_in_flight", h.s.Active()), zap.Duration("grace", grace))
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()

	done := make(chan error, 1)
	// Shutdown closes the listeners at once and waits for open requests.
	go func() { done <- h.srv.Shutdown(graceCtx) }()
	// Long-lived GET streams would hold Shutdown for the whole grace period.
	h.streaming.CloseSessions(graceCtx)

	callsDone := make(chan struct{})
	go func() { h.s.inflight.Wait(); close(callsDone) }()
	select {
	case <-callsDone:
	case <-graceCtx.Done():
		h.log.Warn("grace period over: cancelling calls still in flight", zap.Int64("calls_in_flight", h.s.Active()))
		h.s.stop()
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	case <-time.After(2 * time.Second):
	}
	_ = h.srv.Close()
	return nil
}
