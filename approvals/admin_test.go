package approvals_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/approvals"
	"github.com/airlockhq/airlock/internal/identity"
)

// adminServer serves AdminHandler behind a stand-in for the bearer-token
// middleware: the token is the name of a principal.
func adminServer(t *testing.T, s *approvals.Service) *httptest.Server {
	people := map[string]approvals.Approver{"alice": alice, "bob": bob, "carol": carol, "dave": dave}
	h := approvals.AdminHandler(s)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := people[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; ok {
			r = r.WithContext(identity.WithPrincipal(r.Context(), identity.Principal{Subject: a.Subject, Email: a.Email, Groups: a.Groups, Verified: true}))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, who, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+who)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestAdminAPI(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.service(nil)
		srv := adminServer(t, s)
		o := pending(t, s, deleteReq("DELETE FROM orders"))
		g := pending(t, s, accessReq("prod-db", "write", time.Hour, "hotfix"))

		if code := call(t, srv, "", "GET", "/admin/approvals", "", nil); code != http.StatusUnauthorized {
			t.Fatalf("no principal: %d", code)
		}
		if code := call(t, srv, "", "POST", "/admin/approvals/"+o.ID+"/approve", "", nil); code != http.StatusUnauthorized {
			t.Fatalf("no principal, approve: %d", code)
		}
		// Requesters see their own, approvers what they may decide, others nothing.
		for who, want := range map[string]int{"alice": 2, "bob": 2, "dave": 0} {
			var l approvals.ApprovalList
			if code := call(t, srv, who, "GET", "/admin/approvals?state=pending", "", &l); code != 200 || len(l.Approvals) != want {
				t.Errorf("%s lists %d (%d), want %d", who, len(l.Approvals), code, want)
			}
		}
		if code := call(t, srv, "dave", "GET", "/admin/approvals/"+o.ID, "", nil); code != http.StatusNotFound {
			t.Errorf("dave reads a request he cannot decide: %d", code)
		}
		var ae struct{ Error, Code string }
		if code := call(t, srv, "alice", "POST", "/admin/approvals/"+o.ID+"/approve", `{"reason":"mine"}`, &ae); code != http.StatusForbidden || ae.Code != "self_approval" {
			t.Errorf("self approval: %d %+v", code, ae)
		}
		if code := call(t, srv, "dave", "POST", "/admin/approvals/"+o.ID+"/approve", "", &ae); code != http.StatusForbidden || ae.Code != "not_approver" || !strings.Contains(ae.Error, "group:dba") {
			t.Errorf("non-approver: %d %+v", code, ae)
		}
		var v approvals.RequestView
		if code := call(t, srv, "bob", "POST", "/admin/approvals/"+o.ID+"/deny", `{"reason":"use a WHERE"}`, &v); code != 200 || v.State != approvals.StateDenied || v.DecidedVia != approvals.ViaCLI || v.DecisionReason != "use a WHERE" {
			t.Fatalf("deny: %d %+v", code, v)
		}
		if code := call(t, srv, "carol", "POST", "/admin/approvals/"+o.ID+"/approve", "", &ae); code != http.StatusConflict || ae.Code != "not_pending" {
			t.Errorf("decided twice: %d %+v", code, ae)
		}
		if code := call(t, srv, "bob", "POST", "/admin/approvals/APR-4242/approve", "", &ae); code != http.StatusNotFound {
			t.Errorf("unknown: %d", code)
		}
		if code := call(t, srv, "bob", "POST", "/admin/approvals/"+g.ID+"/approve", "{", &ae); code != http.StatusBadRequest {
			t.Errorf("bad JSON: %d", code)
		}
		if code := call(t, srv, "bob", "POST", "/admin/approvals/"+g.ID+"/approve", "", &v); code != 200 || v.GrantID == "" {
			t.Fatalf("approve grant: %d %+v", code, v)
		}
		var gl approvals.GrantList
		if code := call(t, srv, "alice", "GET", "/admin/grants?active=true", "", &gl); code != 200 || len(gl.Grants) != 1 {
			t.Fatalf("grants: %d %+v", code, gl)
		}
		if code := call(t, srv, "dave", "POST", "/admin/grants/"+v.GrantID+"/revoke", "", &ae); code != http.StatusForbidden {
			t.Errorf("dave revokes: %d", code)
		}
		var gv approvals.GrantView
		if code := call(t, srv, "carol", "POST", "/admin/grants/"+v.GrantID+"/revoke", `{"reason":"done"}`, &gv); code != 200 || gv.Active || gv.RevokedBy != carol.Email {
			t.Fatalf("revoke: %d %+v", code, gv)
		}
		if n, _ := s.ActiveGrants(context.Background(), alice.Subject); len(n) != 0 {
			t.Fatal("revoked through the API but still active")
		}
	})
}

func TestStatusFor(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil)
		o := pending(t, s, deleteReq("DELETE FROM orders"))
		for _, c := range []struct {
			a  approvals.Approver
			ok bool
		}{{alice, true}, {bob, true}, {dave, false}} {
			v, err := s.StatusFor(ctx, o.ID, c.a)
			if c.ok && (err != nil || v.ID != o.ID) || !c.ok && !errors.Is(err, approvals.ErrNotFound) {
				t.Errorf("%s: %+v, %v", c.a.Email, v, err)
			}
		}
	})
}
