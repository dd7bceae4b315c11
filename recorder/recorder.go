package recorder

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"go.uber.org/zap"
)

// ErrNotRecorded wraps every failure to persist an event. The gateway
// treats it as "do not run the call": no recording, no execution.
var ErrNotRecorded = errors.New("recorder: the audit record could not be written")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("recorder: closed")

// Options configure a Recorder.
type Options struct {
	// SigningKey signs checkpoints. Required.
	SigningKey ed25519.PrivateKey
	// CheckpointEvery seals the chain after this many events (1000).
	CheckpointEvery int
	// CheckpointInterval seals the chain when events are this old and
	// unsealed (10s).
	CheckpointInterval time.Duration
	// MaxBatch bounds how many events one group commit writes (1000).
	MaxBatch int
	// Masker, when set, masks every payload string before it is stored.
	Masker Masker
	// MaxString cuts longer payload strings (64 KiB); negative: no bound.
	MaxString int
	// Retention purges events older than this (0: keep forever).
	Retention time.Duration
	// PurgeInterval is how often retention runs (1h).
	PurgeInterval time.Duration
	// Log receives operational messages (never payloads). Nil: none.
	Log *zap.Logger
	// Journal, when set, is a directory for this process's write-ahead
	// journal: Write, Enqueue and Append are durable once their event is
	// in the journal, and events move into the store in batches every
	// IngestDelay. Journals left by a process that died are moved into
	// the store by New. Empty: every event is committed to the store
	// before it is acknowledged.
	Journal string
	// JournalFsync makes every journal write survive power loss
	// (fdatasync per group of writes), not only a crash of the process.
	JournalFsync bool
	// IngestDelay is how long journaled events wait to be batched into
	// the store (20ms): a bound on how late readers of the store see
	// them. Each commit rewrites the pages its events touch (the table
	// and its four indexes), so fewer, larger commits cost less per
	// event: 20ms instead of 5ms takes 7-10% off the gateway's CPU per
	// call under load.
	IngestDelay time.Duration
	// MaxPending bounds the journaled events not yet in the store
	// (100000). Past it, appends fail: the store is not keeping up.
	MaxPending int
}

// Recorder appends events to the audit chain. Appends from many goroutines
// are group-committed: one caller at a time leads, writing everything
// queued in one transaction and answering the others once it is durable;
// while it writes, new appends queue for the next leader. A caller alone
// commits its own event without handing it to another goroutine.
type Recorder struct {
	log   store.AuditLog
	opt   Options
	zl    *zap.Logger
	canon canonicalizer
	keyID string

	qmu      sync.Mutex // guards queue, leading, closed, unsealed
	queue    []*request
	leading  bool       // someone is committing; new requests just queue
	idle     *sync.Cond // broadcast when leading turns false
	closed   bool
	unsealed bool // events seen are not yet sealed: the ticker checkpoints
	tickStop chan struct{}
	tickDone chan struct{}
	closeOne sync.Once
	inflight atomic.Int64 // callers inside Append: who a leader may wait for

	wakeMu sync.Mutex
	wake   chan struct{} // closed and replaced after every commit

	// Journal mode (Options.Journal): j is the journal, pending the events
	// written to it and not yet in the store, in journal order (guarded by
	// j.mu, which orders both).
	j          *journal
	pending    []*request
	forget     []string // guarded by j.mu: cursors of dropped journal files
	jclosed    bool
	ingestWake chan struct{}
	ingestNow  chan struct{}
	ingestStop chan struct{}
	ingestDone chan struct{}

	stopRetention context.CancelFunc
	finalErr      error // the final checkpoint's, reported by Close
	started       time.Time
}

type request struct {
	ctx   context.Context
	rec   store.Record
	body  []byte
	async bool // nobody waits on done
	done  chan result
	// jfile and jend place a journaled event: its file and the offset
	// after its frame.
	jfile string
	jend  int64
}

