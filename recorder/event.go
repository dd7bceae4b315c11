package recorder

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/store"
)

// Event types. The set only grows; a changed payload gets a new Version.
const (
	TypeSessionStart      = "session.start"
	TypeSessionEnd        = "session.end"
	TypeCallIntent        = "call.intent"
	TypeCallResult        = "call.result"
	TypeCallError         = "call.error"
	TypeApprovalRequested = "approval.requested"
	TypeApprovalDecided   = "approval.decided"
	TypeApprovalRefused   = "approval.refused" // a decision attempt that broke a rule
	TypeApprovalExpired   = "approval.expired"
	TypeApprovalCancelled = "approval.cancelled"
	TypeGrantCreated      = "grant.created"
	TypeGrantRevoked      = "grant.revoked"
	TypeIdentityRevoked   = "identity.revoked"
	TypeIdentityUnrevoked = "identity.unrevoked"
	TypeConfigLoaded      = "config.loaded"
	TypePolicyLoaded      = "policy.loaded"
	TypeRetentionPurged   = "retention.purged"
	TypeLegalHoldSet      = "legal_hold.set"
	TypeLegalHoldCleared  = "legal_hold.cleared"
	TypeCheckpoint        = "checkpoint" // never stored as an event; used by sinks and search output
)

// CurrentVersion is the payload version this build writes.
const CurrentVersion = 1

// Event is one audit event. Time, CallID, SessionID, Subject and Verified
// are carried by every event; Data is the type's payload as JSON, already
// masked by the caller. Seq, PrevHash and Hash are set by the recorder.
type Event struct {
	Seq       int64           `json:"seq"`
	Time      time.Time       `json:"time"`
	Type      string          `json:"type"`
	Version   int             `json:"version"`
	CallID    string          `json:"call_id,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	Subject   string          `json:"subject"`
	Verified  bool            `json:"verified"`
	Data      json.RawMessage `json:"data"`
	PrevHash  string          `json:"prev_hash,omitempty"`
	Hash      string          `json:"hash,omitempty"`
	// PreMasked says the caller masked the whole payload with the same
	// engine as Options.Masker, so the recorder's own pass would find
	// nothing more: it is skipped (large results would pay for it twice).
	PreMasked bool `json:"-"`
}

// NewEvent returns an event of type typ with payload data (any JSON-able
// value, usually one of the *Data structs below).
func NewEvent(typ string, data any) (Event, error) {
	e := Event{Type: typ, Version: CurrentVersion}
	if err := e.SetData(data); err != nil {
		return Event{}, err
	}
	return e, nil
}

// SetData encodes v as the payload.
func (e *Event) SetData(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("recorder: %s payload: %w", e.Type, err)
	}
	e.Data = b
	return nil
}

// Decode decodes the payload into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("recorder: seq %d (%s): payload: %w", e.Seq, e.Type, err)
	}
	return nil
}

// FromRecord converts a stored record.
func FromRecord(r store.Record) Event {
	return Event{Seq: r.Seq, Time: r.Time, Type: r.Type, Version: r.Version, CallID: r.CallID,
		SessionID: r.SessionID, Subject: r.Subject, Verified: r.Verified, Data: json.RawMessage(r.Data),
		PrevHash: r.PrevHash, Hash: r.Hash}
}

// SessionData is the payload of session.start and session.end.
type SessionData struct {
	Email         string   `json:"email,omitempty"`
	Groups        []string `json:"groups,omitempty"`
	Issuer        string   `json:"issuer,omitempty"`
	ClientID      string   `json:"client_id,omitempty"`
	ClientName    string   `json:"client_name,omitempty"`
	ClientVersion string   `json:"client_version,omitempty"`
	Transport     string   `json:"transport,omitempty"` // stdio | http
	RemoteAddr    string   `json:"remote_addr,omitempty"`
	Reason        string   `json:"reason,omitempty"` // session.end: why it ended
}

// DecisionData is the policy decision as recorded with the intent.
type DecisionData struct {
	Allow           bool     `json:"allow"`
	RequireApproval bool     `json:"require_approval"`
	Approvers       []string `json:"approvers,omitempty"`
	Reasons         []string `json:"reasons"`
	MaxRows         int      `json:"max_rows,omitempty"`
	TimeoutMS       int      `json:"timeout_ms,omitempty"`
	// Policy is the hash of the policy bundle that decided.
	Policy string `json:"policy"`
}

// Decision outcomes, as searched for.
const (
	DecisionAllow    = "allow"
	DecisionDeny     = "deny"
	DecisionApproval = "require_approval"
)

// Outcome names the decision: allow, deny or require_approval.
func (d *DecisionData) Outcome() string {
	switch {
	case d == nil:
		return ""
	case d.RequireApproval:
		return DecisionApproval
	case d.Allow:
		return DecisionAllow
	}
	return DecisionDeny
}

// IntentData is the payload of call.intent, written before the call runs.
// Decision is nil when the call was refused before the policy ran.
type IntentData struct {
	Tool       string             `json:"tool"`
	Connection string             `json:"connection,omitempty"`
	Arguments  map[string]any     `json:"arguments"`
	Action     *connectors.Action `json:"action,omitempty"`
	// ActionDetail carries family-specific members of the action
	// (Kubernetes resource, SSH commands, HTTP method and host).
	ActionDetail map[string]any `json:"action_detail,omitempty"`
	Decision     *DecisionData  `json:"decision,omitempty"`
	// Caller is who made the call beyond the event's subject, so that an
	// intent names its caller even where no session was recorded (the
	// stateless protocol revision has none).
	Caller *CallerData `json:"caller,omitempty"`
}

// CallerData is the identity a call was decided for: the token's issuer
// and OAuth client (verified with the token), the groups policy saw, and
// the MCP client's description of itself (not verified).
type CallerData struct {
	Issuer        string   `json:"issuer,omitempty"`
	ClientID      string   `json:"client_id,omitempty"`
	Groups        []string `json:"groups,omitempty"`
	ClientName    string   `json:"client_name,omitempty"`
	ClientVersion string   `json:"client_version,omitempty"`
	Transport     string   `json:"transport,omitempty"` // stdio | http
}

// ResultData is the payload of call.result. Content is the masked result
// when it fits the bound, else Excerpt is a bounded prefix of it and
// Truncated is set (see Excerpt).
type ResultData struct {
	Status     string          `json:"status"` // ok
	Rows       int64           `json:"rows,omitempty"`
	Bytes      int64           `json:"bytes,omitempty"`
	DurationMS float64         `json:"duration_ms"`
	Truncated  bool            `json:"truncated,omitempty"`
	Content    json.RawMessage `json:"content,omitempty"`
	Excerpt    string          `json:"excerpt,omitempty"`
}

// ErrorData is the payload of call.error: the call was refused or failed.
// Kind is the gateway's refusal kind (identity, invalid, denied, approval,
// unavailable, failed, internal).
type ErrorData struct {
	Kind       string  `json:"kind"`
	Message    string  `json:"message"`
	DurationMS float64 `json:"duration_ms,omitempty"`
}

// ApprovalData is the payload of approval.requested and approval.decided.
type ApprovalData struct {
	ApprovalID string    `json:"approval_id"`
	Approvers  []string  `json:"approvers,omitempty"`
	Reasons    []string  `json:"reasons,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	Approved   bool      `json:"approved,omitempty"` // decided
	By         string    `json:"by,omitempty"`       // decided: the approver
	Reason     string    `json:"reason,omitempty"`   // decided: the approver's words
}

