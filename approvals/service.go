package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/store"
)

// Store is the storage the service needs; store.Store has it.
type Store interface {
	store.Approvals
	store.Grants
}

// Consume modes.
const (
	ConsumeOnce   = "once"   // an approval runs its call once
	ConsumeWindow = "window" // and identical calls for Window after the first
)

// Options configure a Service. Zero values take the defaults in brackets.
type Options struct {
	// Hold is how long Await holds a call [40s]: under the ~45 s after
	// which common MCP clients give up on a tool call.
	Hold time.Duration
	// RequestTTL is how long a request may wait for a decision [1h].
	RequestTTL time.Duration
	// ApprovalTTL is how long an approval waits for its call to come back
	// [15m]: an agent that was told "pending" retries within it.
	ApprovalTTL time.Duration
	// Consume is ConsumeOnce [default] or ConsumeWindow with Window [5m].
	Consume string
	Window  time.Duration
	// DenialMemory is how long a denial answers retries of the same call
	// [10m], so an agent does not re-ask the moment it is told no.
	DenialMemory time.Duration
	// MaxGrant caps the duration of a JIT grant [8h].
	MaxGrant time.Duration
	// ApproverGroups decide requests whose policy named no approvers.
	ApproverGroups []string
	// ProgressEvery is the interval of progress messages while holding
	// [5s]; PollEvery the interval of store reads [500ms], which is how
	// fast a decision taken on another replica is seen.
	ProgressEvery time.Duration
	PollEvery     time.Duration
	// Where describes where requests wait when the notifier does not say
	// ["the airlock approvals queue"].
	Where string
	Log   *zap.Logger
	// OnEvent receives every request, decision, refusal and grant change;
	// connect it to the recorder. It must not block for long.
	OnEvent func(ctx context.Context, kind EventKind, payload any)
	// Now is the clock [time.Now]; tests move it.
	Now func() time.Time
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Hold, 40*time.Second)
	def(&o.RequestTTL, time.Hour)
	def(&o.ApprovalTTL, 15*time.Minute)
	def(&o.Window, 5*time.Minute)
	def(&o.DenialMemory, 10*time.Minute)
	def(&o.MaxGrant, 8*time.Hour)
	def(&o.ProgressEvery, 5*time.Second)
	def(&o.PollEvery, 500*time.Millisecond)
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Where == "" {
		o.Where = "the airlock approvals queue (airlock approvals list)"
	}
}

// Service runs approvals over a store; it is safe for concurrent use.
type Service struct {
	st  Store
	n   Notifier
	o   Options
	log *zap.Logger

	mu      sync.Mutex
	waiters map[int64][]chan struct{}
	bg      sync.WaitGroup
}

// New returns a service. n may be nil: requests are then decided through
// the admin API only.
func New(st Store, n Notifier, o Options) *Service {
	o.defaults()
	if o.Consume != ConsumeWindow {
		if o.Consume != "" && o.Consume != ConsumeOnce {
			o.Log.Warn("approvals: unknown consume mode, using once", zap.String("consume", o.Consume))
		}
		o.Consume = ConsumeOnce
	}
	return &Service{st: st, n: n, o: o, log: o.Log, waiters: map[int64][]chan struct{}{}}
}

// Close waits for announcement updates still in flight.
func (s *Service) Close() { s.bg.Wait() }

