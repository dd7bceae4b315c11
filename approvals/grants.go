package approvals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/policy"
)

// ActiveGrants returns subject's grants in force now, as the policy input
// carries them. A revocation or an expiry applies to the very next call,
// on every replica: PostgreSQL is read every time, and the SQLite store's
// cache is invalidated by any process's write (internal/store).
func (s *Service) ActiveGrants(ctx context.Context, subject string) ([]policy.Grant, error) {
	gs, err := s.st.ActiveGrants(ctx, subject, s.now())
	if err != nil {
		return nil, fmt.Errorf("approvals: active grants: %w", err)
	}
	out := make([]policy.Grant, len(gs))
	for i, g := range gs {
		out[i] = policy.Grant{Connection: g.Connection, Access: g.Access, ExpiresAt: g.ExpiresAt}
	}
	return out, nil
}

// GrantFilter selects grants for ListGrants.
type GrantFilter struct {
	Subject string
	Active  bool // only grants in force now
	Limit   int
}

// ListGrants returns grants, newest first.
func (s *Service) ListGrants(ctx context.Context, f GrantFilter) ([]GrantView, error) {
	sf := store.GrantFilter{Subject: f.Subject, Limit: f.Limit}
	if f.Active {
		sf.ActiveAt = s.now()
	}
	gs, err := s.st.ListGrants(ctx, sf)
	if err != nil {
		return nil, fmt.Errorf("approvals: list grants: %w", err)
	}
	out := make([]GrantView, len(gs))
	for i, g := range gs {
		out[i] = s.grantView(g)
	}
	return out, nil
}

// RevokeGrant ends grant id at once. The grantee may give up their own
// grant; anyone else must be an approver of the request that created it.
func (s *Service) RevokeGrant(ctx context.Context, id string, by Approver, reason string) error {
	n, ok := parseID(id, grantPrefix)
	if !ok {
		return refused(id, ErrGrantNotFound, "grant ids look like GR-3")
	}
	id = grantID(n)
	g, err := s.st.GetGrant(ctx, n)
	if errors.Is(err, store.ErrGrantNotFound) {
		return refused(id, ErrGrantNotFound, "")
	}
	if err != nil {
		return fmt.Errorf("approvals: revoke %s: %w", id, err)
	}
	if by.Subject == "" && by.Email == "" {
		return refused(id, ErrUnknownApprover, "")
	}
	if !samePerson(by, g.Subject, g.Email) {
		list := s.approversOf(g.Approvers)
		if !eligible(by, list) {
			err := refused(id, ErrNotApprover, "revoking it needs the grantee or %s", strings.Join(list, " or "))
			s.emit(ctx, EventRefused, Refusal{RequestID: id, Approver: by.Name(), Via: by.Via, Why: err.Explain(), At: s.now()})
			return err
		}
	}
	g2, err := s.st.RevokeGrant(ctx, n, by.Name(), clip(reason), s.now())
	if errors.Is(err, store.ErrStateChanged) {
		if !g2.RevokedAt.IsZero() {
			return refused(id, ErrGrantInactive, "revoked by %s", g2.RevokedBy)
		}
		return refused(id, ErrGrantInactive, "expired at %s", g2.ExpiresAt.Format(time.RFC3339))
	}
	if err != nil {
		return fmt.Errorf("approvals: revoke %s: %w", id, err)
	}
	s.log.Info("grant revoked", zap.String("grant", id), zap.String("subject", g2.Subject), zap.String("by", by.Name()))
	s.emit(ctx, EventGrantRevoked, s.grantView(g2))
	return nil
}

// Grant returns grant id.
func (s *Service) Grant(ctx context.Context, id string) (GrantView, error) {
	n, ok := parseID(id, grantPrefix)
	if !ok {
		return GrantView{}, refused(id, ErrGrantNotFound, "grant ids look like GR-3")
	}
	g, err := s.st.GetGrant(ctx, n)
	if errors.Is(err, store.ErrGrantNotFound) {
		return GrantView{}, refused(grantID(n), ErrGrantNotFound, "")
	}
	if err != nil {
		return GrantView{}, fmt.Errorf("approvals: grant %s: %w", grantID(n), err)
	}
	return s.grantView(g), nil
}

func (s *Service) grantView(g store.Grant) GrantView {
	return GrantView{ID: grantID(g.ID), RequestID: requestID(g.RequestID), Subject: g.Subject, Email: g.Email,
		Connection: g.Connection, Access: g.Access, Approvers: s.approversOf(g.Approvers), GrantedBy: g.GrantedBy, Reason: g.Reason, CreatedAt: g.CreatedAt,
		ExpiresAt: g.ExpiresAt, Active: g.Active(s.now()), RevokedAt: tp(g.RevokedAt), RevokedBy: g.RevokedBy,
		RevokeReason: g.RevokeReason}
}
