package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/airlockhq/airlock/approvals"
)

// NotifierOptions tune a Notifier. Zero values take the defaults in
// brackets.
type NotifierOptions struct {
	// Attempts is how many times a Web API call is tried [4]; Backoff the
	// first wait between tries [500ms], doubled each time up to MaxBackoff
	// [8s]. A rate limit waits what Slack says, unless that is more than
	// MaxRetryAfter [20s]: the call would time out anyway, so it fails.
	Attempts      int
	Backoff       time.Duration
	MaxBackoff    time.Duration
	MaxRetryAfter time.Duration
	// ChannelName is how Where names the channel when channel is an id
	// ("#db-approvals").
	ChannelName string
	Log         *zap.Logger
}

// Notifier posts approval requests to one Slack channel and updates them.
// It implements approvals.Notifier.
type Notifier struct {
	api     *slack.Client
	channel string
	o       NotifierOptions
}

var _ approvals.Notifier = (*Notifier)(nil)

// NewNotifier returns a notifier posting to channel (an id such as
// C0123 or a name such as #db-approvals) with api, a bot-token client
// (chat:write; users:read and users:read.email for the handler).
func NewNotifier(api *slack.Client, channel string, o NotifierOptions) *Notifier {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 8 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 20 * time.Second
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Notifier{api: api, channel: channel, o: o}
}

// Where names the channel for agents and people: "#db-approvals in Slack".
func (n *Notifier) Where() string {
	name := n.o.ChannelName
	if name == "" {
		name = n.channel
		if !strings.HasPrefix(name, "#") && !looksLikeID(name) {
			name = "#" + name
		}
	}
	return name + " in Slack"
}

func looksLikeID(s string) bool {
	return len(s) >= 9 && strings.ToUpper(s) == s && strings.ContainsAny(s[:1], "CGD")
}

// Post implements approvals.Notifier: the request with its buttons. The
// reference it returns is "CHANNEL_ID/TS", what chat.update needs.
func (n *Notifier) Post(ctx context.Context, v approvals.RequestView) (string, error) {
	var ch, ts string
	err := n.retry(ctx, "chat.postMessage", func() error {
		var err error
		ch, ts, err = n.api.PostMessageContext(ctx, n.channel,
			slack.MsgOptionText(fallbackText(v), false), slack.MsgOptionBlocks(requestBlocks(v)...))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("slack: post %s to %s: %w", v.ID, n.channel, err)
	}
	return ch + "/" + ts, nil
}

// Update implements approvals.Notifier: the message shows the outcome,
// who decided, when and why, and loses its buttons.
func (n *Notifier) Update(ctx context.Context, v approvals.RequestView) error {
	ch, ts, ok := strings.Cut(v.NotifyRef, "/")
	if !ok || ch == "" || ts == "" {
		return fmt.Errorf("slack: update %s: no message reference", v.ID)
	}
	err := n.retry(ctx, "chat.update", func() error {
		_, _, _, err := n.api.UpdateMessageContext(ctx, ch, ts,
			slack.MsgOptionText(fallbackText(v), false), slack.MsgOptionBlocks(requestBlocks(v)...))
		return err
	})
	if err != nil {
		return fmt.Errorf("slack: update %s: %w", v.ID, err)
	}
	return nil
}

// retry calls fn until it succeeds, fails for good, or runs out of
// attempts, waiting with exponential backoff or as a rate limit says.
func (n *Notifier) retry(ctx context.Context, method string, fn func() error) error {
	return retry(ctx, n.o, method, fn)
}

func retry(ctx context.Context, o NotifierOptions, method string, fn func() error) error {
	wait := o.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil {
			return nil
		}
		d, ok := retryable(err, wait)
		if !ok {
			return err
		}
		if attempt >= o.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		if d > o.MaxRetryAfter {
			return fmt.Errorf("%w (Slack asks to wait %s, longer than a call can be held)", err, d)
		}
		o.Log.Warn("slack: retrying", zap.String("method", method), zap.Int("attempt", attempt),
			zap.Duration("wait", d), zap.Error(err))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, o.MaxBackoff)
	}
}

// retryable says whether err is transient and how long to wait: rate
// limits say so themselves; 5xx, network errors and Slack's own transient
// error codes back off; anything else (bad token, unknown channel, app
// not in the channel) will not get better by trying again.
func retryable(err error, backoff time.Duration) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return max(rl.RetryAfter, time.Second), true
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return backoff, sc.Code >= 500 || sc.Code == 429
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "request_timeout", "service_unavailable":
			return backoff, true
		}
		return 0, false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return backoff, true
	}
	return 0, false
}
