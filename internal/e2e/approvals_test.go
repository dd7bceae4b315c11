package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/airlockhq/airlock/approvals"
)

var dana = approvals.Approver{Subject: "dana", Email: "dana@example.com", Groups: []string{"approvers"}, Via: approvals.ViaCLI}

func requestID(t *testing.T, text string) string {
	t.Helper()
	m := regexp.MustCompile(`APR-[0-9]+`).FindString(text)
	if m == "" {
		t.Fatalf("no request id in %q", text)
	}
	return m
}

func (e *env) status(t *testing.T, id int) string {
	t.Helper()
	var s string
	if err := e.admin.QueryRow(context.Background(), "SELECT status FROM orders WHERE id = $1", id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestApprovedCallRunsOnceForExactlyItsArguments: a write waits for
// approval; once approved, the same call runs once; another argument or a
// second run needs a new approval.
func TestApprovedCallRunsOnceForExactlyItsArguments(t *testing.T) {
	e := newEnv(t, "30s", "")
	c := e.client(mcp.ProtocolVersion20251125)
	write := map[string]any{"connection": "shop", "sql": "UPDATE orders SET status = 'refunded' WHERE id = $1", "params": []any{3}}
	before := e.status(t, 3)

	res := call(t, c, "sql_query", write)
	if !res.IsError || !strings.Contains(textOf(res), "is pending") {
		t.Fatalf("first call: %s", textOf(res))
	}
	id := requestID(t, textOf(res))
	if e.status(t, 3) != before {
		t.Fatal("the write ran before approval")
	}
	// The requester cannot approve their own request.
	self := approvals.Approver{Subject: "alice@example.com", Email: "alice@example.com", Groups: []string{"approvers"}, Via: approvals.ViaCLI}
	if _, err := e.app.Approvals().Decide(context.Background(), id, self, true, "mine"); err == nil {
		t.Fatal("self-approval accepted")
	}
	if _, err := e.app.Approvals().Decide(context.Background(), id, dana, true, "refund agreed with finance"); err != nil {
		t.Fatal(err)
	}
	st := call(t, c, "approval_status", map[string]any{"request_id": id})
	// The approver's email is personal data: the response masks it.
	if st.IsError || !strings.Contains(textOf(st), "is approved, decided by") || !strings.Contains(textOf(st), "refund agreed") {
		t.Fatalf("approval_status: %s", textOf(st))
	}

	// Another argument is not covered.
	other := map[string]any{"connection": "shop", "sql": "UPDATE orders SET status = 'refunded' WHERE id = $1", "params": []any{4}}
	if res := call(t, c, "sql_query", other); !res.IsError || requestID(t, textOf(res)) == id {
		t.Fatalf("a different argument rode on the approval: %s", textOf(res))
	}
	// The approved call runs, once.
	if res := call(t, c, "sql_query", write); res.IsError {
		t.Fatalf("approved call: %s", textOf(res))
	}
	if e.status(t, 3) != "refunded" {
		t.Fatal("the approved write did not change the row")
	}
	if res := call(t, c, "sql_query", write); !res.IsError || requestID(t, textOf(res)) == id {
		t.Fatalf("the approval was used twice: %s", textOf(res))
	}

	// The trail names who asked and who approved, in clear: masking keeps
	// personal data from agents and from recorded data, not the actors
	// from the audit.
	dir := filepath.Dir(e.cfg.Recorder.SigningKey)
	awaitTrail(t, dir, "the recorded decision does not name the approver and the requester", func(out string) bool {
		out = strings.ReplaceAll(out, " ", "")
		return strings.Contains(out, `"decided_by":"dana@example.com"`) && strings.Contains(out, `"email":"alice@example.com"`)
	}, "search", "--json", "--type", "approval.decided")
}

// TestGrantLetsWritesThroughUntilItExpires: request_access, approved,
// lets writes run without asking until the grant ends.
func TestGrantLetsWritesThroughUntilItExpires(t *testing.T) {
	e := newEnv(t, "30s", "")
	c := e.client(mcp.ProtocolVersion20260728)
	res := call(t, c, "request_access", map[string]any{"connection": "shop", "access": "write", "duration": "3s", "reason": "fix order 7"})
	if res.IsError || !strings.Contains(textOf(res), "pending") {
		t.Fatalf("request_access: %s", textOf(res))
	}
	id := requestID(t, textOf(res))
	if _, err := e.app.Approvals().Decide(context.Background(), id, dana, true, "ok for the fix"); err != nil {
		t.Fatal(err)
	}
	write := map[string]any{"connection": "shop", "sql": "UPDATE orders SET note = 'fixed' WHERE id = 7"}
	if res := call(t, c, "sql_query", write); res.IsError {
		t.Fatalf("write under a grant: %s", textOf(res))
	}
	// DDL still needs its own approval: a grant lifts only the general
	// write rule.
	if res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "DROP TABLE order_items"}); !res.IsError {
		t.Fatal("a grant let DDL through")
	}
	time.Sleep(3500 * time.Millisecond)
	if res := call(t, c, "sql_query", write); !res.IsError || !strings.Contains(textOf(res), "needs approval") {
		t.Fatalf("write after the grant expired: %s", textOf(res))
	}
}
