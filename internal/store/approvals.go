package store

import (
	"context"
	"errors"
	"time"
)

// Approvals is the storage role of approval requests. Every state change is
// a compare-and-set on the state column, so two replicas or two clicks on
// the same Slack button cannot both decide, and an approval is consumed by
// one call only.
type Approvals interface {
	// CreateApproval inserts r as a pending request, unless a pending,
	// unexpired request for the same key exists: that one is returned with
	// created false (at most one request per key is ever pending). Pending
	// requests of the key that are past their expiry are marked expired
	// first, in the same transaction. The store assigns ID and State.
	CreateApproval(ctx context.Context, r ApprovalRequest, now time.Time) (req ApprovalRequest, created bool, err error)
	// GetApproval returns one request, or ErrApprovalNotFound.
	GetApproval(ctx context.Context, id int64) (ApprovalRequest, error)
	// LatestApproval returns the newest request for key, or
	// ErrApprovalNotFound.
	LatestApproval(ctx context.Context, key ApprovalKey) (ApprovalRequest, error)
	// ListApprovals returns the requests f selects, newest first.
	ListApprovals(ctx context.Context, f ApprovalFilter) ([]ApprovalRequest, error)
	// DecideApproval moves a pending, unexpired request to d.State
	// (approved or denied). When approving with d.Grant set, the grant is
	// inserted in the same transaction and linked to the request. If the
	// request is no longer pending (or has expired, which this marks), it
	// returns the request as it now is and ErrStateChanged.
	DecideApproval(ctx context.Context, id int64, d ApprovalDecision) (ApprovalRequest, *Grant, error)
	// ConsumeApproval uses an approval of key: approved and still valid ->
	// used, exactly once. With window > 0 a used approval also serves
	// further calls until window after its first use. ErrApprovalNotFound
	// when nothing usable exists.
	ConsumeApproval(ctx context.Context, key ApprovalKey, now time.Time, window time.Duration) (ApprovalRequest, error)
	// ExpireApprovals marks every pending request past its expiry expired
	// and returns them.
	ExpireApprovals(ctx context.Context, now time.Time) ([]ApprovalRequest, error)
	// CancelApprovals cancels the pending and the approved but unused
	// requests of subject and returns them. Pending ones record by and
	// reason as their decision; approved ones keep their approver.
	CancelApprovals(ctx context.Context, subject, by, reason string, now time.Time) ([]ApprovalRequest, error)
	// SetApprovalRef stores where the request was announced (e.g. the
	// Slack channel and message timestamp), so updates find the message.
	SetApprovalRef(ctx context.Context, id int64, ref string) error
}

// Grants is the storage role of just-in-time access grants. A grant is
// active while it is not revoked and not past its expiry; every read
// compares with the time passed in, so revocation and expiry take effect
// on the next call on every replica.
type Grants interface {
	// ActiveGrants returns subject's active grants at now, soonest expiry
	// first.
	ActiveGrants(ctx context.Context, subject string, now time.Time) ([]Grant, error)
	// GetGrant returns one grant, or ErrGrantNotFound.
	GetGrant(ctx context.Context, id int64) (Grant, error)
	// ListGrants returns the grants f selects, newest first.
	ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error)
	// RevokeGrant ends an active grant now. A grant already revoked or
	// expired is returned as it is, with ErrStateChanged.
	RevokeGrant(ctx context.Context, id int64, by, reason string, now time.Time) (Grant, error)
}

// Approval request kinds and states.
const (
	ApprovalKindCall  = "call"  // one tool call, used once
	ApprovalKindGrant = "grant" // request_access: approving creates a grant

	ApprovalPending   = "pending"
	ApprovalApproved  = "approved"
	ApprovalDenied    = "denied"
	ApprovalExpired   = "expired"
	ApprovalCancelled = "cancelled"
	ApprovalUsed      = "used"
)

// ApprovalKey is what an approval is valid for: one exact call.
type ApprovalKey struct {
	Subject, Tool, Connection, ArgsHash string
}

// ApprovalRequest is one stored approval request. Times are UTC with
// microsecond precision; zero means unset.
type ApprovalRequest struct {
	ID               int64
	Kind             string
	State            string
	Subject          string
	Email            string
	Groups           []string
	ClientName       string
	Tool             string
	Connection       string
	ConnectionLabels map[string]string
	ArgsHash         string
	ArgsText         string // masked before it gets here
	Action           []byte // the classified action as JSON; nil when none
	Reasons          []string
	Approvers        []string
	GrantAccess      string        // kind grant
	GrantDuration    time.Duration // kind grant
	GrantReason      string        // kind grant: why the requester wants it
	CreatedAt        time.Time
	ExpiresAt        time.Time // a decision must come before
	DecidedAt        time.Time
	DecidedBy        string
	DecidedByEmail   string
	DecidedVia       string
	DecisionReason   string
	ValidUntil       time.Time // an approval is usable until
	UsedAt           time.Time
	UseUntil         time.Time // window mode: further uses until
	Uses             int
	NotifyRef        string
	GrantID          int64
}

// Key returns the call r is valid for.
func (r ApprovalRequest) Key() ApprovalKey {
	return ApprovalKey{Subject: r.Subject, Tool: r.Tool, Connection: r.Connection, ArgsHash: r.ArgsHash}
}

// ApprovalDecision is what DecideApproval writes.
type ApprovalDecision struct {
	State      string // ApprovalApproved or ApprovalDenied
	At         time.Time
	By         string
	ByEmail    string
	Via        string
	Reason     string
	ValidUntil time.Time // approved: how long the approval may be used
	Grant      *Grant    // approved grant requests: the grant to create
}

// ApprovalFilter selects requests. Zero fields do not filter.
type ApprovalFilter struct {
	States  []string
	Subject string
	Limit   int
}

// Grant is one just-in-time access grant.
type Grant struct {
	ID           int64
	RequestID    int64
	Subject      string
	Email        string
	Connection   string
	Access       string
	Approvers    []string // who may revoke it besides the grantee
	GrantedBy    string
	Reason       string // the requester's reason
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    time.Time
	RevokedBy    string
	RevokeReason string
}

// Active reports whether g is in force at now.
func (g Grant) Active(now time.Time) bool { return g.RevokedAt.IsZero() && now.Before(g.ExpiresAt) }

// GrantFilter selects grants. Zero fields do not filter; ActiveAt selects
// the grants active at that time.
type GrantFilter struct {
	Subject  string
	ActiveAt time.Time
	Limit    int
}

// Errors of the approval and grant roles.
var (
	ErrApprovalNotFound = errors.New("store: approval request not found")
	ErrGrantNotFound    = errors.New("store: grant not found")
	ErrStateChanged     = errors.New("store: the state changed first")
)