// Where says where requests wait, for people.
func (s *Service) Where() string {
	if w, ok := s.n.(interface{ Where() string }); ok && w.Where() != "" {
		return w.Where()
	}
	return s.o.Where
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

func (s *Service) window() time.Duration {
	if s.o.Consume == ConsumeWindow {
		return s.o.Window
	}
	return 0
}

func (s *Service) emit(ctx context.Context, kind EventKind, payload any) {
	if s.o.OnEvent != nil {
		s.o.OnEvent(ctx, kind, payload)
	}
}

// Await is the approve stage: it returns approved when an approval of this
// exact call exists (and uses it up), denied when one was recently
// denied; otherwise it finds or creates the pending request, announces a
// new one, and holds up to Options.Hold, calling progress every
// ProgressEvery. A hold that ends undecided returns pending with the id.
// ctx ending stops the hold (the request stays pending) and returns
// ctx.Err(). If the notifier cannot announce the request the call fails
// closed with an error, and the request stays pending and listable.
func (s *Service) Await(ctx context.Context, req Request, progress func(string)) (Outcome, error) {
	if progress == nil {
		progress = func(string) {}
	}
	sr, err := s.toStore(req)
	if err != nil {
		return Outcome{}, err
	}
	key := sr.Key()
	hold := time.NewTimer(s.o.Hold)
	defer hold.Stop()
	// A request approved while held can be used up by an identical call
	// held at the same time; this call then needs a request of its own.
	for range 3 {
		now := s.now()
		r, err := s.st.ConsumeApproval(ctx, key, now, s.window())
		if err == nil {
			return s.approved(ctx, r), nil
		}
		if !errors.Is(err, store.ErrApprovalNotFound) {
			return Outcome{}, fmt.Errorf("approvals: await: %w", err)
		}
		last, err := s.st.LatestApproval(ctx, key)
		if err == nil && last.State == StateDenied && now.Sub(last.DecidedAt) < s.o.DenialMemory {
			return s.outcome(last), nil
		}
		sr.ExpiresAt = now.Add(s.o.RequestTTL)
		r, created, err := s.st.CreateApproval(ctx, sr, now)
		if err != nil {
			return Outcome{}, fmt.Errorf("approvals: await: %w", err)
		}
		if created {
			s.log.Info("approval requested", zap.String("request", requestID(r.ID)), zap.String("subject", r.Subject),
				zap.String("tool", r.Tool), zap.String("connection", r.Connection))
			s.emit(ctx, EventRequested, s.view(r))
		}
		// A request whose announcement failed earlier is announced again
		// by the next call for it; a fresh one by its creator only.
		if s.n != nil && r.NotifyRef == "" && (created || now.Sub(r.CreatedAt) > 10*time.Second) {
			if err := s.announce(ctx, &r); err != nil {
				return s.outcome(r), err
			}
		}
		o, again, err := s.hold(ctx, r, hold.C, progress)
		if !again {
			return o, err
		}
	}
	return Outcome{}, errors.New("approvals: await: approvals of this call kept being used by identical calls")
}

func (s *Service) announce(ctx context.Context, r *store.ApprovalRequest) error {
	ref, err := s.n.Post(ctx, s.view(*r))
	if err != nil {
		id := requestID(r.ID)
		s.log.Error("approvals: could not announce request", zap.String("request", id), zap.Error(err))
		return fmt.Errorf("approvals: request %s could not be sent to approvers (%w); the call was not run. The request stays pending: an operator can decide it with `airlock approvals approve %s`, and calling again retries the announcement", id, err, id)
	}
	r.NotifyRef = ref
	if err := s.st.SetApprovalRef(ctx, r.ID, ref); err != nil {
		// The message exists; only later updates of it will be missed.
		s.log.Warn("approvals: could not store the announcement reference", zap.String("request", requestID(r.ID)), zap.Error(err))
	}
	return nil
}

// hold waits for r to be decided. again means the approval was used by
// an identical call and this call must ask anew.
func (s *Service) hold(ctx context.Context, r store.ApprovalRequest, deadline <-chan time.Time, progress func(string)) (Outcome, bool, error) {
	id := requestID(r.ID)
	wake := s.subscribe(r.ID)
	defer s.unsubscribe(r.ID, wake)
	poll := time.NewTicker(s.o.PollEvery)
	defer poll.Stop()
	tick := time.NewTicker(s.o.ProgressEvery)
	defer tick.Stop()
	start := s.now()
	where := s.Where()
	failures := 0
	progress(fmt.Sprintf("waiting for approval: request %s is pending with %s", id, where))
	for {
		select {
		case <-ctx.Done():
			return s.outcome(r), false, ctx.Err()
		case <-deadline:
			return s.outcome(r), false, nil
		case <-tick.C:
			progress(fmt.Sprintf("still waiting for approval: request %s is pending with %s (%s so far)",
				id, where, s.now().Sub(start).Round(time.Second)))
			continue
		case <-wake:
		case <-poll.C:
		}
		cur, err := s.st.GetApproval(ctx, r.ID)
		if err != nil {
			if ctx.Err() != nil {
				return s.outcome(r), false, ctx.Err()
			}
			// A blip of the store is ridden out; a store that stays away
			// fails the call (the request is kept for a retry).
			if failures++; failures < 5 {
				s.log.Warn("approvals: polling a request failed", zap.String("request", id), zap.Error(err))
				continue
			}
			return s.outcome(r), false, fmt.Errorf("approvals: await %s: %w", id, err)
		}
		failures = 0
		switch cur.State {
		case StatePending:
			if !s.now().Before(cur.ExpiresAt) {
				cur.State = StateExpired
				return s.outcome(cur), false, nil
			}
			continue
		case StateApproved, StateUsed:
			u, err := s.st.ConsumeApproval(ctx, cur.Key(), s.now(), s.window())
			if errors.Is(err, store.ErrApprovalNotFound) {
				return Outcome{}, true, nil
			}
			if err != nil {
				return s.outcome(cur), false, fmt.Errorf("approvals: await %s: %w", id, err)
			}
			return s.approved(ctx, u), false, nil
		}
		return s.outcome(cur), false, nil
	}
}

func (s *Service) approved(ctx context.Context, r store.ApprovalRequest) Outcome {
	o := s.outcome(r)
	o.State = StateApproved
	if r.GrantID != 0 {
		if g, err := s.st.GetGrant(ctx, r.GrantID); err == nil {
			gv := s.grantView(g)
			o.Grant = &gv
		}
	}
	s.log.Info("approval used", zap.String("request", o.ID), zap.String("subject", r.Subject), zap.String("tool", r.Tool))
	return o
}

func (s *Service) outcome(r store.ApprovalRequest) Outcome {
	return Outcome{State: r.State, ID: requestID(r.ID), DecidedBy: decider(r), DecidedAt: r.DecidedAt,
		Reason: r.DecisionReason, Where: s.Where(), ExpiresAt: r.ExpiresAt}
}

func decider(r store.ApprovalRequest) string {
	if r.DecidedByEmail != "" {
		return r.DecidedByEmail
	}
	return r.DecidedBy
}

// subscribe registers for same-process wake-ups about id; decisions taken
// elsewhere are found by polling.
func (s *Service) subscribe(id int64) chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) unsubscribe(id int64, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiters[id]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(s.waiters, id)
	} else {
		s.waiters[id] = ws
	}
}

