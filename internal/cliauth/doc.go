// Package cliauth gets and keeps the OAuth tokens of people using the
// airlock command line: it logs in with the device authorization grant
// (RFC 8628) or, through the person's browser, with the authorization code
// grant, PKCE (RFC 7636) and a loopback redirect (RFC 8252), caches tokens per issuer and client in the user's
// configuration directory (readable by the user only), refreshes them with
// the refresh token before they expire, and reads back who a token says
// its bearer is, after verifying it against the issuer's keys.
//
// The cache holds refresh tokens and, for confidential clients, the client
// secret: it is as sensitive as a password, which is why it is written
// 0600 and refused when others can read it.
package cliauth
