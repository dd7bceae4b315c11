package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/approvals"
)

func TestApproveClickFullLoop(t *testing.T) {
	r := newRig(t, 20*time.Second)
	held := r.awaitAsync(deleteReq("DELETE FROM orders"))
	id := r.pendingID(t)

	post := r.slack.waitFor(t, "chat.postMessage", 1)[0]
	if post.Form.Get("channel") != "C1" {
		t.Fatalf("posted to %q", post.Form.Get("channel"))
	}
	blocks := post.Form.Get("blocks")
	for _, want := range []string{"alice@example.com (alice-sub)", "claude-code", "prod-db (env=prod, team=payments)",
		"`delete` writes `public.orders` *without WHERE*", "`delete_without_where`", "Risk: *high*",
		"```DELETE FROM orders```", "deletes without WHERE on prod need a dba", id, "group:dba",
		`"action_id":"airlock.approve/` + id + `"`, `"action_id":"airlock.deny/` + id + `"`,
		`"action_id":"airlock.approve_reason/` + id + `"`, `"action_id":"airlock.deny_reason/` + id + `"`} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the request message lacks %q:\n%s", want, blocks)
		}
	}

	if code := r.click(t, "U_BOB", "approve", id); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	res := recv(t, held)
	if res.err != nil || res.o.State != approvals.StateApproved || res.o.DecidedBy != "bob@example.com" || res.o.ID != id {
		t.Fatalf("held call: %+v, %v", res.o, res.err)
	}
	up := r.slack.waitFor(t, "chat.update", 1)[0]
	if up.Form.Get("channel") != "C1" || up.Form.Get("ts") != "1700000000.000100" {
		t.Fatalf("updated %s/%s", up.Form.Get("channel"), up.Form.Get("ts"))
	}
	ub := up.Form.Get("blocks")
	if !strings.Contains(ub, `*Approved* by bob@example.com at \u003c!date^`) || strings.Contains(ub, `"type":"actions"`) {
		t.Fatalf("the updated message must show who and when, without buttons:\n%s", ub)
	}
	if n := len(r.slack.of("chat.postEphemeral")); n != 0 {
		t.Fatalf("%d ephemeral messages for a valid approval", n)
	}

	// A changed argument is not covered by the approval: a new request.
	changed := r.awaitAsync(deleteReq("DELETE FROM orders WHERE id > 0"))
	r.slack.waitFor(t, "chat.postMessage", 2)
	id2 := r.pendingID(t)
	if id2 == id {
		t.Fatal("a changed argument reused the approval")
	}
	r.click(t, "U_CAROL", "deny", id2)
	if res := recv(t, changed); res.o.State != approvals.StateDenied || res.o.DecidedBy != "carol@example.com" {
		t.Fatalf("changed call: %+v, %v", res.o, res.err)
	}
}

func TestDenyWithReasonModal(t *testing.T) {
	r := newRig(t, 20*time.Second)
	held := r.awaitAsync(deleteReq("DELETE FROM orders"))
	id := r.pendingID(t)
	if code := r.click(t, "U_CAROL", "deny_reason", id); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	open := r.slack.waitFor(t, "views.open", 1)[0]
	var vo struct {
		TriggerID string `json:"trigger_id"`
		View      struct {
			CallbackID      string `json:"callback_id"`
			PrivateMetadata string `json:"private_metadata"`
		} `json:"view"`
	}
	if err := json.Unmarshal([]byte(open.Body), &vo); err != nil {
		t.Fatalf("views.open body %q: %v", open.Body, err)
	}
	if vo.TriggerID != "1700000002.123.U_CAROL" || vo.View.CallbackID != "airlock.decide" || !strings.Contains(vo.View.PrivateMetadata, id) {
		t.Fatalf("views.open: %+v", vo)
	}
	if v := r.state(t, id); v.State != approvals.StatePending {
		t.Fatalf("opening the modal decided: %s", v.State)
	}
	sub := signed(t, r.handler.URL, viewSubmission("U_CAROL", vo.View.PrivateMetadata, "not during the freeze"), secret, time.Now())
	if code := send(t, sub); code != http.StatusOK {
		t.Fatalf("submission: %d", code)
	}
	res := recv(t, held)
	if res.err != nil || res.o.State != approvals.StateDenied || res.o.DecidedBy != "carol@example.com" || res.o.Reason != "not during the freeze" {
		t.Fatalf("held call: %+v, %v", res.o, res.err)
	}
	ub := r.slack.waitFor(t, "chat.update", 1)[0].Form.Get("blocks")
	if !strings.Contains(ub, "*Denied* by carol@example.com") || !strings.Contains(ub, "not during the freeze") || strings.Contains(ub, `"type":"actions"`) {
		t.Fatalf("updated message:\n%s", ub)
	}
	// Approve with a reason works the same way, on another request.
	held2 := r.awaitAsync(deleteReq("DELETE FROM orders WHERE id = 7"))
	r.slack.waitFor(t, "chat.postMessage", 2)
	id2 := r.pendingID(t)
	r.click(t, "U_BOB", "approve_reason", id2)
	open2 := r.slack.waitFor(t, "views.open", 2)[1]
	_ = json.Unmarshal([]byte(open2.Body), &vo)
	send(t, signed(t, r.handler.URL, viewSubmission("U_BOB", vo.View.PrivateMetadata, "checked the ticket"), secret, time.Now()))
	if res := recv(t, held2); res.o.State != approvals.StateApproved || res.o.Reason != "checked the ticket" {
		t.Fatalf("approve with reason: %+v, %v", res.o, res.err)
	}
}

