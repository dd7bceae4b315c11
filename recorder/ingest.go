package recorder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"go.uber.org/zap"
)

// ErrBacklog is returned when too many journaled events wait for a store
// that is not taking them: recording fails closed rather than growing
// without bound.
var ErrBacklog = errors.New("recorder: the audit store is not keeping up")

// How journalWrite treats an event.
type journalMode int

const (
	journalDurable journalMode = iota // durable before returning (fdatasync in fsync mode)
	journalUrgent                     // durable, and the caller waits for the store: ingest now
	journalLazy                       // written, not synced: the next sync or the store commit covers it
)

// journalWrite appends req to the journal and queues it for ingestion.
func (r *Recorder) journalWrite(req *request, mode journalMode) error {
	req.ctx = context.Background() // durable from here on: never dropped
	j := r.j
	j.mu.Lock()
	if r.jclosed {
		j.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrNotRecorded, ErrClosed)
	}
	if len(r.pending) >= r.opt.MaxPending {
		j.mu.Unlock()
		return fmt.Errorf("%w: %w: %d events wait to be stored", ErrNotRecorded, ErrBacklog, len(r.pending))
	}
	if j.size >= j.rotateAt {
		if err := j.sealLocked(); err != nil {
			// Keep writing to the current file; try again after as much
			// again, rather than at every write.
			j.rotateAt = j.size + journalRotateAt
			r.zl.Warn("audit journal not rotated", zap.Error(err))
		} else if sealed := j.sealed[len(j.sealed)-1].name; !r.pendingIn(sealed) {
			r.dropJournal(sealed)
		}
	}
	end, err := j.writeLocked(&req.rec)
	if err != nil {
		// Cut a partial frame off so the frames after it stay readable.
		if terr := j.f.Truncate(j.size); terr != nil {
			r.jclosed = true
			r.zl.Error("audit journal unusable: recording stops", zap.Error(errors.Join(err, terr)))
		}
		j.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	f := j.f
	req.jfile, req.jend = j.name, end
	r.pending = append(r.pending, req)
	j.mu.Unlock()
	if mode == journalLazy {
		end = 0
	}
	if err := j.sync(f, end); err != nil {
		// The frame may reach the store anyway; the caller must still
		// treat it as not recorded and not run the call.
		return fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	wake := r.ingestWake
	if mode == journalUrgent {
		wake = r.ingestNow
	}
	select {
	case wake <- struct{}{}:
	default:
	}
	return nil
}

// ingestLoop moves journaled events into the store: after a wake-up it
// waits IngestDelay so one transaction carries many events.
func (r *Recorder) ingestLoop() {
	defer close(r.ingestDone)
	delay := time.NewTimer(time.Hour)
	delay.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-r.ingestStop:
			return
		case <-r.ingestNow:
		case <-r.ingestWake:
			delay.Reset(r.opt.IngestDelay)
			select {
			case <-delay.C:
			case <-r.ingestNow:
				delay.Stop()
			case <-r.ingestStop:
				delay.Stop()
				return
			}
		}
		if err := r.ingestPending(); err != nil {
			backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
			if backoff == 10*time.Millisecond {
				r.zl.Error("audit store unavailable: journaled events wait for it", zap.Error(err))
			}
			select {
			case <-time.After(backoff):
			case <-r.ingestStop:
				return
			}
			select { // try again even if nobody writes meanwhile
			case r.ingestWake <- struct{}{}:
			default:
			}
			continue
		}
		backoff = 0
	}
}

// ingestPending commits every pending event, MaxBatch per transaction and
// one journal file per transaction (the cursor names one file), and
// deletes each sealed file once its last frame is stored.
func (r *Recorder) ingestPending() error {
	for {
		r.j.mu.Lock()
		n := min(len(r.pending), r.opt.MaxBatch)
		for i := 1; i < n; i++ {
			if r.pending[i].jfile != r.pending[0].jfile {
				n = i
				break
			}
		}
		batch := append([]*request(nil), r.pending[:n]...)
		forget := r.forget
		r.forget = nil
		r.j.mu.Unlock()
		for _, name := range forget {
			r.forgetCursor(name)
		}
		if n == 0 {
			return nil
		}
		if err := r.commitJournaled(batch); err != nil {
			return err
		}
		file := batch[0].jfile
		r.j.mu.Lock()
		r.pending = append(r.pending[:0], r.pending[n:]...)
		if !r.pendingIn(file) {
			r.dropJournal(file) // its cursor goes on the next round
		}
		r.j.mu.Unlock()
	}
}