type result struct {
	seq int64
	err error
}

// New starts a recorder writing to log. It does not own log: close the
// recorder first, then the store.
func New(ctx context.Context, log store.AuditLog, opt Options) (*Recorder, error) {
	if len(opt.SigningKey) != ed25519.PrivateKeySize {
		return nil, errors.New("recorder: new: an Ed25519 signing key is required")
	}
	if opt.CheckpointEvery <= 0 {
		opt.CheckpointEvery = 1000
	}
	if opt.CheckpointInterval <= 0 {
		opt.CheckpointInterval = 10 * time.Second
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 1000
	}
	if opt.MaxString == 0 {
		opt.MaxString = 64 << 10
	}
	if opt.PurgeInterval <= 0 {
		opt.PurgeInterval = time.Hour
	}
	if opt.IngestDelay <= 0 {
		opt.IngestDelay = 20 * time.Millisecond
	}
	if opt.MaxPending <= 0 {
		opt.MaxPending = 100000
	}
	zl := opt.Log
	if zl == nil {
		zl = zap.NewNop()
	}
	if _, err := log.Head(ctx); err != nil {
		return nil, fmt.Errorf("recorder: new: %w", err)
	}
	r := &Recorder{
		log: log, opt: opt, zl: zl,
		canon:    canonicalizer{mask: opt.Masker, maxString: opt.MaxString},
		keyID:    KeyID(opt.SigningKey.Public().(ed25519.PublicKey)),
		tickStop: make(chan struct{}),
		tickDone: make(chan struct{}),
		wake:     make(chan struct{}),
		started:  time.Now(),
	}
	r.idle = sync.NewCond(&r.qmu)
	if opt.Journal != "" {
		if err := r.recoverJournals(ctx); err != nil {
			return nil, err
		}
		j, err := openJournal(opt.Journal, opt.JournalFsync)
		if err != nil {
			return nil, err
		}
		r.j = j
		r.ingestWake, r.ingestNow = make(chan struct{}, 1), make(chan struct{}, 1)
		r.ingestStop, r.ingestDone = make(chan struct{}), make(chan struct{})
		go r.ingestLoop()
	}
	go r.ticker()
	if opt.Retention > 0 {
		rctx, cancel := context.WithCancel(context.Background())
		r.stopRetention = cancel
		go r.retentionLoop(rctx)
	}
	return r, nil
}

// KeyID identifies the signing key's public half.
func (r *Recorder) KeyID() string { return r.keyID }

// PublicKey is the public half of the signing key.
func (r *Recorder) PublicKey() ed25519.PublicKey {
	return r.opt.SigningKey.Public().(ed25519.PublicKey)
}

// Committed returns a channel closed after the next commit, so sinks
// in this process wake up at once instead of polling.
func (r *Recorder) Committed() <-chan struct{} {
	r.wakeMu.Lock()
	defer r.wakeMu.Unlock()
	return r.wake
}

// Append records ev and returns its sequence number once it is durable.
// ev.Time defaults to now; Seq, PrevHash and Hash are assigned here. On
// error nothing may be assumed recorded: the caller must not run the call.
// If ctx ends while the event is queued, it is dropped; once its batch is
// being written it may still be recorded although Append returned ctx's
// error.
func (r *Recorder) Append(ctx context.Context, ev Event) (int64, error) {
	r.inflight.Add(1)
	defer r.inflight.Add(-1)
	req, err := r.prepare(ctx, ev)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrNotRecorded, ev.Type, err)
	}
	if r.j != nil {
		err = r.journalWrite(req, journalUrgent)
	} else {
		err = r.submit(req)
	}
	if err != nil {
		return 0, err
	}
	select {
	case res := <-req.done: // a leader has its answer already: prefer it to ctx
		return res.seq, res.err
	default:
	}
	select {
	case res := <-req.done:
		return res.seq, res.err
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: %w", ErrNotRecorded, ctx.Err())
	}
}

