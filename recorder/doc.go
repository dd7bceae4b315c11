// Package recorder writes airlock's audit trail and proves it intact.
//
// Every event (session, call intent written before the call runs, result,
// error, approval, grant, revocation, configuration and policy loads,
// retention and legal hold) is appended to a hash chain: each event's
// SHA-256 covers a canonical encoding of its fields, its sequence number
// and the previous event's hash. Ed25519-signed checkpoints seal the chain
// every N events or T seconds, and a signed head is kept beside them, so
// editing, deleting, reordering or truncating records is detectable by
// Verify (`airlock audit verify`). README.md specifies the encoding so a
// third party can re-verify without this code.
//
// Appends are group-committed: one writer goroutine writes everything
// queued in one transaction and answers each caller once it is durable.
// A failure to persist returns ErrNotRecorded, and the gateway must then
// not run the call (fail closed). The package never imports the gateway:
// callers build events from the typed payloads (IntentData, ResultData,
// ...), already masked; Options.Masker can mask every string once more.
//
// Subpackage export delivers the trail to SIEMs (JSON lines, syslog, HTTP)
// from persisted cursors; subpackage auditcli is `airlock audit`.
package recorder
