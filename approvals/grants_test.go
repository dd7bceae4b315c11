package approvals_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/airlockhq/airlock/approvals"
)

func accessReq(conn, access string, d time.Duration, reason string) approvals.Request {
	args := map[string]any{"connection": conn, "access": access, "duration": d.String(), "reason": reason}
	return approvals.Request{Subject: alice.Subject, Email: alice.Email, Groups: alice.Groups, Tool: "request_access",
		Connection: conn, ArgsHash: approvals.ArgsHash("request_access", conn, args), ArgsText: reason,
		Reasons: []string{"write access to prod needs a dba"}, Approvers: []string{"group:dba"}, Kind: approvals.KindGrant,
		Grant: &approvals.GrantSpec{Connection: conn, Access: access, Duration: d, Reason: reason}}
}

func activeGrants(t *testing.T, s *approvals.Service, subject string) int {
	t.Helper()
	gs, err := s.ActiveGrants(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	return len(gs)
}

func TestGrantUntilExpiry(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil)
		req := accessReq("prod-db", "write", 30*time.Minute, "hotfix INC-42")
		o := pending(t, s, req)
		if n := activeGrants(t, s, alice.Subject); n != 0 {
			t.Fatalf("%d grants before approval", n)
		}
		v, _ := s.Status(ctx, o.ID)
		if v.Kind != approvals.KindGrant || v.Grant == nil || v.Grant.Duration != 30*time.Minute || v.Grant.Reason != "hotfix INC-42" {
			t.Fatalf("grant request view: %+v", v)
		}
		d, err := s.Decide(ctx, o.ID, bob, true, "go ahead")
		if err != nil || d.Grant == nil {
			t.Fatalf("Decide = %+v, %v", d, err)
		}
		gs, err := s.ActiveGrants(ctx, alice.Subject)
		if err != nil || len(gs) != 1 || gs[0].Connection != "prod-db" || gs[0].Access != "write" {
			t.Fatalf("ActiveGrants = %+v, %v", gs, err)
		}
		if want := d.DecidedAt.Add(30 * time.Minute); !gs[0].ExpiresAt.Equal(want) {
			t.Fatalf("expires %s, want %s", gs[0].ExpiresAt, want)
		}
		if got := e.events.of(approvals.EventGrantCreated); len(got) != 1 || got[0].Payload.(approvals.GrantView).GrantedBy != bob.Email {
			t.Fatalf("grant events: %+v", got)
		}
		// The held request_access call comes back approved with its grant.
		got, err := s.Await(ctx, req, nil)
		if err != nil || got.State != approvals.StateApproved || got.Grant == nil || got.Grant.Access != "write" {
			t.Fatalf("Await = %+v, %v", got, err)
		}
		if n := activeGrants(t, s, "dave-sub"); n != 0 {
			t.Fatal("another subject sees the grant")
		}
		e.clock.Advance(29 * time.Minute)
		if n := activeGrants(t, s, alice.Subject); n != 1 {
			t.Fatal("the grant ended early")
		}
		e.clock.Advance(2 * time.Minute)
		if n := activeGrants(t, s, alice.Subject); n != 0 {
			t.Fatal("the grant outlived its expiry")
		}
		all, _ := s.ListGrants(ctx, approvals.GrantFilter{})
		if len(all) != 1 || all[0].Active {
			t.Fatalf("ListGrants = %+v", all)
		}
	})
}

func TestGrantCappedByMaxGrant(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.service(nil, func(o *approvals.Options) { o.MaxGrant = time.Hour })
		o := pending(t, s, accessReq("prod-db", "write", 72*time.Hour, "long"))
		d, err := s.Decide(context.Background(), o.ID, bob, true, "")
		if err != nil || d.Grant == nil || !d.Grant.ExpiresAt.Equal(d.DecidedAt.Add(time.Hour)) {
			t.Fatalf("Decide = %+v, %v; want a grant of at most an hour", d, err)
		}
	})
}

func TestRevokeGrantIsImmediateEverywhere(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil)
		replica := approvals.New(e.open(), nil, e.opts())
		grant := func(conn string) string {
			o := pending(t, s, accessReq(conn, "write", time.Hour, "work"))
			d, err := s.Decide(ctx, o.ID, bob, true, "")
			if err != nil || d.Grant == nil {
				t.Fatalf("Decide = %+v, %v", d, err)
			}
			return d.Grant.ID
		}
		g1, g2 := grant("prod-db"), grant("billing-db")
		if n := activeGrants(t, replica, alice.Subject); n != 2 {
			t.Fatalf("replica sees %d grants", n)
		}
		if err := s.RevokeGrant(ctx, g1, dave, "no"); !errors.Is(err, approvals.ErrNotApprover) {
			t.Fatalf("revoke by a non-approver: %v", err)
		}
		if err := s.RevokeGrant(ctx, g1, carol, "incident over"); err != nil {
			t.Fatal(err)
		}
		if n := activeGrants(t, replica, alice.Subject); n != 1 {
			t.Fatalf("after revoke the replica sees %d grants, want 1 at once", n)
		}
		if err := replica.RevokeGrant(ctx, g1, carol, "again"); !errors.Is(err, approvals.ErrGrantInactive) {
			t.Fatalf("second revoke: %v", err)
		}
		// The grantee may give a grant up.
		if err := s.RevokeGrant(ctx, g2, alice, "done early"); err != nil {
			t.Fatalf("self revoke: %v", err)
		}
		if n := activeGrants(t, s, alice.Subject); n != 0 {
			t.Fatalf("%d grants left", n)
		}
		gv, err := s.Grant(ctx, g1)
		if err != nil || gv.Active || gv.RevokedBy != carol.Email || gv.RevokeReason != "incident over" || gv.RevokedAt == nil {
			t.Fatalf("revoked grant: %+v, %v", gv, err)
		}
		if n := len(e.events.of(approvals.EventGrantRevoked)); n != 2 {
			t.Fatalf("%d revocations recorded", n)
		}
		if err := s.RevokeGrant(ctx, "GR-99999", carol, ""); !errors.Is(err, approvals.ErrGrantNotFound) {
			t.Fatalf("unknown grant: %v", err)
		}
	})
}
