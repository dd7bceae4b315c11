package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/airlockhq/airlock/approvals"
	aslack "github.com/airlockhq/airlock/approvals/slack"
	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/store"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// apiCall is one Web API request slacktest received.
type apiCall struct {
	Method string
	Form   url.Values
	Body   string
	Auth   string
}

// fakeSlack is slacktest with handlers that record what airlock sends and
// answer like Slack: chat.postMessage, chat.update, chat.postEphemeral,
// users.info (from a table) and views.open.
type fakeSlack struct {
	srv   *slacktest.Server
	mu    sync.Mutex
	calls []apiCall
	users map[string]map[string]any
	// postStatus, when set, is the HTTP status chat.postMessage answers;
	// rateLimit answers that many posts with 429 first.
	postStatus int
	rateLimit  int
	// socketURL is what apps.connections.open hands out.
	socketURL string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{users: map[string]map[string]any{}}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.record(func(w http.ResponseWriter, _ url.Values) {
			f.mu.Lock()
			status, limited := f.postStatus, f.rateLimit > 0
			if limited {
				f.rateLimit--
			}
			f.mu.Unlock()
			switch {
			case limited:
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			case status != 0:
				http.Error(w, "<html>down</html>", status)
			default:
				writeOK(w, map[string]any{"channel": "C1", "ts": "1700000000.000100"})
			}
		}))
		c.Handle("/chat.update", f.record(func(w http.ResponseWriter, v url.Values) {
			writeOK(w, map[string]any{"channel": v.Get("channel"), "ts": v.Get("ts"), "text": ""})
		}))
		c.Handle("/chat.postEphemeral", f.record(func(w http.ResponseWriter, _ url.Values) {
			writeOK(w, map[string]any{"message_ts": "1700000001.000200"})
		}))
		c.Handle("/views.open", f.record(func(w http.ResponseWriter, _ url.Values) {
			writeOK(w, map[string]any{"view": map[string]any{"id": "V1"}})
		}))
		c.Handle("/apps.connections.open", f.record(func(w http.ResponseWriter, _ url.Values) {
			f.mu.Lock()
			u := f.socketURL
			f.mu.Unlock()
			writeOK(w, map[string]any{"url": u})
		}))
		c.Handle("/users.info", f.record(func(w http.ResponseWriter, v url.Values) {
			f.mu.Lock()
			u, ok := f.users[v.Get("user")]
			f.mu.Unlock()
			if !ok {
				_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "user_not_found"})
				return
			}
			writeOK(w, map[string]any{"user": u})
		}))
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func writeOK(w http.ResponseWriter, fields map[string]any) {
	fields["ok"] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(fields)
}

func (f *fakeSlack) record(next func(http.ResponseWriter, url.Values)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		for k, v := range r.URL.Query() {
			form[k] = v
		}
		f.mu.Lock()
		f.calls = append(f.calls, apiCall{Method: strings.TrimPrefix(r.URL.Path, "/"), Form: form, Body: string(b), Auth: r.Header.Get("Authorization")})
		f.mu.Unlock()
		next(w, form)
	}
}

