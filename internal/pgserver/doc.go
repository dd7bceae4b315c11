// Package pgserver owns throwaway PostgreSQL clusters started from the
// system's PostgreSQL server binaries: finding the binaries, initdb (or a
// copy of a cached, never-started initdb template), running postgres on a
// random loopback port as an unprivileged user, readiness, and shutdown with
// removal of everything it created. Tests (through internal/testenv) and the
// `airlock dev` demo mode use it; it is not meant for production databases:
// it trusts every local connection and trades durability for speed.
package pgserver
