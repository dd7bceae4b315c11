// Package testenv owns the real components tests run against, started on
// loopback by the test binary itself and shared by the tests of a package:
// today PostgreSQL (one server per package run, one fresh fixture database
// per test) and an OpenID provider (zitadel/oidc's example OP, one per test,
// see OIDC). A component that cannot start fails the test; it never skips,
// because a skipped governance test is a passing one nobody checked.
//
// Packages that use it stop the shared servers from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
package testenv