// Write records ev durably and returns. With a journal, the event is
// durable once it is in the journal, and it joins the chain at the next
// ingestion (within IngestDelay); without one, Write is Append. The
// gateway writes a call's intent this way: it must be durable before the
// call runs, not yet readable.
func (r *Recorder) Write(ctx context.Context, ev Event) error {
	if r.j == nil {
		_, err := r.Append(ctx, ev)
		return err
	}
	req, err := r.prepare(ctx, ev)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotRecorded, ev.Type, err)
	}
	return r.journalWrite(req, journalDurable)
}

// Enqueue queues ev for the next group commit and returns without waiting
// for it to be durable. It suits events written after the fact, such as a
// call's result: the call has run whatever happens, and a crash before the
// commit leaves its intent without outcome ("outcome unknown"), which
// verify and replay report. A failed commit is logged. The error is only
// for an event that cannot be encoded, or a closed recorder.
func (r *Recorder) Enqueue(ev Event) error {
	req, err := r.prepare(context.Background(), ev)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotRecorded, ev.Type, err)
	}
	req.async = true
	if r.j != nil {
		// One write, no fdatasync: a crash of the process loses nothing,
		// and with fsync on, the next intent's sync or the store commit
		// covers it against power loss.
		return r.journalWrite(req, journalLazy)
	}
	return r.submit(req)
}

// prepare does the per-event work outside the writer: canonical payload,
// masking, search columns and the position-independent part of the hash.
func (r *Recorder) prepare(ctx context.Context, ev Event) (*request, error) {
	if ev.Type == "" {
		return nil, errors.New("event without a type")
	}
	if ev.Version == 0 {
		ev.Version = CurrentVersion
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	canon := r.canon
	if ev.PreMasked {
		canon.mask = nil
	}
	canon.keep = actorKeys[ev.Type]
	var cols searchCols
	want := &cols
	if ev.Type != TypeCallIntent {
		want = nil
	}
	data, err := canon.canonical(ev.Data, want)
	if err != nil {
		return nil, err
	}
	rec := store.Record{Time: ev.Time, Type: ev.Type, Version: ev.Version, CallID: ev.CallID,
		SessionID: ev.SessionID, Subject: ev.Subject, Verified: ev.Verified, Data: data}
	if want != nil {
		rec.Tool, rec.Connection, rec.Decision = cols.columns()
	}
	return newRequest(ctx, rec), nil
}

// newRequest computes the position-independent part of rec's hash.
func newRequest(ctx context.Context, rec store.Record) *request {
	b := body(recordFields{time: rec.Time, typ: rec.Type, version: rec.Version, callID: rec.CallID,
		sessionID: rec.SessionID, subject: rec.Subject, verified: rec.Verified, data: rec.Data})
	return &request{ctx: ctx, rec: rec, body: b, done: make(chan result, 1)}
}

// searchColumns extracts an intent's tool, connection and decision
// outcome from its decoded payload.
func searchColumns(top map[string]any) (tool, conn, decision string) {
	tool, _ = top["tool"].(string)
	conn, _ = top["connection"].(string)
	if d, ok := top["decision"].(map[string]any); ok {
		allow, _ := d["allow"].(bool)
		req, _ := d["require_approval"].(bool)
		decision = (&DecisionData{Allow: allow, RequireApproval: req}).Outcome()
	}
	return tool, conn, decision
}

// Close writes what is queued and a final checkpoint, then stops. It does
// not close the store.
func (r *Recorder) Close() error {
	r.closeOne.Do(func() {
		r.qmu.Lock()
		r.closed = true
		r.qmu.Unlock()
		jerr := r.closeJournal()
		if r.stopRetention != nil {
			r.stopRetention()
		}
		close(r.tickStop)
		<-r.tickDone
		r.awaitLead() // the last leader drains the queue first
		r.finalErr = errors.Join(jerr, r.commit(nil, true))
	})
	return r.finalErr
}
