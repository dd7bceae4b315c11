// Package auditcli is `airlock audit`: verify, replay, sessions, search,
// export, hold and purge over the audit store. It lives beside the
// recorder, not in cmd/airlock, so it is tested like any package; the
// command only dispatches to Run.
package auditcli
