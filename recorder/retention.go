package recorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"go.uber.org/zap"
)

// ErrLegalHold is returned by Purge while a legal hold is set.
var ErrLegalHold = store.ErrLegalHold

// PurgeResult says what a purge did. ThroughSeq is 0 when nothing was old
// enough to purge.
type PurgeResult struct {
	ThroughSeq  int64
	EventSeq    int64 // the retention.purged event
	Events      int64
	Checkpoints int64
}

// Purge removes the events older than before, in whole checkpointed
// segments: it picks the newest checkpoint written before before, records
// a retention.purged event naming it, then deletes every event up to it
// and the checkpoints below it. The checkpoint kept anchors the first
// remaining event, so the rest of the chain still verifies. by names who
// asked (an operator, or "retention").
func (r *Recorder) Purge(ctx context.Context, before time.Time, by string) (PurgeResult, error) {
	hold, err := r.log.LegalHold(ctx)
	if err != nil {
		return PurgeResult{}, fmt.Errorf("recorder: purge: %w", err)
	}
	if hold {
		return PurgeResult{}, ErrLegalHold
	}
	first, err := r.log.Events(ctx, 0, 1)
	if err != nil {
		return PurgeResult{}, fmt.Errorf("recorder: purge: %w", err)
	}
	if len(first) == 0 {
		return PurgeResult{}, nil
	}
	cps, err := r.log.Checkpoints(ctx)
	if err != nil {
		return PurgeResult{}, fmt.Errorf("recorder: purge: %w", err)
	}
	// A checkpoint is written after the events it covers, so every event
	// up to one written before the cut-off is older than the cut-off.
	var anchor *store.Checkpoint
	for i := range cps {
		c := &cps[i]
		if c.Time.Before(before) && c.Seq >= first[0].Seq {
			anchor = c
		}
	}
	if anchor == nil {
		return PurgeResult{}, nil
	}
	ev, err := NewEvent(TypeRetentionPurged, PurgeData{ThroughSeq: anchor.Seq, AnchorHash: anchor.Hash,
		Before: before.UTC(), Events: anchor.Seq - first[0].Seq + 1, By: by})
	if err != nil {
		return PurgeResult{}, err
	}
	ev.Subject, ev.Verified = by, false
	// Recorded first: a purge nobody recorded is indistinguishable from an
	// attacker deleting the start of the chain, and verify says so.
	seq, err := r.Append(ctx, ev)
	if err != nil {
		return PurgeResult{}, fmt.Errorf("recorder: purge: %w", err)
	}
	st, err := r.log.Purge(ctx, anchor.Seq)
	if err != nil {
		return PurgeResult{}, fmt.Errorf("recorder: purge: %w", err)
	}
	r.zl.Info("audit retention purged events", zap.Int64("through_seq", anchor.Seq),
		zap.Int64("events", st.Events), zap.Int64("checkpoints", st.Checkpoints))
	return PurgeResult{ThroughSeq: anchor.Seq, EventSeq: seq, Events: st.Events, Checkpoints: st.Checkpoints}, nil
}

// SetLegalHold sets or clears the legal hold and records it. Setting
// stores the flag before the event so no purge slips in between; clearing
// records first so the flag never drops unrecorded.
func (r *Recorder) SetLegalHold(ctx context.Context, on bool, by, reason string) error {
	typ := TypeLegalHoldCleared
	if on {
		typ = TypeLegalHoldSet
		if err := r.log.SetLegalHold(ctx, true); err != nil {
			return fmt.Errorf("recorder: legal hold: %w", err)
		}
	}
	ev, err := NewEvent(typ, HoldData{By: by, Reason: reason})
	if err != nil {
		return err
	}
	ev.Subject = by
	if _, err := r.Append(ctx, ev); err != nil {
		return fmt.Errorf("recorder: legal hold: %w", err)
	}
	if !on {
		if err := r.log.SetLegalHold(ctx, false); err != nil {
			return fmt.Errorf("recorder: legal hold: %w", err)
		}
	}
	return nil
}

func (r *Recorder) retentionLoop(ctx context.Context) {
	t := time.NewTicker(r.opt.PurgeInterval)
	defer t.Stop()
	for {
		_, err := r.Purge(ctx, time.Now().Add(-r.opt.Retention), "retention")
		switch {
		case errors.Is(err, ErrLegalHold):
			r.zl.Info("audit retention skipped: legal hold")
		case err != nil && ctx.Err() == nil:
			r.zl.Warn("audit retention failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
