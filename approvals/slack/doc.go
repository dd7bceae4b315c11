// Package slack is the Slack channel of approvals: Notifier posts each
// request to the approvers' channel as a Block Kit message (requester,
// client, connection and labels, the classified action, the masked
// arguments, the policy's reasons, Approve / Deny buttons and buttons that
// ask for a reason in a modal) and replaces it with the outcome once
// decided; Handler receives the button clicks and modal submissions over
// HTTP (POST /slack/interactions, signing-secret verified) and
// RunSocketMode receives the same payloads over Socket Mode, for
// deployments without an inbound URL. Both feed one decision path.
//
// A Slack user is an approver only as the person behind a confirmed email
// address: users.info must show an active, full member of the workspace
// (not a bot, app, guest or external user) whose profile email is present
// and confirmed. That email is the approver's identity; their groups come
// from a UserDirectory (configured map and/or the IdP's groups for the
// email). approvals.Service.Decide then applies the rules every channel
// shares. Anything refused is explained to the clicker in an ephemeral
// message and recorded through the service.
//
// Slack does not deduplicate interaction payloads and signatures stay
// valid for five minutes, so a replayed payload must be harmless: the
// store's compare-and-set makes a second decision impossible, a replay of
// the same decision by the same person is answered silently and is not a
// second recorded decision, and identical bodies seen within the window
// are dropped before any work.
package slack
