package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/policy"
	"github.com/airlockhq/airlock/tools"
)

// Call is one tool call on its way through the pipeline. Transports fill the
// request part; stages fill the rest in pipeline order.
type Call struct {
	// Request, set by the transport.
	ID        string
	SessionID string
	Transport string // "stdio" | "http"
	ToolName  string
	Arguments map[string]any
	// Client is the MCP client's self-description, if it gave one.
	Client identity.Client
	// Progress, when set, reports progress to the caller while the call waits.
	Progress func(message string)

	// Filled by the stages.
	Started    time.Time
	Principal  identity.Principal
	Tool       *tools.Tool
	Connection connectors.Connection // nil for governance tools
	Op         connectors.Operation
	Action     *connectors.Action
	Decision   *Decision
	// Masked is the result as it may be recorded: always masked.
	Masked *connectors.Result

	intentWritten bool
	maskedArgs    map[string]any
}

// Decision is the policy's answer for a call, with its obligations.
type Decision = policy.Decision

// RefusalKind says why a call did not run.
type RefusalKind string

// Refusal kinds.
const (
	RefusedIdentity    RefusalKind = "identity"    // no or revoked identity
	RefusedInvalid     RefusalKind = "invalid"     // bad arguments or unparseable input
	RefusedDenied      RefusalKind = "denied"      // policy said no
	RefusedApproval    RefusalKind = "approval"    // needs an approval that is not there
	RefusedUnavailable RefusalKind = "unavailable" // backend down
	RefusedFailed      RefusalKind = "failed"      // the backend ran it and reported an error
	RefusedInternal    RefusalKind = "internal"    // our fault; details in the logs
)

// Refusal is a call that did not produce a result, explained for the agent.
// Transports show it as a tool result with isError set.
type Refusal struct {
	Kind    RefusalKind
	Message string
	CallID  string
	Err     error // for logs only
}

func (r *Refusal) Error() string { return r.Message }
func (r *Refusal) Unwrap() error { return r.Err }

func refuse(c *Call, kind RefusalKind, format string, args ...any) *Refusal {
	return &Refusal{Kind: kind, Message: fmt.Sprintf(format, args...), CallID: c.ID}
}

// ErrUnknownTool is returned for a tool the catalog does not have (or the
// caller may not see); transports answer it with a JSON-RPC error.
var ErrUnknownTool = errors.New("gateway: unknown tool")

// NewCallID returns a fresh, unguessable call id: the time in
// milliseconds, then 72 random bits. Ids of successive calls sort
// together, so the audit store's call index grows at its end instead of
// at random pages.
func NewCallID() string {
	var b [15]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return "call_" + hex.EncodeToString(b[:])
}
