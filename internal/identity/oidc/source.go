package oidc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/airlockhq/airlock/internal/identity"
)

// TokenSource is the identity source of a transport that carries no token
// per request (stdio): it reads the token and verifies it on every call, so
// an expired or revoked token stops the next call, and a token file
// rewritten by a refresher is picked up without a restart.
type TokenSource struct {
	V *Verifier
	// Read returns the current token.
	Read func() (string, error)
}

// Principal implements identity.Source.
func (s TokenSource) Principal(ctx context.Context) (identity.Principal, error) {
	tok, err := s.Read()
	if err != nil {
		return identity.Principal{}, err
	}
	p, _, err := s.V.Verify(ctx, tok)
	if err != nil {
		return identity.Principal{}, err
	}
	return p, nil
}

// FileToken returns a reader of the token in path: the file's content
// without surrounding white space. The file should be readable by its
// owner only; a token is a password.
func FileToken(path string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("oidc: token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("oidc: token file %s is empty", path)
		}
		return tok, nil
	}
}

// StaticToken returns a reader of a token given once (AIRLOCK_TOKEN).
func StaticToken(tok string) func() (string, error) {
	tok = strings.TrimSpace(tok)
	return func() (string, error) {
		if tok == "" {
			return "", errors.New("oidc: the token is empty")
		}
		return tok, nil
	}
}
