// Package approvals holds calls that need a human's approval, and the
// just-in-time access grants that approvals create.
//
// A request is bound to one exact call: requester subject, tool,
// connection and the SHA-256 of the canonical JSON of the arguments
// (ArgsHash). An approval therefore covers that call only: change one
// argument and a new request is needed. An approval is consumed by the
// call it covers, once (or, in "window" mode, by identical calls for a
// short time after the first use).
//
// States live in internal/store and every transition is a compare-and-set
// on the state there, so gateway replicas, Slack clicks and CLI decisions
// can race without deciding twice:
//
//	pending -> approved -> used
//	pending -> denied | expired | cancelled
//	approved -> cancelled (identity revoked before the call came back)
//
// Service.Await is what the pipeline's approve stage calls: it consumes an
// approval already given, or finds or creates the pending request,
// announces it through a Notifier (Slack, package approvals/slack) and
// holds the call for Options.Hold while polling the store, so a decision
// taken on any replica is seen within Options.PollEvery. Service.Decide is
// the one place decisions are made, whatever the channel (Slack, CLI
// through AdminHandler, web UI): the approver must be in one of the
// request's approver groups and must not be the requester; refusals are
// reported through Options.OnEvent like decisions, so they are recorded.
//
// Approving a request_access request creates a grant with an expiry in the
// same transaction. ActiveGrants feeds the policy input; it reads the store
// on every call, so a revocation or expiry applies to the next call on
// every replica.
//
// This package never imports internal/gateway or mcp: the gateway adapts
// its Call to a Request.
package approvals
