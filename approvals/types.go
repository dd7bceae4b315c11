package approvals

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/store"
)

// States of a request, as stored.
const (
	StatePending   = store.ApprovalPending
	StateApproved  = store.ApprovalApproved
	StateDenied    = store.ApprovalDenied
	StateExpired   = store.ApprovalExpired
	StateCancelled = store.ApprovalCancelled
	StateUsed      = store.ApprovalUsed
)

// Request kinds.
const (
	KindCall  = store.ApprovalKindCall
	KindGrant = store.ApprovalKindGrant
)

// Decision channels (Approver.Via).
const (
	ViaSlack = "slack"
	ViaCLI   = "cli"
	ViaWeb   = "web"
)

// Request is a call that needs approval, as the approve stage sees it.
type Request struct {
	Subject    string
	Email      string
	Groups     []string
	ClientName string
	Tool       string
	Connection string
	// ConnectionLabels are shown to the approver (env, team, ...).
	ConnectionLabels map[string]string
	// ArgsHash binds the approval to the exact arguments: ArgsHash(...).
	ArgsHash string
	// ArgsText is the argument text for the approver, already masked.
	ArgsText string
	Action   *connectors.Action
	// Reasons and Approvers come from the policy decision. Approvers are
	// "group:NAME", "user:EMAIL-OR-SUBJECT" or a bare group name; empty
	// means Options.ApproverGroups.
	Reasons   []string
	Approvers []string
	// Kind is KindCall (default) or KindGrant; Grant is set for KindGrant.
	Kind  string
	Grant *GrantSpec
}

// GrantSpec is what request_access asks for.
type GrantSpec struct {
	Connection string        `json:"connection"`
	Access     string        `json:"access"`
	Duration   time.Duration `json:"-"`
	Reason     string        `json:"reason,omitempty"`
}

type grantSpecJSON struct {
	Connection string `json:"connection"`
	Access     string `json:"access"`
	Duration   string `json:"duration"`
	Reason     string `json:"reason,omitempty"`
}

