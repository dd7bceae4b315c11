package recorder

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"runtime"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"go.uber.org/zap"
)

// writeTimeout bounds one group commit. Appends are not tied to a
// caller's context: a batch holds many callers' events.
const writeTimeout = 30 * time.Second

// submit queues req. If nobody is committing, the caller becomes the
// leader and commits the queue itself (a waiting caller) or in a new
// goroutine (an async one).
func (r *Recorder) submit(req *request) error {
	r.qmu.Lock()
	if r.closed {
		r.qmu.Unlock()
		return fmt.Errorf("%w: %w", ErrNotRecorded, ErrClosed)
	}
	r.queue = append(r.queue, req)
	if r.leading {
		r.qmu.Unlock()
		return nil
	}
	r.leading = true
	if req.async {
		r.qmu.Unlock()
		go r.lead()
		return nil
	}
	r.gatherLocked()
	batch := r.takeLocked()
	r.qmu.Unlock()
	r.commit(batch, false)
	r.release()
	return nil
}

// takeLocked takes up to MaxBatch queued requests.
func (r *Recorder) takeLocked() []*request {
	n := min(len(r.queue), r.opt.MaxBatch)
	batch := make([]*request, n)
	copy(batch, r.queue)
	if n == len(r.queue) {
		r.queue = r.queue[:0]
	} else {
		r.queue = append(r.queue[:0], r.queue[n:]...)
	}
	return batch
}

// awaitLead waits until nobody commits, then leads.
func (r *Recorder) awaitLead() {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	for r.leading {
		r.idle.Wait()
	}
	r.leading = true
}

// release ends the caller's leadership: its own event is committed, so a
// new goroutine leads whatever queued meanwhile.
func (r *Recorder) release() {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if len(r.queue) == 0 {
		r.leading = false
		r.idle.Broadcast()
		return
	}
	go r.lead()
}

// lead commits batches until the queue is empty.
func (r *Recorder) lead() {
	for {
		r.qmu.Lock()
		if len(r.queue) == 0 {
			r.leading = false
			r.idle.Broadcast()
			r.qmu.Unlock()
			return
		}
		r.gatherLocked()
		batch := r.takeLocked()
		r.qmu.Unlock()
		r.commit(batch, false)
	}
}

// gatherWait bounds how long a leader waits for callers that are inside
// Append but not yet queued (like PostgreSQL's commit_delay): a few
// microseconds spent here save a transaction each.
const gatherWait = 200 * time.Microsecond

// gatherLocked lets callers that have entered Append, and are still
// encoding their event, join the batch. A caller alone never waits.
func (r *Recorder) gatherLocked() {
	if int64(len(r.queue)) >= r.inflight.Load() {
		return
	}
	deadline := time.Now().Add(gatherWait)
	for int64(len(r.queue)) < r.inflight.Load() && len(r.queue) < r.opt.MaxBatch && time.Now().Before(deadline) {
		r.qmu.Unlock()
		runtime.Gosched()
		r.qmu.Lock()
	}
}

// ticker seals the chain when events have waited CheckpointInterval. Only
// a recorder that wrote since the last checkpoint it saw does so, so idle
// replicas do not poll the store.
func (r *Recorder) ticker() {
	defer close(r.tickDone)
	t := time.NewTicker(max(r.opt.CheckpointInterval/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-r.tickStop:
			return
		case <-t.C:
		}
		r.qmu.Lock()
		if r.leading || !r.unsealed || r.closed {
			r.qmu.Unlock() // a leader's batch checks the time itself
			continue
		}
		r.leading = true
		r.qmu.Unlock()
		r.commit(nil, false)
		r.release()
	}
}

// commit writes one batch (possibly empty) and a checkpoint when due or
// when final is set, then answers every caller of the batch.
func (r *Recorder) commit(batch []*request, final bool) error {
	live := batch[:0]
	for _, q := range batch {
		if err := q.ctx.Err(); err != nil {
			q.done <- result{err: fmt.Errorf("%w: %w", ErrNotRecorded, err)} // dropped before writing
			continue
		}
		live = append(live, q)
	}
	if len(batch) > 0 && len(live) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	var first int64
	h, err := r.log.Append(ctx, func(h store.Head) (store.Batch, error) {
		first = h.Seq + 1
		return r.build(h, live, final), nil
	})
	if err != nil {
		r.zl.Error("audit append failed: the batch's waiting calls are refused, its queued events lost", zap.Int("events", len(live)), zap.Error(err))
		for _, q := range live {
			q.done <- result{err: fmt.Errorf("%w: %w", ErrNotRecorded, err)}
		}
		return err
	}
	r.committed(h, live, first)
	return nil
}

// committed answers the callers of a committed batch whose first event
// got seq first, and wakes what waits for commits.
func (r *Recorder) committed(h store.Head, live []*request, first int64) {
	for i, q := range live {
		q.done <- result{seq: first + int64(i)}
	}
	r.qmu.Lock()
	r.unsealed = h.Checkpoint == nil || h.Checkpoint.Seq < h.Seq
	r.qmu.Unlock()
	r.wakeMu.Lock()
	close(r.wake)
	r.wake = make(chan struct{})
	r.wakeMu.Unlock()
}

// build chains the batch onto head h and adds a checkpoint if due. It runs
// inside the store's transaction, so it only hashes and signs.
func (r *Recorder) build(h store.Head, live []*request, final bool) store.Batch {
	var b store.Batch
	seq, prev := h.Seq, h.Hash
	if len(live) > 0 {
		b.Records = make([]store.Record, len(live))
	}
	for i, q := range live {
		seq++
		rec := q.rec
		rec.Seq, rec.PrevHash = seq, prev
		rec.Hash = chainHash(seq, q.body, prev)
		prev = rec.Hash
		b.Records[i] = rec
	}
	// Before the first checkpoint, time counts from this recorder's start.
	// The signed head is written with every checkpoint and lives in the
	// locked head row, so it is the freshest view of the last one when
	// another replica has just written it.
	cpSeq, cpTime := int64(0), r.started
	if c := h.Signed; c != nil {
		cpSeq, cpTime = c.Seq, c.Time
	} else if c := h.Checkpoint; c != nil {
		cpSeq, cpTime = c.Seq, c.Time
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	unsealed := seq - cpSeq
	due := unsealed > 0 && (final || unsealed >= int64(r.opt.CheckpointEvery) || now.Sub(cpTime) >= r.opt.CheckpointInterval)
	if due {
		b.Checkpoint = r.sign(checkpointContext, seq, prev, now)
		b.Signed = r.sign(headContext, seq, prev, now)
	}
	return b
}

func (r *Recorder) sign(context string, seq int64, hash string, t time.Time) *store.Checkpoint {
	return &store.Checkpoint{Seq: seq, Hash: hash, Time: t, KeyID: r.keyID,
		Signature: ed25519.Sign(r.opt.SigningKey, signedMessage(context, seq, hash, t))}
}

// Checkpoint seals the chain now if anything is unsealed.
func (r *Recorder) Checkpoint(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	_, err := r.log.Append(ctx, func(h store.Head) (store.Batch, error) {
		return r.build(h, nil, true), nil
	})
	if err != nil {
		return fmt.Errorf("recorder: checkpoint: %w", err)
	}
	return nil
}