func TestRefusedInSlack(t *testing.T) {
	r := newRig(t, 300*time.Millisecond)
	if _, err := r.svc.Await(context.Background(), deleteReq("DELETE FROM orders"), nil); err != nil {
		t.Fatal(err)
	}
	id := r.pendingID(t)
	for i, c := range []struct {
		user, verb, want string
	}{
		{"U_ALICE", "approve", "you cannot decide your own request"},
		{"U_ALICE", "approve_reason", "you cannot decide your own request"},
		{"U_DAVE", "approve", "you are not in an approver group of this request: it needs group:dba"},
		{"U_GUEST", "approve", "guest accounts cannot approve"},
		{"U_UNCONF", "deny", "is not confirmed"},
		{"U_BOT", "approve", "bots and apps cannot approve"},
		{"U_NOMAIL", "approve", "cannot see an email address"},
	} {
		if code := r.click(t, c.user, c.verb, id); code != http.StatusOK {
			t.Fatalf("%s: status %d", c.user, code)
		}
		eph := r.slack.waitFor(t, "chat.postEphemeral", i+1)[i]
		if eph.Form.Get("user") != c.user || eph.Form.Get("channel") != "C1" || !strings.Contains(eph.Form.Get("text"), c.want) {
			t.Errorf("%s %s: ephemeral %v, want %q", c.user, c.verb, eph.Form, c.want)
		}
	}
	if v := r.state(t, id); v.State != approvals.StatePending {
		t.Fatalf("after refusals: %s", v.State)
	}
	if n := r.events.count(approvals.EventRefused); n != 7 {
		t.Fatalf("%d refusals recorded, want 7", n)
	}
	if n := len(r.slack.of("views.open")); n != 0 {
		t.Fatal("a refused approver got the reason modal")
	}
}

func TestSignatureChecks(t *testing.T) {
	r := newRig(t, 300*time.Millisecond)
	if _, err := r.svc.Await(context.Background(), deleteReq("DELETE FROM orders"), nil); err != nil {
		t.Fatal(err)
	}
	id := r.pendingID(t)
	payload := blockAction("U_BOB", "airlock.approve/"+id, id)
	bad := []struct {
		name string
		req  func() *http.Request
	}{
		{"wrong secret", func() *http.Request { return signed(t, r.handler.URL, payload, "not-the-secret", time.Now()) }},
		{"stale timestamp", func() *http.Request { return signed(t, r.handler.URL, payload, secret, time.Now().Add(-6*time.Minute)) }},
		{"future timestamp", func() *http.Request { return signed(t, r.handler.URL, payload, secret, time.Now().Add(6*time.Minute)) }},
		{"no signature", func() *http.Request {
			req := signed(t, r.handler.URL, payload, secret, time.Now())
			req.Header.Del("X-Slack-Signature")
			return req
		}},
		{"body changed after signing", func() *http.Request {
			req := signed(t, r.handler.URL, payload, secret, time.Now())
			evil := signed(t, r.handler.URL, blockAction("U_BOB", "airlock.deny/"+id, id), secret, time.Now())
			evil.Header = req.Header.Clone()
			return evil
		}},
	}
	for _, c := range bad {
		if code := send(t, c.req()); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", c.name, code)
		}
	}
	if v := r.state(t, id); v.State != approvals.StatePending || r.events.count(approvals.EventDecided) != 0 {
		t.Fatalf("a rejected request decided: %s", v.State)
	}
	if n := len(r.slack.of("users.info")); n != 0 {
		t.Fatal("a rejected request reached users.info")
	}
}