// GrantData is the payload of grant.created and grant.revoked.
type GrantData struct {
	GrantID    string    `json:"grant_id"`
	Grantee    string    `json:"grantee"`
	Connection string    `json:"connection"`
	Access     string    `json:"access"` // read | write
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	By         string    `json:"by,omitempty"`
	Reason     string    `json:"reason,omitempty"`
}

// IdentityData is the payload of identity.revoked and identity.unrevoked.
type IdentityData struct {
	RevokedSubject string `json:"revoked_subject"`
	By             string `json:"by,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// LoadedData is the payload of config.loaded and policy.loaded.
type LoadedData struct {
	Path string `json:"path,omitempty"`
	// Hash is the SHA-256 of what was loaded (policy: the bundle hash).
	Hash    string   `json:"hash"`
	Files   []string `json:"files,omitempty"`
	Version string   `json:"version,omitempty"` // airlock's version
	// KeyID identifies the checkpoint signing key in use.
	KeyID string `json:"key_id,omitempty"`
}

// PurgeData is the payload of retention.purged, written before the purge:
// events 1..ThroughSeq (or the previous purge's boundary) are removed and
// the checkpoint at ThroughSeq, whose hash is AnchorHash, anchors the rest.
type PurgeData struct {
	ThroughSeq int64     `json:"through_seq"`
	AnchorHash string    `json:"anchor_hash"`
	Before     time.Time `json:"before"`
	Events     int64     `json:"events"`
	By         string    `json:"by"`
}

// HoldData is the payload of legal_hold.set and legal_hold.cleared.
type HoldData struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// Excerpt encodes a (masked) result for ResultData: the whole JSON when it
// is at most max bytes, else a prefix of it cut at a character boundary.
func Excerpt(result any, max int) (content json.RawMessage, excerpt string, truncated bool, err error) {
	b, err := json.Marshal(result)
	if err != nil {
		return nil, "", false, fmt.Errorf("recorder: excerpt: %w", err)
	}
	if len(b) <= max {
		return b, "", false, nil
	}
	return nil, cutUTF8(string(b), max), true, nil
}

// Intent returns a call.intent's tool, connection and decision outcome
// (allow, deny, require_approval; "" when no policy ran). Other events
// return empty strings.
func (e Event) Intent() (tool, connection, decision string) {
	if e.Type != TypeCallIntent {
		return "", "", ""
	}
	var top map[string]any
	if json.Unmarshal(e.Data, &top) != nil {
		return "", "", ""
	}
	return searchColumns(top)
}
