package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/airlockhq/airlock/approvals"
	aslack "github.com/airlockhq/airlock/approvals/slack"
)

// socketSlack plays Slack's Socket Mode endpoint: it says hello to the
// client that dials in, sends the envelopes the test gives it and hands
// back what the client sends (acknowledgements).
type socketSlack struct {
	conns chan *websocket.Conn
}

func newSocketSlack(t *testing.T) (*socketSlack, string) {
	s := &socketSlack{conns: make(chan *websocket.Conn, 4)}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_ = c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1,
			"connection_info": map[string]any{"app_id": "A1"}, "debug_info": map[string]any{"host": "test"}})
		s.conns <- c
	}))
	t.Cleanup(srv.Close)
	return s, "ws" + strings.TrimPrefix(srv.URL, "http") + "/link"
}

func TestSocketModeDecides(t *testing.T) {
	r := newRig(t, 20*time.Second)
	ss, wsURL := newSocketSlack(t)
	r.slack.mu.Lock()
	r.slack.socketURL = wsURL
	r.slack.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- aslack.RunSocketMode(ctx, "xapp-test", r.api, r.svc, r.dir) }()

	held := r.awaitAsync(deleteReq("DELETE FROM orders"))
	id := r.pendingID(t)
	var conn *websocket.Conn
	select {
	case conn = <-ss.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("the socket mode client did not connect")
	}
	defer conn.Close()
	if open := r.slack.of("apps.connections.open"); len(open) == 0 || open[0].Auth != "Bearer xapp-test" {
		t.Fatalf("apps.connections.open: %+v", open)
	}
	// Self-approval is refused the same way as over HTTP.
	for i, p := range []struct{ env, user string }{{"e1", "U_ALICE"}, {"e2", "U_BOB"}} {
		err := conn.WriteJSON(map[string]any{"envelope_id": p.env, "type": "interactive", "accepts_response_payload": false,
			"payload": json.RawMessage(blockAction(p.user, "airlock.approve/"+id, id))})
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := conn.ReadJSON(&ack); err != nil || ack.EnvelopeID != p.env {
			t.Fatalf("envelope %d: ack %+v, %v", i, ack, err)
		}
	}
	res := recv(t, held)
	if res.err != nil || res.o.State != approvals.StateApproved || res.o.DecidedBy != "bob@example.com" {
		t.Fatalf("held call: %+v, %v", res.o, res.err)
	}
	eph := r.slack.waitFor(t, "chat.postEphemeral", 1)[0]
	if eph.Form.Get("user") != "U_ALICE" || !strings.Contains(eph.Form.Get("text"), "your own request") {
		t.Fatalf("self-approval over socket mode: %v", eph.Form)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunSocketMode: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not stop")
	}
}
