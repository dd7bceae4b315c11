package slack

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/airlockhq/airlock/approvals"
)

// Option adjusts Handler and RunSocketMode.
type Option func(*interactions)

// WithLogger sets the operational logger.
func WithLogger(l *zap.Logger) Option { return func(i *interactions) { i.log = l } }

// interactions is the one decision path behind HTTP and Socket Mode.
type interactions struct {
	svc   *approvals.Service
	api   *slack.Client
	users UserDirectory
	log   *zap.Logger
	retry NotifierOptions
}

func newInteractions(svc *approvals.Service, api *slack.Client, users UserDirectory, opts []Option) *interactions {
	i := &interactions{svc: svc, api: api, users: users, log: zap.NewNop(),
		retry: NotifierOptions{Attempts: 2, Backoff: 200 * time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: 2 * time.Second}}
	for _, o := range opts {
		o(i)
	}
	i.retry.Log = i.log
	return i
}

// Handler serves POST /slack/interactions: Slack's interactivity request
// URL. A request whose signature (HMAC-SHA256 of "v0:TS:BODY" with the
// signing secret) does not verify, or whose timestamp is more than five
// minutes off, gets 401 and decides nothing. Valid payloads get 200 even
// when refused: the refusal is told to the user in Slack. The request
// message is updated (outcome, no buttons) by svc's Notifier, so create
// svc with this package's Notifier; decisions taken with the CLI then
// update it too.
func Handler(svc *approvals.Service, signingSecret string, api *slack.Client, users UserDirectory, opts ...Option) http.Handler {
	return &httpHandler{i: newInteractions(svc, api, users, opts), secret: signingSecret, seen: newSeen(6 * time.Minute)}
}

type httpHandler struct {
	i      *interactions
	secret string
	seen   *seen
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	sv, err := slack.NewSecretsVerifier(r.Header, h.secret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		h.i.log.Warn("slack: interaction rejected", zap.String("remote", r.RemoteAddr), zap.Error(err))
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	// The signature covers timestamp and body: the same signature again
	// is the same request again, dropped before any work.
	if h.seen.dup(r.Header.Get("X-Slack-Signature")) {
		w.WriteHeader(http.StatusOK)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	// The decision is finished even if Slack stops waiting for us.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 20*time.Second)
	defer cancel()
	h.i.handle(ctx, cb)
	w.WriteHeader(http.StatusOK)
}

// handle acts on one interaction. It never fails toward Slack: problems
// are explained to the user in an ephemeral message.
func (i *interactions) handle(ctx context.Context, cb slack.InteractionCallback) {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		channel := cb.Channel.ID
		if channel == "" {
			channel = cb.Container.ChannelID
		}
		for _, act := range cb.ActionCallback.BlockActions {
			verb, id, ok := parseActionID(act.ActionID)
			if !ok {
				continue
			}
			switch verb {
			case verbApprove, verbDeny:
				i.decide(ctx, cb.User.ID, channel, id, verb == verbApprove, "")
			case verbApproveWhy, verbDenyWhy:
				i.askReason(ctx, cb, channel, id, verb == verbApproveWhy)
			}
			return // one action per click
		}
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID != modalCallback {
			return
		}
		var m modalMeta
		if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &m); err != nil || m.ID == "" {
			i.log.Warn("slack: modal without its request", zap.Error(err))
			return
		}
		reason := ""
		if cb.View.State != nil {
			reason = cb.View.State.Values[reasonBlock][reasonAction].Value
		}
		i.decide(ctx, cb.User.ID, m.Channel, m.ID, m.Approve, reason)
	}
}

// decide establishes who clicked and asks the service to decide.
func (i *interactions) decide(ctx context.Context, user, channel, id string, approve bool, reason string) {
	a, ok := i.identify(ctx, user, channel, id, approve)
	if !ok {
		return
	}
	_, err := i.svc.Decide(ctx, id, a, approve, reason)
	var re *approvals.RuleError
	switch {
	case err == nil:
		// The service updates the message (who, when, why; no buttons).
	case errors.Is(err, approvals.ErrNotPending) && i.sameDecision(ctx, id, a, approve):
		// A double click or a replay: already done, nothing to say.
	case errors.As(err, &re):
		i.ephemeral(ctx, channel, user, ":no_entry: "+approvals.Explain(err))
	default:
		i.log.Error("slack: decision failed", zap.String("request", id), zap.Error(err))
		i.ephemeral(ctx, channel, user, fmt.Sprintf(":warning: airlock could not record your decision on %s; please try again, or use `airlock approvals`.", id))
	}
}

