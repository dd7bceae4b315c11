package approvals

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/identity"
)

// AdminHandler serves the approvals admin API that `airlock approvals`
// and `airlock grants` use:
//
//	GET  /admin/approvals[?state=pending[,approved]][&subject=S][&limit=N]
//	GET  /admin/approvals/{id}
//	POST /admin/approvals/{id}/approve   {"reason": "..."}
//	POST /admin/approvals/{id}/deny      {"reason": "..."}
//	GET  /admin/grants[?active=true][&subject=S][&limit=N]
//	POST /admin/grants/{id}/revoke       {"reason": "..."}
//
// The caller is the principal in the request context (the same bearer
// token middleware as /mcp puts it there); without one every route
// answers 401. Deciding follows the same rules as Slack (Via "cli"), and
// callers see only their own requests and grants and those they may
// decide or revoke.
func AdminHandler(svc *Service) http.Handler {
	a := admin{svc}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/approvals", a.list)
	mux.HandleFunc("GET /admin/approvals/{id}", a.status)
	mux.HandleFunc("POST /admin/approvals/{id}/approve", a.decide(true))
	mux.HandleFunc("POST /admin/approvals/{id}/deny", a.decide(false))
	mux.HandleFunc("GET /admin/grants", a.grants)
	mux.HandleFunc("POST /admin/grants/{id}/revoke", a.revoke)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := identity.FromContext(r.Context())
		if !ok || (p.Subject == "" && p.Email == "") {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "authentication required: send a bearer token", Code: "unauthenticated"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

type admin struct{ svc *Service }

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

type reasonBody struct {
	Reason string `json:"reason"`
}

// ApprovalList and GrantList are the admin API's list bodies.
type ApprovalList struct {
	Approvals []RequestView `json:"approvals"`
}

// GrantList is the body of GET /admin/grants.
type GrantList struct {
	Grants []GrantView `json:"grants"`
}

func caller(r *http.Request) Approver {
	p, _ := identity.FromContext(r.Context())
	return ApproverFrom(p, ViaCLI)
}

// canSee: requesters see their requests, approvers what they may decide.
func canSee(a Approver, subject, email string, approvers []string) bool {
	return samePerson(a, subject, email) || eligible(a, approvers)
}

func limitOf(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 || n > 1000 {
		return 200
	}
	return n
}

func (a admin) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var states []string
	for _, s := range strings.Split(q.Get("state"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			states = append(states, s)
		}
	}
	vs, err := a.svc.List(r.Context(), Filter{States: states, Subject: q.Get("subject"), Limit: limitOf(r)})
	if err != nil {
		a.writeErr(w, err)
		return
	}
	me := caller(r)
	out := ApprovalList{Approvals: []RequestView{}}
	for _, v := range vs {
		if canSee(me, v.Subject, v.Email, v.Approvers) {
			out.Approvals = append(out.Approvals, v)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a admin) status(w http.ResponseWriter, r *http.Request) {
	v, err := a.svc.Status(r.Context(), r.PathValue("id"))
	if err == nil && !canSee(caller(r), v.Subject, v.Email, v.Approvers) {
		// Not confirmed to exist, like a request that does not.
		err = refused(v.ID, ErrNotFound, "")
	}
	if err != nil {
		a.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a admin) decide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body reasonBody
		if !readBody(w, r, &body) {
			return
		}
		id := r.PathValue("id")
		if _, err := a.svc.Decide(r.Context(), id, caller(r), approve, body.Reason); err != nil {
			a.writeErr(w, err)
			return
		}
		v, err := a.svc.Status(r.Context(), id)
		if err != nil {
			a.writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (a admin) grants(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	gs, err := a.svc.ListGrants(r.Context(), GrantFilter{Subject: q.Get("subject"), Active: q.Get("active") == "true", Limit: limitOf(r)})
	if err != nil {
		a.writeErr(w, err)
		return
	}
	me := caller(r)
	out := GrantList{Grants: []GrantView{}}
	for _, g := range gs {
		if canSee(me, g.Subject, g.Email, g.Approvers) {
			out.Grants = append(out.Grants, g)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a admin) revoke(w http.ResponseWriter, r *http.Request) {
	var body reasonBody
	if !readBody(w, r, &body) {
		return
	}
	id := r.PathValue("id")
	if err := a.svc.RevokeGrant(r.Context(), id, caller(r), body.Reason); err != nil {
		a.writeErr(w, err)
		return
	}
	g, err := a.svc.Grant(r.Context(), id)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// readBody reads an optional JSON body; an empty body is no reason.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "request body too large", Code: "invalid"})
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return true
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid JSON body: " + err.Error(), Code: "invalid"})
		return false
	}
	return true
}

// errStatus maps refusals to HTTP statuses and stable codes for the CLI.
func errStatus(err error) (int, string) {
	for _, m := range []struct {
		err    error
		status int
		code   string
	}{
		{ErrNotFound, http.StatusNotFound, "not_found"},
		{ErrGrantNotFound, http.StatusNotFound, "not_found"},
		{ErrSelfApproval, http.StatusForbidden, "self_approval"},
		{ErrNotApprover, http.StatusForbidden, "not_approver"},
		{ErrUnknownApprover, http.StatusForbidden, "unknown_approver"},
		{ErrNoApprovers, http.StatusForbidden, "no_approvers"},
		{ErrNotPending, http.StatusConflict, "not_pending"},
		{ErrExpired, http.StatusConflict, "expired"},
		{ErrGrantInactive, http.StatusConflict, "grant_inactive"},
	} {
		if errors.Is(err, m.err) {
			return m.status, m.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

func (a admin) writeErr(w http.ResponseWriter, err error) {
	status, code := errStatus(err)
	msg := Explain(err)
	if status == http.StatusInternalServerError {
		// Store errors are for the logs, not for the caller.
		a.svc.log.Error("approvals: admin API", zap.Error(err))
		msg = "internal error; see the gateway logs"
	}
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
