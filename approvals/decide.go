package approvals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/store"
)

// maxReason bounds a decision reason: it is shown in Slack and recorded.
const maxReason = 1000

// clip trims a reason and bounds it, on a character boundary.
func clip(reason string) string {
	reason = strings.TrimSpace(reason)
	if len(reason) <= maxReason {
		return reason
	}
	reason = reason[:maxReason]
	for !utf8.ValidString(reason) {
		reason = reason[:len(reason)-1]
	}
	return reason
}

// Decide approves or denies request id for approver a. The rules, the same
// on every channel: the request must be pending and unexpired, the
// approver must not be the requester (subject or email, any case), and
// must be in one of the request's approver groups. A refusal is a
// *RuleError; refusals other than "already decided" are reported as
// EventRefused. Exactly one of two concurrent decisions wins; the other
// gets ErrNotPending.
func (s *Service) Decide(ctx context.Context, id string, a Approver, approve bool, reason string) (Outcome, error) {
	n, ok := parseID(id, requestPrefix)
	if !ok {
		return Outcome{}, refused(id, ErrNotFound, "request ids look like APR-12")
	}
	id = requestID(n)
	reason = clip(reason)
	r, err := s.st.GetApproval(ctx, n)
	if errors.Is(err, store.ErrApprovalNotFound) {
		return Outcome{}, refused(id, ErrNotFound, "")
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("approvals: decide %s: %w", id, err)
	}
	now := s.now()
	if r.State != StatePending {
		return s.outcome(r), s.notPending(r)
	}
	if !now.Before(r.ExpiresAt) {
		return s.refuse(ctx, r, a, approve, refused(id, ErrExpired, "it expired at %s", r.ExpiresAt.Format(time.RFC3339)))
	}
	if re := s.mayDecide(id, r.Subject, r.Email, r.Approvers, a); re != nil {
		return s.refuse(ctx, r, a, approve, re)
	}
	d := store.ApprovalDecision{State: StateDenied, At: now, By: a.Subject, ByEmail: a.Email, Via: a.Via, Reason: reason}
	if approve {
		d.State = StateApproved
		d.ValidUntil = now.Add(s.o.ApprovalTTL)
		if r.Kind == KindGrant {
			dur := min(r.GrantDuration, s.o.MaxGrant)
			d.Grant = &store.Grant{Subject: r.Subject, Email: r.Email, Connection: r.Connection, Access: r.GrantAccess,
				Approvers: s.approversOf(r.Approvers), GrantedBy: a.Name(), Reason: r.GrantReason, ExpiresAt: now.Add(dur)}
		}
	}
	r2, g, err := s.st.DecideApproval(ctx, n, d)
	if errors.Is(err, store.ErrStateChanged) {
		if r2.State == StateExpired {
			return s.refuse(ctx, r2, a, approve, refused(id, ErrExpired, "it expired at %s", r2.ExpiresAt.Format(time.RFC3339)))
		}
		return s.outcome(r2), s.notPending(r2)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("approvals: decide %s: %w", id, err)
	}
	v := s.view(r2)
	s.log.Info("approval decided", zap.String("request", id), zap.String("decision", r2.State),
		zap.String("approver", a.Name()), zap.String("via", a.Via), zap.String("subject", r2.Subject))
	s.emit(ctx, EventDecided, v)
	o := s.outcome(r2)
	if g != nil {
		gv := s.grantView(*g)
		o.Grant = &gv
		s.emit(ctx, EventGrantCreated, gv)
	}
	s.wake(n)
	s.updateLater(v)
	return o, nil
}