func TestReplayDoesNotDecideTwice(t *testing.T) {
	r := newRig(t, 300*time.Millisecond)
	if _, err := r.svc.Await(context.Background(), deleteReq("DELETE FROM orders"), nil); err != nil {
		t.Fatal(err)
	}
	id := r.pendingID(t)
	payload := blockAction("U_BOB", "airlock.approve/"+id, id)
	req := signed(t, r.handler.URL, payload, secret, time.Now())
	for range 3 {
		if code := send(t, req); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	// The same click signed again later (a double click, or a replay
	// with a new timestamp) reaches the state machine, which refuses it
	// quietly: same person, same verdict.
	if code := send(t, signed(t, r.handler.URL, payload, secret, time.Now().Add(time.Second))); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	r.slack.waitFor(t, "chat.update", 1)
	time.Sleep(200 * time.Millisecond)
	if n := r.events.count(approvals.EventDecided); n != 1 {
		t.Fatalf("%d decisions recorded, want 1", n)
	}
	if n := len(r.slack.of("chat.update")); n != 1 {
		t.Fatalf("%d message updates, want 1", n)
	}
	if n := len(r.slack.of("chat.postEphemeral")); n != 0 {
		t.Fatalf("the replay was answered with %d ephemeral messages", n)
	}
	// Someone else clicking later is told it is decided.
	r.click(t, "U_CAROL", "deny", id)
	eph := r.slack.waitFor(t, "chat.postEphemeral", 1)[0]
	if !strings.Contains(eph.Form.Get("text"), "already decided") || !strings.Contains(eph.Form.Get("text"), "bob@example.com") {
		t.Fatalf("late click: %q", eph.Form.Get("text"))
	}
	if v := r.state(t, id); v.State != approvals.StateApproved {
		t.Fatalf("state %s", v.State)
	}
}

func TestHoldTimesOutWithPendingHandle(t *testing.T) {
	r := newRig(t, 300*time.Millisecond)
	o, err := r.svc.Await(context.Background(), deleteReq("DELETE FROM orders"), nil)
	if err != nil || o.State != approvals.StatePending || o.Where != "#db-approvals in Slack" {
		t.Fatalf("Await = %+v, %v", o, err)
	}
	if msg := o.Message("sql_query"); !strings.Contains(msg, o.ID) || !strings.Contains(msg, "#db-approvals in Slack") {
		t.Fatalf("message: %s", msg)
	}
	r.click(t, "U_BOB", "approve", o.ID)
	r.slack.waitFor(t, "chat.update", 1)
	// The retry runs at once.
	start := time.Now()
	got, err := r.svc.Await(context.Background(), deleteReq("DELETE FROM orders"), nil)
	if err != nil || got.State != approvals.StateApproved || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("retry: %+v, %v after %s", got, err, time.Since(start))
	}
}

func TestSlackDownFailsClosed(t *testing.T) {
	r := newRig(t, 300*time.Millisecond)
	r.slack.mu.Lock()
	r.slack.postStatus = http.StatusInternalServerError
	r.slack.mu.Unlock()
	o, err := r.svc.Await(context.Background(), deleteReq("DELETE FROM orders"), nil)
	if err == nil || !strings.Contains(err.Error(), "could not be sent to approvers") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("Await with Slack answering 500 = %+v, %v", o, err)
	}
	if n := len(r.slack.of("chat.postMessage")); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	vs, _ := r.svc.List(context.Background(), approvals.Filter{States: []string{approvals.StatePending}})
	if len(vs) != 1 || vs[0].ID != o.ID {
		t.Fatalf("the request is not listable: %+v", vs)
	}
	// Slack gone entirely.
	r.slack.srv.Stop()
	_, err = r.svc.Await(context.Background(), deleteReq("DELETE FROM customers"), nil)
	if err == nil || !strings.Contains(err.Error(), "could not be sent to approvers") {
		t.Fatalf("Await with Slack unreachable: %v", err)
	}
}

func TestRateLimitIsRetried(t *testing.T) {
	r := newRig(t, 300*time.Millisecond)
	r.slack.mu.Lock()
	r.slack.rateLimit = 1
	r.slack.mu.Unlock()
	o, err := r.svc.Await(context.Background(), deleteReq("DELETE FROM orders"), nil)
	if err != nil || o.State != approvals.StatePending {
		t.Fatalf("Await = %+v, %v", o, err)
	}
	if n := len(r.slack.of("chat.postMessage")); n != 2 {
		t.Fatalf("%d posts, want a 429 and a retry", n)
	}
}
