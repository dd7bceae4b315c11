package export

import (
	"context"
	"fmt"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/recorder"
	"go.uber.org/zap"
)

// Sink delivers events somewhere outside the store.
type Sink interface {
	// Name identifies the sink's cursor in the store; keep it stable.
	Name() string
	// Deliver sends events (in seq order) and returns nil only when all
	// of them were handed over. A failed batch is delivered again.
	Deliver(ctx context.Context, events []recorder.Event) error
	Close() error
}

// RunOptions configure Run.
type RunOptions struct {
	// Batch is the most events one Deliver call gets (500).
	Batch int
	// Poll is how often the store is checked when nothing wakes the
	// runner (1s).
	Poll time.Duration
	// Wake, when set, returns a channel closed when new events may be
	// there (Recorder.Committed), so delivery follows commits at once.
	Wake func() <-chan struct{}
	// MinBackoff and MaxBackoff bound the exponential wait after a failed
	// delivery (100ms, 30s).
	MinBackoff, MaxBackoff time.Duration
	Log                    *zap.Logger
}

// Run delivers the trail to sink from its persisted cursor until ctx
// ends. The cursor moves only after a successful Deliver, so everything
// is delivered at least once, across outages and restarts.
func Run(ctx context.Context, log store.AuditLog, sink Sink, opt RunOptions) error {
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 100 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	zl := opt.Log
	if zl == nil {
		zl = zap.NewNop()
	}
	zl = zl.With(zap.String("sink", sink.Name()))
	var backoff time.Duration
	var cursor int64
	loaded := false
	for ctx.Err() == nil {
		var wake <-chan struct{}
		if opt.Wake != nil {
			wake = opt.Wake() // taken before reading, so no commit is missed
		}
		var err error
		if !loaded {
			cursor, err = log.Cursor(ctx, sink.Name())
			loaded = err == nil
		}
		var recs []store.Record
		if err == nil {
			recs, err = log.Events(ctx, cursor, opt.Batch)
		}
		if err == nil && len(recs) > 0 {
			if first := recs[0].Seq; first > cursor+1 && cursor > 0 {
				zl.Warn("audit sink missed events purged before delivery", zap.Int64("from_seq", cursor+1), zap.Int64("to_seq", first-1))
			}
			evs := make([]recorder.Event, len(recs))
			for i, r := range recs {
				evs[i] = recorder.FromRecord(r)
			}
			if err = sink.Deliver(ctx, evs); err == nil {
				last := recs[len(recs)-1].Seq
				if err = log.SetCursor(ctx, sink.Name(), last); err == nil {
					cursor, backoff = last, 0
					if len(recs) == opt.Batch {
						continue // more is waiting
					}
				}
			}
		}
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			backoff = min(max(2*backoff, opt.MinBackoff), opt.MaxBackoff)
			wait = backoff
			zl.Warn("audit sink delivery failed; retrying", zap.Duration("in", wait), zap.Int64("cursor", cursor), zap.Error(err))
			wake = nil // a commit does not fix a broken sink
		} else {
			wait = opt.Poll
		}
		if sleep(ctx, wait, wake) != nil {
			break
		}
	}
	if cerr := sink.Close(); cerr != nil {
		return fmt.Errorf("export: %s: close: %w", sink.Name(), cerr)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-wake:
	}
	return nil
}
