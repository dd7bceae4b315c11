package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/recorder"
)

// storeRevocations answers identity.Revocations from the shared store, so
// a revocation made anywhere stops the subject's next call on every
// replica. st is set once the store is open.
type storeRevocations struct{ st store.Store }

var errStoreNotOpen = errors.New("app: revocations: the store is not open")

// StoreRevocations is the revocation check the gateway runs on every call,
// reading st.
func StoreRevocations(st store.Store) identity.Revocations { return &storeRevocations{st: st} }

// IsRevoked implements identity.Revocations.
func (r *storeRevocations) IsRevoked(ctx context.Context, subject string, issuedAt time.Time) (bool, string, error) {
	if r.st == nil {
		return false, "", errStoreNotOpen
	}
	rev, ok, err := r.st.Revocation(ctx, subject)
	switch {
	case err != nil:
		return false, "", err
	case !ok:
		return false, "", nil
	case rev.Active:
		return true, rev.Reason, nil
	case issuedAt.Before(rev.RevokedAt):
		// Lifting a revocation admits new tokens, never ones issued
		// before it (a token stolen before the incident stays dead).
		return true, "token issued before the subject was revoked (" + rev.Reason + ")", nil
	}
	return false, "", nil
}

// Revoke revokes (or, with lift, un-revokes) subject in the store cfg
// names, cancels the subject's open approval requests, and records it all.
func Revoke(ctx context.Context, cfg *config.Config, subject, reason, by string, lift bool) (string, error) {
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.Resolved(), store.WithDurability(store.Durability(cfg.Store.Durability)))
	if err != nil {
		return "", fmt.Errorf("app: revoke: %w", err)
	}
	defer st.Close()
	key, _, err := recorder.LoadOrCreateKey(cfg.Recorder.SigningKey)
	if err != nil {
		return "", fmt.Errorf("app: revoke: signing key: %w", err)
	}
	rec, err := recorder.New(ctx, st, recorder.Options{SigningKey: key, CheckpointEvery: cfg.Recorder.CheckpointEvery,
		CheckpointInterval: cfg.Recorder.CheckpointInterval.D()})
	if err != nil {
		return "", fmt.Errorf("app: revoke: %w", err)
	}
	defer rec.Close()
	now := time.Now().UTC()
	typ := recorder.TypeIdentityRevoked
	var msg string
	if lift {
		typ = recorder.TypeIdentityUnrevoked
		ok, err := st.Unrevoke(ctx, subject, by, now)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("app: unrevoke: %s is not revoked", subject)
		}
		msg = fmt.Sprintf("%s may act again; tokens issued before the revocation stay refused", subject)
	} else {
		if err := st.Revoke(ctx, subject, reason, by, now); err != nil {
			return "", err
		}
		cancelled, err := st.CancelApprovals(ctx, subject, by, "identity revoked: "+reason, now)
		if err != nil {
			return "", err
		}
		msg = fmt.Sprintf("%s is revoked from %s; their next call is refused on every gateway; %d open approval requests cancelled",
			subject, now.Format(time.RFC3339), len(cancelled))
	}
	ev, err := recorder.NewEvent(typ, recorder.IdentityData{RevokedSubject: subject, By: by, Reason: reason})
	if err != nil {
		return "", err
	}
	ev.Time, ev.Subject = now, by
	if _, err := rec.Append(ctx, ev); err != nil {
		return "", fmt.Errorf("app: revoke: recording: %w", err)
	}
	return msg, nil
}