// askReason opens the reason modal, after checking the rules so nobody
// types a reason only to be refused.
func (i *interactions) askReason(ctx context.Context, cb slack.InteractionCallback, channel, id string, approve bool) {
	a, ok := i.identify(ctx, cb.User.ID, channel, id, approve)
	if !ok {
		return
	}
	if err := i.svc.Check(ctx, id, a); err != nil {
		var re *approvals.RuleError
		if errors.As(err, &re) && !errors.Is(err, approvals.ErrNotPending) {
			i.svc.RecordRefusal(ctx, id, a, approve, re.Explain())
		}
		i.ephemeral(ctx, channel, cb.User.ID, ":no_entry: "+approvals.Explain(err))
		return
	}
	// trigger_id is valid for three seconds: one attempt.
	if _, err := i.api.OpenViewContext(ctx, cb.TriggerID, reasonModal(modalMeta{ID: id, Approve: approve, Channel: channel})); err != nil {
		i.log.Warn("slack: views.open failed", zap.String("request", id), zap.Error(err))
		i.ephemeral(ctx, channel, cb.User.ID, fmt.Sprintf(":warning: the reason dialog for %s could not be opened; try again, or use the Approve / Deny buttons.", id))
	}
}

// identify maps the clicker to an approver; one who cannot be is refused
// in Slack and the attempt is recorded.
func (i *interactions) identify(ctx context.Context, user, channel, id string, approve bool) (approvals.Approver, bool) {
	a, err := identify(ctx, i.api, i.users, user)
	if err == nil {
		return a, true
	}
	why := err.Error()
	if !isUnverified(err) {
		i.log.Error("slack: could not identify a user", zap.String("slack_user", user), zap.Error(err))
		why = "airlock could not look you up in Slack right now"
	}
	i.svc.RecordRefusal(ctx, id, approvals.Approver{Subject: "slack:" + user, Via: approvals.ViaSlack}, approve, why)
	i.ephemeral(ctx, channel, user, fmt.Sprintf(":no_entry: %s: your click was not accepted as a decision: %s.", id, why))
	return approvals.Approver{}, false
}

func (i *interactions) sameDecision(ctx context.Context, id string, a approvals.Approver, approve bool) bool {
	v, err := i.svc.Status(ctx, id)
	if err != nil || !strings.EqualFold(v.DecidedBy, a.Name()) {
		return false
	}
	if approve {
		return v.State == approvals.StateApproved || v.State == approvals.StateUsed
	}
	return v.State == approvals.StateDenied
}

func (i *interactions) ephemeral(ctx context.Context, channel, user, text string) {
	if channel == "" || user == "" {
		i.log.Warn("slack: nowhere to explain a refusal", zap.String("slack_user", user), zap.String("text", text))
		return
	}
	err := retry(ctx, i.retry, "chat.postEphemeral", func() error {
		_, err := i.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		i.log.Warn("slack: chat.postEphemeral failed", zap.String("slack_user", user), zap.Error(err))
	}
}

// seen remembers request signatures for the signature validity window.
type seen struct {
	mu   sync.Mutex
	ttl  time.Duration
	keys map[[32]byte]time.Time
}

func newSeen(ttl time.Duration) *seen { return &seen{ttl: ttl, keys: map[[32]byte]time.Time{}} }

func (s *seen) dup(sig string) bool {
	k := sha256.Sum256([]byte(sig))
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, t := range s.keys {
		if now.Sub(t) > s.ttl {
			delete(s.keys, key)
		}
	}
	if _, ok := s.keys[k]; ok {
		return true
	}
	s.keys[k] = now
	return false
}
