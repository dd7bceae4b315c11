package identity

import (
	"errors"
	"strings"
)

// The two ways a bearer token is refused. Transports map them onto the
// answers RFC 6750 defines: ErrInvalidToken is 401 invalid_token (the
// caller should get a new token), ErrInsufficientScope is 403
// insufficient_scope (a new token with the same grant will not help).
// Anything else a verifier returns is an outage, not the caller's fault,
// and must still refuse the call.
var (
	ErrInvalidToken      = errors.New("invalid token")
	ErrInsufficientScope = errors.New("insufficient scope")
	// ErrRevoked marks a token refused because its subject is revoked; it
	// is always also an ErrInvalidToken.
	ErrRevoked = errors.New("subject revoked")
)

// TokenError is a refused token. Reason is short and safe to show the
// caller (it ends up in WWW-Authenticate); Err is the detail, for logs.
// Neither ever contains the token.
type TokenError struct {
	// Kind is ErrInvalidToken or ErrInsufficientScope.
	Kind error
	// Reason says why in a few words: "expired", "wrong audience", ...
	Reason string
	// Scopes are the scopes a token needs, for insufficient_scope.
	Scopes []string
	// Err is the underlying cause, if any.
	Err error
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("identity: ")
	b.WriteString(e.Kind.Error())
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is match the kind as well as the cause.
func (e *TokenError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