// Check applies Decide's rules without deciding or recording anything:
// channels use it before asking an approver to type a reason.
func (s *Service) Check(ctx context.Context, id string, a Approver) error {
	n, ok := parseID(id, requestPrefix)
	if !ok {
		return refused(id, ErrNotFound, "request ids look like APR-12")
	}
	r, err := s.st.GetApproval(ctx, n)
	if errors.Is(err, store.ErrApprovalNotFound) {
		return refused(requestID(n), ErrNotFound, "")
	}
	if err != nil {
		return fmt.Errorf("approvals: check %s: %w", requestID(n), err)
	}
	if r.State != StatePending {
		return s.notPending(r)
	}
	if !s.now().Before(r.ExpiresAt) {
		return refused(requestID(n), ErrExpired, "it expired at %s", r.ExpiresAt.Format(time.RFC3339))
	}
	if re := s.mayDecide(requestID(n), r.Subject, r.Email, r.Approvers, a); re != nil {
		return re
	}
	return nil
}

func (s *Service) notPending(r store.ApprovalRequest) error {
	id := requestID(r.ID)
	switch {
	case r.State == StateExpired:
		return refused(id, ErrExpired, "it expired at %s", r.ExpiresAt.Format(time.RFC3339))
	case decider(r) != "":
		return refused(id, ErrNotPending, "it is %s (by %s at %s)", r.State, decider(r), r.DecidedAt.Format(time.RFC3339))
	}
	return refused(id, ErrNotPending, "it is %s", r.State)
}

// mayDecide applies the approver rules to a request of (subject, email)
// whose policy named approvers.
func (s *Service) mayDecide(id, subject, email string, approvers []string, a Approver) *RuleError {
	if a.Subject == "" && a.Email == "" {
		return refused(id, ErrUnknownApprover, "")
	}
	if samePerson(a, subject, email) {
		return refused(id, ErrSelfApproval, "ask someone else in %s", strings.Join(s.approversOf(approvers), ", "))
	}
	list := s.approversOf(approvers)
	if len(list) == 0 {
		return refused(id, ErrNoApprovers, "")
	}
	if !eligible(a, list) {
		return refused(id, ErrNotApprover, "it needs %s", strings.Join(list, " or "))
	}
	return nil
}

// samePerson compares every identifier of both sides: subjects are often
// emails, and a person must not approve through a second spelling.
func samePerson(a Approver, subject, email string) bool {
	for _, x := range []string{a.Subject, a.Email} {
		for _, y := range []string{subject, email} {
			if x != "" && y != "" && strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(y)) {
				return true
			}
		}
	}
	return false
}

// eligible reports whether a matches an entry: "group:NAME" (or a bare
// NAME) is a group the approver is in, "user:ID" their subject or email.
func eligible(a Approver, list []string) bool {
	for _, e := range list {
		kind, name, found := strings.Cut(e, ":")
		if !found {
			kind, name = "group", e
		}
		switch kind {
		case "group":
			for _, g := range a.Groups {
				if g == name {
					return true
				}
			}
		case "user", "email":
			if (a.Subject != "" && strings.EqualFold(a.Subject, name)) || (a.Email != "" && strings.EqualFold(a.Email, name)) {
				return true
			}
		}
	}
	return false
}

// refuse reports a decision attempt that broke a rule, and returns it.
func (s *Service) refuse(ctx context.Context, r store.ApprovalRequest, a Approver, approve bool, err *RuleError) (Outcome, error) {
	s.log.Warn("approval refused", zap.String("request", err.ID), zap.String("approver", a.Name()),
		zap.String("via", a.Via), zap.String("why", err.Explain()))
	s.emit(ctx, EventRefused, Refusal{RequestID: err.ID, Approver: a.Name(), Via: a.Via, Approve: approve,
		Why: err.Explain(), At: s.now()})
	return s.outcome(r), err
}

// RecordRefusal reports a decision attempt a channel refused before it
// reached Decide (e.g. a Slack user without a verified email).
func (s *Service) RecordRefusal(ctx context.Context, id string, a Approver, approve bool, why string) {
	if n, ok := parseID(id, requestPrefix); ok {
		id = requestID(n)
	}
	s.log.Warn("approval refused", zap.String("request", id), zap.String("approver", a.Name()),
		zap.String("via", a.Via), zap.String("why", why))
	s.emit(ctx, EventRefused, Refusal{RequestID: id, Approver: a.Name(), Via: a.Via, Approve: approve, Why: why, At: s.now()})
}