func (f *fakeSlack) of(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// waitFor waits until method was called n times and returns the calls.
func (f *fakeSlack) waitFor(t *testing.T, method string, n int) []apiCall {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cs := f.of(method); len(cs) >= n {
			return cs
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s called %d times, want %d", method, len(f.of(method)), n)
	return nil
}

// addUser registers a workspace member; mod adjusts the users.info object.
func (f *fakeSlack) addUser(id, email string, mod ...func(map[string]any)) {
	u := map[string]any{"id": id, "team_id": "T1", "name": strings.Split(email, "@")[0], "deleted": false,
		"is_bot": false, "is_restricted": false, "is_ultra_restricted": false, "is_email_confirmed": true,
		"profile": map[string]any{"email": email, "real_name": email}}
	for _, m := range mod {
		m(u)
	}
	f.mu.Lock()
	f.users[id] = u
	f.mu.Unlock()
}

// rig is one test's gateway side: store, service, notifier and handler.
type rig struct {
	api     *slack.Client
	dir     aslack.UserDirectory
	slack   *fakeSlack
	svc     *approvals.Service
	handler *httptest.Server
	events  *events
}

type events struct {
	mu  sync.Mutex
	all []approvals.EventKind
}

func (e *events) add(_ context.Context, k approvals.EventKind, _ any) {
	e.mu.Lock()
	e.all = append(e.all, k)
	e.mu.Unlock()
}

func (e *events) count(k approvals.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, x := range e.all {
		if x == k {
			n++
		}
	}
	return n
}

func newRig(t *testing.T, hold time.Duration) *rig {
	f := newFakeSlack(t)
	f.addUser("U_ALICE", "alice@example.com")
	f.addUser("U_BOB", "bob@example.com")
	f.addUser("U_CAROL", "Carol@Example.com")
	f.addUser("U_DAVE", "dave@example.com")
	f.addUser("U_GUEST", "guest@example.com", func(u map[string]any) { u["is_restricted"] = true })
	f.addUser("U_UNCONF", "unconfirmed@example.com", func(u map[string]any) { u["is_email_confirmed"] = false })
	f.addUser("U_BOT", "bot@example.com", func(u map[string]any) { u["is_bot"] = true })
	f.addUser("U_NOMAIL", "", func(u map[string]any) { u["profile"] = map[string]any{"real_name": "no mail"} })
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "airlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	api := slack.New("xoxb-test", slack.OptionAPIURL(f.srv.GetAPIURL()))
	n := aslack.NewNotifier(api, "C1", aslack.NotifierOptions{ChannelName: "#db-approvals", Backoff: 10 * time.Millisecond, Attempts: 3})
	ev := &events{}
	svc := approvals.New(st, n, approvals.Options{Hold: hold, PollEvery: 20 * time.Millisecond, ProgressEvery: 100 * time.Millisecond, OnEvent: ev.add})
	t.Cleanup(svc.Close)
	dir := aslack.StaticDirectory{"alice@example.com": {"dba"}, "bob@example.com": {"dba"}, "carol@example.com": {"dba"},
		"guest@example.com": {"dba"}, "unconfirmed@example.com": {"dba"}, "bot@example.com": {"dba"}}
	h := httptest.NewServer(aslack.Handler(svc, secret, api, dir))
	t.Cleanup(h.Close)
	return &rig{api: api, dir: dir, slack: f, svc: svc, handler: h, events: ev}
}

func deleteReq(sql string) approvals.Request {
	args := map[string]any{"connection": "prod-db", "sql": sql}
	return approvals.Request{Subject: "alice-sub", Email: "alice@example.com", Groups: []string{"dev"}, ClientName: "claude-code",
		Tool: "sql_query", Connection: "prod-db", ConnectionLabels: map[string]string{"env": "prod", "team": "payments"},
		ArgsHash: approvals.ArgsHash("sql_query", "prod-db", args), ArgsText: sql,
		Action: &connectors.Action{Risk: connectors.RiskHigh, Flags: []string{"delete_without_where"},
			Statements: []connectors.Statement{{Kind: "delete", TablesWritten: []string{"public.orders"}}}},
		Reasons: []string{"deletes without WHERE on prod need a dba"}, Approvers: []string{"group:dba"}}
}

type result struct {
	o   approvals.Outcome
	err error
}

func (r *rig) awaitAsync(req approvals.Request) <-chan result {
	c := make(chan result, 1)
	go func() { o, err := r.svc.Await(context.Background(), req, nil); c <- result{o, err} }()
	return c
}

// blockAction is the block_actions payload Slack sends when user clicks
// the button actionID on the request message.
func blockAction(user, actionID, value string) string {
	p := map[string]any{
		"type": "block_actions", "api_app_id": "A1", "token": "legacy-verification-token",
		"team":         map[string]any{"id": "T1", "domain": "example"},
		"user":         map[string]any{"id": user, "username": strings.ToLower(strings.TrimPrefix(user, "U_")), "team_id": "T1"},
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1", "is_ephemeral": false},
		"trigger_id":   "1700000002.123." + user,
		"channel":      map[string]any{"id": "C1", "name": "db-approvals"},
		"message":      map[string]any{"type": "message", "ts": "1700000000.000100", "text": "approval"},
		"response_url": "https://hooks.slack.com/actions/T1/1/x",
		"state":        map[string]any{"values": map[string]any{}},
		"actions": []any{map[string]any{"type": "button", "action_id": actionID, "block_id": "airlock.actions/" + value,
			"value": value, "text": map[string]any{"type": "plain_text", "text": "x"}, "action_ts": "1700000002.000300"}},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// viewSubmission is the payload of the reason modal being submitted.
func viewSubmission(user, privateMetadata, reason string) string {
	p := map[string]any{
		"type": "view_submission", "api_app_id": "A1", "token": "legacy-verification-token",
		"team":       map[string]any{"id": "T1", "domain": "example"},
		"user":       map[string]any{"id": user, "team_id": "T1"},
		"trigger_id": "1700000003.123." + user,
		"view": map[string]any{"id": "V1", "team_id": "T1", "type": "modal", "callback_id": "airlock.decide",
			"private_metadata": privateMetadata, "hash": "1700000003.abc",
			"state": map[string]any{"values": map[string]any{"reason": map[string]any{"reason": map[string]any{
				"type": "plain_text_input", "value": reason}}}}},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// signed builds the request Slack sends: form body "payload=...", signed
// with HMAC-SHA256 over "v0:TIMESTAMP:BODY".
func signed(t *testing.T, url, payload, key string, ts time.Time) *http.Request {
	t.Helper()
	body := "payload=" + queryEscape(payload)
	req, err := http.NewRequest(http.MethodPost, url+"/slack/interactions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

func queryEscape(s string) string { return url.QueryEscape(s) }

func send(t *testing.T, req *http.Request) int {
	t.Helper()
	// A fresh body each time, so a request can be replayed byte for byte.
	body, _ := req.GetBody()
	r2 := req.Clone(context.Background())
	r2.Body = body
	resp, err := http.DefaultClient.Do(r2)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *rig) click(t *testing.T, user, verb, id string) int {
	return send(t, signed(t, r.handler.URL, blockAction(user, "airlock."+verb+"/"+id, id), secret, time.Now()))
}

func (r *rig) pendingID(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		vs, err := r.svc.List(context.Background(), approvals.Filter{States: []string{approvals.StatePending}})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) > 0 && vs[0].NotifyRef != "" {
			return vs[0].ID
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no announced pending request")
	return ""
}

func (r *rig) state(t *testing.T, id string) approvals.RequestView {
	t.Helper()
	v, err := r.svc.Status(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func recv(t *testing.T, c <-chan result) result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Await did not return")
	}
	return result{}
}
