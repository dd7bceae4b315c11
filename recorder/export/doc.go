// Package export delivers the audit trail to SIEMs without loss: a JSON
// lines file (rotated by size), syslog RFC 5424 over TCP or TLS
// (octet-counting framing, RFC 6587) and an HTTP webhook (JSON array
// batches). Each sink reads from the store after its own persisted cursor
// and advances the cursor only after a batch was delivered, so a sink
// that is down catches up later and a restart loses nothing: delivery is
// at least once, and the sequence number is the key to deduplicate on.
//
// It also formats events for `airlock audit export` (JSON lines, CEF).
package export