// pendingIn reports whether an event of journal file name waits to be
// stored, for the oldest file with events waiting (after a commit) or the
// newest (when it is sealed): pending is in journal order, so their
// events are at its head or its tail. The caller holds r.j.mu.
func (r *Recorder) pendingIn(name string) bool {
	n := len(r.pending)
	return n > 0 && (r.pending[0].jfile == name || r.pending[n-1].jfile == name)
}

// dropJournal deletes the sealed journal file name, all of whose frames
// are stored; ingestPending removes its cursor, outside the lock.
// The caller holds r.j.mu.
func (r *Recorder) dropJournal(name string) {
	if r.j.dropLocked(name) {
		r.forget = append(r.forget, name)
	}
}

// commitJournaled commits batch (all from one journal file) with the
// journal's cursor, so a restart resumes after the last stored frame.
func (r *Recorder) commitJournaled(batch []*request) error {
	r.awaitLead()
	defer r.release()
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	last := batch[len(batch)-1]
	var first int64
	h, err := r.log.Append(ctx, func(h store.Head) (store.Batch, error) {
		first = h.Seq + 1
		b := r.build(h, batch, false)
		b.Cursor = &store.CursorPosition{Name: cursorPrefix + last.jfile, Value: last.jend}
		return b, nil
	})
	if err != nil {
		return fmt.Errorf("recorder: ingest: %w", err)
	}
	r.committed(h, batch, first)
	return nil
}

func (r *Recorder) forgetCursor(file string) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := r.log.DeleteCursor(ctx, cursorPrefix+file); err != nil {
		r.zl.Warn("journal cursor not removed", zap.String("journal", file), zap.Error(err))
	}
}

// closeJournal stops new writes, moves every pending event into the store
// and deletes the journal. Events the store does not take within
// writeTimeout stay in the journal for the next start.
func (r *Recorder) closeJournal() error {
	if r.j == nil {
		return nil
	}
	r.j.mu.Lock()
	r.jclosed = true
	r.j.mu.Unlock()
	close(r.ingestStop)
	<-r.ingestDone
	deadline := time.Now().Add(writeTimeout)
	var err error
	for {
		if err = r.ingestPending(); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	name := r.j.name
	if cerr := r.j.close(err == nil); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		r.j.mu.Lock()
		left := len(r.pending)
		r.j.mu.Unlock()
		r.zl.Error("audit events left in the journal for the next start", zap.Int("events", left),
			zap.String("journal", filepath.Join(r.j.dir, name)), zap.Error(err))
		return fmt.Errorf("recorder: close: %d events left in the journal: %w", left, err)
	}
	r.forgetCursor(name)
	return nil
}

// recoverJournals moves into the store the events of journals whose
// process died, from the cursor each left in the store, then deletes
// them.
func (r *Recorder) recoverJournals(ctx context.Context) error {
	files, err := orphanJournals(r.opt.Journal)
	if err != nil {
		return err
	}
	for _, f := range files {
		err := r.recoverJournal(ctx, f)
		_ = f.Close()
		if err != nil {
			for _, rest := range files {
				_ = rest.Close()
			}
			return err
		}
	}
	return nil
}

func (r *Recorder) recoverJournal(ctx context.Context, f *os.File) error {
	name := filepath.Base(f.Name())
	ents, err := unstored(ctx, r.log, f)
	if err != nil {
		return fmt.Errorf("recorder: recover %s: %w", name, err)
	}
	recovered := len(ents)
	for len(ents) > 0 {
		n := min(len(ents), r.opt.MaxBatch)
		batch := make([]*request, n)
		for i, e := range ents[:n] {
			batch[i] = newRequest(ctx, e.rec)
			batch[i].jfile, batch[i].jend = name, e.end
		}
		if err := r.commitJournaled(batch); err != nil {
			return fmt.Errorf("recorder: recover %s: %w", name, err)
		}
		ents = ents[n:]
	}
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("recorder: recover %s: %w", name, err)
	}
	if err := r.log.DeleteCursor(ctx, cursorPrefix+name); err != nil {
		return fmt.Errorf("recorder: recover %s: %w", name, err)
	}
	if recovered > 0 {
		r.zl.Warn("recovered audit events from the journal of a gateway that stopped without storing them",
			zap.String("journal", name), zap.Int("events", recovered))
	}
	return nil
}