// MarshalJSON writes Duration as text ("2h0m0s"), which people can read.
func (g GrantSpec) MarshalJSON() ([]byte, error) {
	return json.Marshal(grantSpecJSON{g.Connection, g.Access, g.Duration.String(), g.Reason})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (g *GrantSpec) UnmarshalJSON(b []byte) error {
	var j grantSpecJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := time.ParseDuration(j.Duration)
	if err != nil && j.Duration != "" {
		return fmt.Errorf("grant duration: %w", err)
	}
	*g = GrantSpec{Connection: j.Connection, Access: j.Access, Duration: d, Reason: j.Reason}
	return nil
}

// Outcome is how a request stands when Await returns.
type Outcome struct {
	State     string // approved | denied | pending | expired | cancelled
	ID        string // "APR-12"
	DecidedBy string
	DecidedAt time.Time
	Reason    string // the approver's reason
	// Where the request waits, for people: "#db-approvals in Slack".
	Where     string
	ExpiresAt time.Time
	// Grant is the grant an approved request_access created.
	Grant *GrantView
}

// Message explains o to the agent that called tool.
func (o Outcome) Message(tool string) string {
	by := o.DecidedBy
	if by == "" {
		by = "an approver"
	}
	why := ""
	if o.Reason != "" {
		why = ": " + o.Reason
	}
	switch o.State {
	case StateApproved:
		return fmt.Sprintf("approved by %s (request %s)%s", by, o.ID, why)
	case StateDenied:
		return fmt.Sprintf("denied by %s (request %s)%s. The call was not run; calling again with the same arguments gets the same answer for a while", by, o.ID, why)
	case StateExpired:
		return fmt.Sprintf("request %s expired without a decision, so the call was not run; call %s again to ask anew", o.ID, tool)
	case StateCancelled:
		return fmt.Sprintf("request %s was cancelled%s, so the call was not run", o.ID, why)
	}
	exp := ""
	if !o.ExpiresAt.IsZero() {
		exp = fmt.Sprintf("; the request expires at %s", o.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("request %s is pending with %s and the call was not run yet. Once it is approved, call %s again with exactly the same arguments and it runs at once (approval_status with id %s tells where it stands)%s",
		o.ID, o.Where, tool, o.ID, exp)
}

// Approver is a person deciding, as a channel established them.
type Approver struct {
	Subject string
	Email   string
	Groups  []string
	Via     string // ViaSlack, ViaCLI, ViaWeb
}

// ApproverFrom is the approver a verified principal is.
func ApproverFrom(p identity.Principal, via string) Approver {
	return Approver{Subject: p.Subject, Email: p.Email, Groups: p.Groups, Via: via}
}

// Name is how the approver is shown and recorded: the email when known.
func (a Approver) Name() string {
	if a.Email != "" {
		return a.Email
	}
	return a.Subject
}

// RequestView is a request as channels, the admin API and events show it.
type RequestView struct {
	ID               string             `json:"id"`
	Kind             string             `json:"kind"`
	State            string             `json:"state"`
	Subject          string             `json:"subject"`
	Email            string             `json:"email,omitempty"`
	Groups           []string           `json:"groups,omitempty"`
	ClientName       string             `json:"client,omitempty"`
	Tool             string             `json:"tool"`
	Connection       string             `json:"connection,omitempty"`
	ConnectionLabels map[string]string  `json:"connection_labels,omitempty"`
	ArgsHash         string             `json:"args_hash"`
	ArgsText         string             `json:"args_text,omitempty"`
	Action           *connectors.Action `json:"action,omitempty"`
	Reasons          []string           `json:"reasons"`
	Approvers        []string           `json:"approvers"`
	Grant            *GrantSpec         `json:"grant,omitempty"`
	CreatedAt        time.Time          `json:"created_at"`
	ExpiresAt        time.Time          `json:"expires_at"`
	DecidedAt        *time.Time         `json:"decided_at,omitempty"`
	DecidedBy        string             `json:"decided_by,omitempty"`
	DecidedVia       string             `json:"decided_via,omitempty"`
	DecisionReason   string             `json:"reason,omitempty"`
	ValidUntil       *time.Time         `json:"valid_until,omitempty"`
	UsedAt           *time.Time         `json:"used_at,omitempty"`
	Uses             int                `json:"uses,omitempty"`
	GrantID          string             `json:"grant_id,omitempty"`
	// NotifyRef locates the announcement (Slack: "CHANNEL/TS").
	NotifyRef string `json:"notify_ref,omitempty"`
}

// GrantView is a grant as the admin API and events show it.
type GrantView struct {
	ID           string     `json:"id"`
	RequestID    string     `json:"request_id"`
	Subject      string     `json:"subject"`
	Email        string     `json:"email,omitempty"`
	Connection   string     `json:"connection"`
	Access       string     `json:"access"`
	Approvers    []string   `json:"approvers"` // who may revoke it besides the grantee
	GrantedBy    string     `json:"granted_by"`
	Reason       string     `json:"reason,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	Active       bool       `json:"active"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokedBy    string     `json:"revoked_by,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
}

// EventKind names what OnEvent reports; the recorder records them.
type EventKind string

// Event kinds and their payloads.
const (
	EventRequested    EventKind = "approval.requested" // RequestView
	EventDecided      EventKind = "approval.decided"   // RequestView, with the decision
	EventRefused      EventKind = "approval.refused"   // Refusal: a decision attempt that broke a rule
	EventExpired      EventKind = "approval.expired"   // RequestView
	EventCancelled    EventKind = "approval.cancelled" // RequestView
	EventGrantCreated EventKind = "grant.created"      // GrantView
	EventGrantRevoked EventKind = "grant.revoked"      // GrantView
)

// Refusal is a decision attempt that was refused, for the record.
type Refusal struct {
	RequestID string    `json:"request_id"`
	Approver  string    `json:"approver"`
	Via       string    `json:"via"`
	Approve   bool      `json:"approve"`
	Why       string    `json:"why"`
	At        time.Time `json:"at"`
}

// Notifier announces requests to approvers (Slack) and updates the
// announcement once decided. Implementations retry transient failures
// themselves; an error from Post is final and fails the call closed.
type Notifier interface {
	Post(ctx context.Context, v RequestView) (ref string, err error)
	Update(ctx context.Context, v RequestView) error
}

// ArgsHash is the SHA-256 (hex) of the canonical JSON of tool, connection
// and arguments: keys sorted at every level (encoding/json sorts map
// keys), no HTML escaping, numbers as JSON decoding produced them.
func ArgsHash(tool, connection string, args map[string]any) string {
	if args == nil {
		args = map[string]any{}
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode([]any{tool, connection, args}); err != nil {
		// Arguments decoded from JSON always encode; anything else still
		// gets a hash that nothing else shares.
		fmt.Fprintf(&sb, "unencodable:%v", err)
	}
	sum := sha256.Sum256([]byte(sb.String()))
	return hex.EncodeToString(sum[:])
}

// Request and grant ids are the store's numbers with a prefix people can
// tell apart in Slack and on the command line.
const (
	requestPrefix = "APR-"
	grantPrefix   = "GR-"
)

func requestID(n int64) string { return requestPrefix + strconv.FormatInt(n, 10) }
func grantID(n int64) string   { return grantPrefix + strconv.FormatInt(n, 10) }

// parseID accepts "APR-12", "apr-12" or "12".
func parseID(s, prefix string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		s = s[len(prefix):]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