// updateLater updates the announcement without holding up the decider
// (Slack wants an answer to an interaction within 3 seconds).
func (s *Service) updateLater(v RequestView) {
	if s.n == nil || v.NotifyRef == "" {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.n.Update(ctx, v); err != nil {
			s.log.Warn("approvals: could not update the announcement", zap.String("request", v.ID), zap.Error(err))
		}
	}()
}

// Status returns request id as it now stands.
func (s *Service) Status(ctx context.Context, id string) (RequestView, error) {
	n, ok := parseID(id, requestPrefix)
	if !ok {
		return RequestView{}, refused(id, ErrNotFound, "request ids look like APR-12")
	}
	r, err := s.st.GetApproval(ctx, n)
	if errors.Is(err, store.ErrApprovalNotFound) {
		return RequestView{}, refused(requestID(n), ErrNotFound, "")
	}
	if err != nil {
		return RequestView{}, fmt.Errorf("approvals: status %s: %w", requestID(n), err)
	}
	if r.State == StatePending && !s.now().Before(r.ExpiresAt) {
		r.State = StateExpired // the sweep records it
	}
	return s.view(r), nil
}

// StatusFor is Status as the approval_status tool answers it: a caller
// sees their own requests and those they may decide; any other id is
// answered as if it did not exist, so ids cannot be probed.
func (s *Service) StatusFor(ctx context.Context, id string, a Approver) (RequestView, error) {
	v, err := s.Status(ctx, id)
	if err != nil {
		return v, err
	}
	if !canSee(a, v.Subject, v.Email, v.Approvers) {
		return RequestView{}, refused(v.ID, ErrNotFound, "")
	}
	return v, nil
}

// Filter selects requests for List. Zero fields do not filter.
type Filter struct {
	States  []string
	Subject string
	Limit   int
}

// List returns requests, newest first. It expires overdue ones first, so
// what it shows is current.
func (s *Service) List(ctx context.Context, f Filter) ([]RequestView, error) {
	if err := s.Sweep(ctx); err != nil {
		return nil, err
	}
	rs, err := s.st.ListApprovals(ctx, store.ApprovalFilter{States: f.States, Subject: f.Subject, Limit: f.Limit})
	if err != nil {
		return nil, fmt.Errorf("approvals: list: %w", err)
	}
	out := make([]RequestView, len(rs))
	for i, r := range rs {
		out[i] = s.view(r)
	}
	return out, nil
}

// Sweep marks overdue pending requests expired, reports them and updates
// their announcements.
func (s *Service) Sweep(ctx context.Context) error {
	rs, err := s.st.ExpireApprovals(ctx, s.now())
	if err != nil {
		return fmt.Errorf("approvals: sweep: %w", err)
	}
	for _, r := range rs {
		v := s.view(r)
		s.emit(ctx, EventExpired, v)
		s.wake(r.ID)
		s.updateLater(v)
	}
	return nil
}

// Run sweeps every interval until ctx ends, so expired requests show as
// expired in Slack even when nobody lists them.
func (s *Service) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("approvals: sweep failed", zap.Error(err))
			}
		}
	}
}

// CancelSubject cancels subject's pending requests, and its approvals not
// used yet, when the identity is revoked; held calls return cancelled.
func (s *Service) CancelSubject(ctx context.Context, subject string) (int, error) {
	rs, err := s.st.CancelApprovals(ctx, subject, "airlock", "the requester's identity was revoked", s.now())
	if err != nil {
		return 0, fmt.Errorf("approvals: cancel %s: %w", subject, err)
	}
	for _, r := range rs {
		v := s.view(r)
		s.emit(ctx, EventCancelled, v)
		s.wake(r.ID)
		s.updateLater(v)
	}
	return len(rs), nil
}