func (s *Service) wake(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.waiters[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Service) toStore(req Request) (store.ApprovalRequest, error) {
	if req.Subject == "" || req.Tool == "" || req.ArgsHash == "" {
		return store.ApprovalRequest{}, errors.New("approvals: request needs a subject, a tool and an argument hash")
	}
	r := store.ApprovalRequest{Kind: req.Kind, Subject: req.Subject, Email: req.Email, Groups: req.Groups,
		ClientName: req.ClientName, Tool: req.Tool, Connection: req.Connection, ConnectionLabels: req.ConnectionLabels,
		ArgsHash: req.ArgsHash, ArgsText: req.ArgsText, Reasons: req.Reasons, Approvers: req.Approvers}
	if r.Kind == "" {
		r.Kind = KindCall
	}
	switch r.Kind {
	case KindCall:
	case KindGrant:
		g := req.Grant
		if g == nil || g.Connection == "" || g.Access == "" || g.Duration <= 0 {
			return r, errors.New("approvals: a grant request needs a connection, an access level and a duration")
		}
		r.GrantAccess, r.GrantDuration, r.GrantReason = g.Access, g.Duration, g.Reason
		if r.Connection == "" {
			r.Connection = g.Connection
		}
	default:
		return r, fmt.Errorf("approvals: unknown request kind %q", r.Kind)
	}
	if req.Action != nil {
		b, err := json.Marshal(req.Action)
		if err != nil {
			return r, fmt.Errorf("approvals: action: %w", err)
		}
		r.Action = b
	}
	return r, nil
}

func (s *Service) view(r store.ApprovalRequest) RequestView {
	v := RequestView{ID: requestID(r.ID), Kind: r.Kind, State: r.State, Subject: r.Subject, Email: r.Email,
		Groups: r.Groups, ClientName: r.ClientName, Tool: r.Tool, Connection: r.Connection,
		ConnectionLabels: r.ConnectionLabels, ArgsHash: r.ArgsHash, ArgsText: r.ArgsText, Reasons: r.Reasons,
		Approvers: s.approversOf(r.Approvers), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, DecidedBy: decider(r),
		DecidedVia: r.DecidedVia, DecisionReason: r.DecisionReason, Uses: r.Uses, NotifyRef: r.NotifyRef,
		DecidedAt: tp(r.DecidedAt), ValidUntil: tp(r.ValidUntil), UsedAt: tp(r.UsedAt)}
	if len(r.Action) > 0 {
		var a connectors.Action
		if json.Unmarshal(r.Action, &a) == nil {
			v.Action = &a
		}
	}
	if r.Kind == KindGrant {
		v.Grant = &GrantSpec{Connection: r.Connection, Access: r.GrantAccess, Duration: r.GrantDuration, Reason: r.GrantReason}
	}
	if r.GrantID != 0 {
		v.GrantID = grantID(r.GrantID)
	}
	return v
}

// approversOf is who may decide: the policy's approvers, else the
// configured groups.
func (s *Service) approversOf(list []string) []string {
	if len(list) > 0 {
		return list
	}
	out := make([]string, 0, len(s.o.ApproverGroups))
	for _, g := range s.o.ApproverGroups {
		if !strings.Contains(g, ":") {
			g = "group:" + g
		}
		out = append(out, g)
	}
	return out
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
