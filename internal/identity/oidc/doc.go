// Package oidc verifies OAuth 2.0 bearer tokens (JWT access tokens) issued
// by trusted OpenID providers and turns them into identity.Principal values.
//
// Several issuers may be trusted at once, for example the company IdP for
// people and a workload issuer for agents using client credentials. A token
// is routed to its issuer by its (not yet verified) iss claim and then
// verified fully by that issuer's go-oidc verifier: signature with a key
// from the issuer's JWKS, issuer, expiry and not-before with a small
// leeway, and audience. The accepted audience is airlock's resource URI
// (RFC 8707) unless the issuer is configured with its own audiences,
// because many IdPs mint tokens for their own audience values.
//
// Only asymmetric signatures are accepted: "none" and HMAC algorithms are
// refused before any key is looked at, so a token signed with a public key
// used as an HMAC secret can never verify.
//
// Keys are cached; a token signed with an unknown key id refetches the
// JWKS (key rotation), at most once per refresh interval so a flood of
// forged key ids cannot be turned against the IdP. A token whose key id is
// known but whose signature does not verify never causes a fetch.
//
// Verified tokens are cached by SHA-256 of the token until the earlier of
// their expiry and a few minutes, which keeps per-call verification well
// under the latency budget; revocation is consulted on every call, cache
// hit or not. Tokens are never logged and never kept in clear.
package oidc
