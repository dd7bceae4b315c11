package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/approvals"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/store"
)

// adminGateway serves the approvals admin API behind a stand-in for the
// bearer-token middleware: each token is one principal.
func apTestGateway(t *testing.T) (*approvals.Service, string) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "airlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := approvals.New(st, nil, approvals.Options{Hold: 50 * time.Millisecond, PollEvery: 10 * time.Millisecond})
	people := map[string]identity.Principal{
		"tok-alice": {Subject: "alice-sub", Email: "alice@example.com", Groups: []string{"dev"}, Verified: true},
		"tok-bob":   {Subject: "bob-sub", Email: "bob@example.com", Groups: []string{"dba"}, Verified: true},
	}
	h := approvals.AdminHandler(svc)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := people[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; ok {
			r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return svc, srv.URL
}

func apTestRequest(t *testing.T, svc *approvals.Service, sql string, grant *approvals.GrantSpec) string {
	t.Helper()
	req := approvals.Request{Subject: "alice-sub", Email: "alice@example.com", Tool: "sql_query", Connection: "prod-db",
		ArgsHash: approvals.ArgsHash("sql_query", "prod-db", map[string]any{"sql": sql}), ArgsText: sql,
		Reasons: []string{"writes need approval"}, Approvers: []string{"group:dba"}}
	if grant != nil {
		req.Kind, req.Grant, req.Tool = approvals.KindGrant, grant, "request_access"
	}
	o, err := svc.Await(context.Background(), req, nil)
	if err != nil || o.State != approvals.StatePending {
		t.Fatalf("Await = %+v, %v", o, err)
	}
	return o.ID
}

func apRunCLI(t *testing.T, f func([]string, *bytes.Buffer, *bytes.Buffer) int, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := f(args, &out, &errb)
	return code, out.String(), errb.String()
}

func apApprovalsCLI(args []string, out, errb *bytes.Buffer) int { return cmdApprovals(args, out, errb) }
func apGrantsCLI(args []string, out, errb *bytes.Buffer) int    { return cmdGrants(args, out, errb) }

func TestApprovalsCLI(t *testing.T) {
	svc, url := apTestGateway(t)
	id := apTestRequest(t, svc, "DELETE FROM orders", nil)
	gw := []string{"--gateway", url}

	code, out, errs := apRunCLI(t, apApprovalsCLI, append([]string{"list"}, append(gw, "--token", "tok-bob")...)...)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "pending") || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("list: %d %q %q", code, out, errs)
	}
	t.Setenv("AIRLOCK_TOKEN", "tok-alice")
	if code, _, errs := apRunCLI(t, apApprovalsCLI, append([]string{"approve", id}, gw...)...); code != exitFailure || !strings.Contains(errs, "your own request") {
		t.Fatalf("self approval: %d %q", code, errs)
	}
	if code, _, errs := apRunCLI(t, apApprovalsCLI, append([]string{"approve", id, "--token", "nobody"}, gw...)...); code != exitFailure || !strings.Contains(errs, "authentication required") {
		t.Fatalf("bad token: %d %q", code, errs)
	}
	// Flags after the id, the way people type them.
	code, out, errs = apRunCLI(t, apApprovalsCLI, "deny", id, "--reason", "add a WHERE", "--token", "tok-bob", "--gateway", url)
	if code != 0 || !strings.Contains(out, id+" denied by bob@example.com") {
		t.Fatalf("deny: %d %q %q", code, out, errs)
	}
	code, out, _ = apRunCLI(t, apApprovalsCLI, append([]string{"list", "--state", "all", "--json", "--token", "tok-bob"}, gw...)...)
	var l approvals.ApprovalList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Approvals) != 1 || l.Approvals[0].DecisionReason != "add a WHERE" {
		t.Fatalf("list --json: %d %s", code, out)
	}
	if code, _, errs := apRunCLI(t, apApprovalsCLI, append([]string{"approve", id, "--token", "tok-bob"}, gw...)...); code != exitFailure || !strings.Contains(errs, "already decided") {
		t.Fatalf("decide twice: %d %q", code, errs)
	}
	if code, out, _ := apRunCLI(t, apApprovalsCLI, append([]string{"show", id, "--token", "tok-bob"}, gw...)...); code != 0 || !strings.Contains(out, "DELETE FROM orders") {
		t.Fatalf("show: %d %q", code, out)
	}
	// No token anywhere (and no login): a usage error that says what to do.
	t.Setenv("AIRLOCK_TOKEN", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if code, _, errs := apRunCLI(t, apApprovalsCLI, append([]string{"list"}, gw...)...); code != exitUsage || !strings.Contains(errs, "airlock login") {
		t.Fatalf("no token: %d %q", code, errs)
	}
	if code, _, _ := apRunCLI(t, apApprovalsCLI, "frobnicate"); code != exitUsage {
		t.Fatalf("unknown subcommand: %d", code)
	}
}

func TestGrantsCLI(t *testing.T) {
	svc, url := apTestGateway(t)
	id := apTestRequest(t, svc, "", &approvals.GrantSpec{Connection: "prod-db", Access: "write", Duration: time.Hour, Reason: "INC-7"})
	gw := []string{"--gateway", url, "--token", "tok-bob"}
	code, out, errs := apRunCLI(t, apApprovalsCLI, append([]string{"approve", id, "--reason", "ok"}, gw...)...)
	if code != 0 || !strings.Contains(out, "grant GR-1 created") {
		t.Fatalf("approve: %d %q %q", code, out, errs)
	}
	code, out, _ = apRunCLI(t, apGrantsCLI, append([]string{"list"}, gw...)...)
	if code != 0 || !strings.Contains(out, "GR-1") || !strings.Contains(out, "write") || !strings.Contains(out, "prod-db") {
		t.Fatalf("grants list: %d %q", code, out)
	}
	code, out, errs = apRunCLI(t, apGrantsCLI, append([]string{"revoke", "GR-1", "--reason", "done"}, gw...)...)
	if code != 0 || !strings.Contains(out, "GR-1 revoked") {
		t.Fatalf("revoke: %d %q %q", code, out, errs)
	}
	if gs, _ := svc.ActiveGrants(context.Background(), "alice-sub"); len(gs) != 0 {
		t.Fatal("revoked from the CLI but still active")
	}
	if code, out, _ := apRunCLI(t, apGrantsCLI, append([]string{"list"}, gw...)...); code != 0 || !strings.Contains(out, "no grants") {
		t.Fatalf("active list after revoke: %q", out)
	}
	if code, out, _ := apRunCLI(t, apGrantsCLI, append([]string{"list", "--all"}, gw...)...); code != 0 || !strings.Contains(out, "revoked by bob@example.com") {
		t.Fatalf("list --all: %q", out)
	}
}
