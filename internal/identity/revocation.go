package identity

import (
	"context"
	"sync"
	"time"
)

// Revocations answers whether a subject may still act. It is consulted on
// every verified call, including calls on an already open session and
// calls whose token was found in a verification cache, so a revocation
// takes effect on the next call. Implementations backed by a shared store
// make that true on every replica.
//
// A revocation has a time: while the subject is revoked every token is
// refused; after it is lifted, tokens issued before the revocation stay
// refused, so a token stolen before the incident does not come back.
type Revocations interface {
	// IsRevoked reports whether a token of subject issued at issuedAt
	// (zero when the token carries no iat) must be refused, and why.
	// An error means "unknown" and callers refuse the call.
	IsRevoked(ctx context.Context, subject string, issuedAt time.Time) (revoked bool, reason string, err error)
}

// MemoryRevocations is a Revocations kept in process memory, for tests and
// single-process use. The zero value is ready.
type MemoryRevocations struct {
	mu sync.RWMutex
	m  map[string]revocation
}

type revocation struct {
	at     time.Time
	active bool
	reason string
}

// Revoke revokes subject from at on.
func (r *MemoryRevocations) Revoke(subject, reason string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]revocation{}
	}
	r.m[subject] = revocation{at: at, active: true, reason: reason}
}

// Unrevoke lifts the revocation of subject; tokens issued before it was
// revoked stay refused.
func (r *MemoryRevocations) Unrevoke(subject string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.m[subject]; ok {
		e.active = false
		r.m[subject] = e
	}
}

// IsRevoked implements Revocations.
func (r *MemoryRevocations) IsRevoked(_ context.Context, subject string, issuedAt time.Time) (bool, string, error) {
	r.mu.RLock()
	e, ok := r.m[subject]
	r.mu.RUnlock()
	switch {
	case !ok:
		return false, "", nil
	case e.active:
		return true, e.reason, nil
	case issuedAt.Before(e.at):
		// A token without iat is as old as it can be: refused too.
		return true, "token issued before the subject was revoked (" + e.reason + ")", nil
	}
	return false, "", nil
}
