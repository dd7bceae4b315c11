package store

import (
	"context"
	"errors"
	"time"
)

// Store is an open store: every role the gateway's state has. Today that
// is the audit trail; approvals, grants and revocations join it later.
type Store interface {
	AuditLog
	Approvals
	Grants
	Revocations
	// Driver names the backend: "sqlite" or "postgres".
	Driver() string
	Close() error
}

// AuditLog is the audit trail's storage role: an append-only sequence of
// chained events, the checkpoints that seal it, the chain head, the sink
// cursors and the legal hold flag.
type AuditLog interface {
	// Append opens one write transaction, locks the chain head, and calls
	// build with it. build returns the records to insert (their Seq must
	// continue head.Seq without gaps and their PrevHash link to head.Hash)
	// and, optionally, a checkpoint and signed head. Everything commits
	// together or not at all; Append returns once it is durable at the
	// store's durability level. build may be called again if the
	// transaction is retried, so it must not have side effects.
	Append(ctx context.Context, build func(Head) (Batch, error)) (Head, error)
	// Head returns the current chain head.
	Head(ctx context.Context) (Head, error)
	// Events returns up to limit events with Seq > after, in Seq order.
	Events(ctx context.Context, after int64, limit int) ([]Record, error)
	// Checkpoints returns every checkpoint, in Seq order.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
	// Search returns the events q selects, in Seq order.
	Search(ctx context.Context, q Query) ([]Record, error)
	// Sessions summarises the sessions q selects, newest first.
	Sessions(ctx context.Context, q Query) ([]Session, error)
	// Cursor returns a sink's last delivered Seq (0 when it has none).
	Cursor(ctx context.Context, sink string) (int64, error)
	// SetCursor records that sink delivered everything up to seq.
	SetCursor(ctx context.Context, sink string, seq int64) error
	// DeleteCursor forgets a cursor that is no longer used.
	DeleteCursor(ctx context.Context, name string) error
	// LegalHold reports whether purging is suspended.
	LegalHold(ctx context.Context) (bool, error)
	// SetLegalHold sets or clears the legal hold.
	SetLegalHold(ctx context.Context, on bool) error
	// Purge deletes the events with Seq <= through and the checkpoints
	// before through. A checkpoint at through must exist: it anchors the
	// first remaining event. It fails with ErrLegalHold while a hold is set.
	Purge(ctx context.Context, through int64) (PurgeStats, error)
}

// Record is one stored audit event. Data is the canonical JSON payload,
// stored byte for byte as hashed. Tool, Connection and Decision are search
// columns copied from call.intent payloads (verify checks they agree).
type Record struct {
	Seq        int64
	Time       time.Time // UTC, microsecond precision
	Type       string
	Version    int
	CallID     string
	SessionID  string
	Subject    string
	Verified   bool
	Data       []byte
	Tool       string
	Connection string
	Decision   string
	PrevHash   string
	Hash       string
}

// Checkpoint is a signature over the hash of the event at Seq. The signed
// head has the same shape with another signing context.
type Checkpoint struct {
	Seq       int64
	Hash      string
	Time      time.Time // UTC, microsecond precision
	KeyID     string
	Signature []byte
}

// Head is the end of the chain. Seq and Hash move with every batch;
// Checkpoint is the newest checkpoint and Signed the signed head written
// with it (both nil before the first).
type Head struct {
	Seq        int64
	Hash       string
	Checkpoint *Checkpoint
	Signed     *Checkpoint
}

// Batch is what one Append writes.
type Batch struct {
	Records    []Record
	Checkpoint *Checkpoint // must cover the last record (or head.Seq)
	Signed     *Checkpoint // the signed head, written with Checkpoint
	// Cursor, when set, is stored in the same transaction: a writer that
	// moves records from a journal marks how far it got, so a restart
	// neither loses nor repeats any of them.
	Cursor *CursorPosition
}

// CursorPosition names a cursor and its new value.
type CursorPosition struct {
	Name  string
	Value int64
}

// Query selects events or sessions. Zero fields do not filter. Tool,
// Connection and Decision select calls whose intent matches; all the
// events of those calls are returned.
type Query struct {
	Subject    string
	SessionID  string
	CallID     string
	Types      []string
	Tool       string
	Connection string
	Decision   string
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	AfterSeq   int64
	Limit      int // 0: no limit
}

// Session summarises one session's events.
type Session struct {
	SessionID string
	Subject   string
	Verified  bool
	First     time.Time
	Last      time.Time
	Events    int64
	Calls     int64 // call.intent events
	Denied    int64 // intents whose decision was deny
}

// PurgeStats says what a purge removed.
type PurgeStats struct {
	Events      int64
	Checkpoints int64
}

// Errors.
var (
	ErrLegalHold   = errors.New("store: a legal hold is set: purging is suspended")
	ErrNoAnchor    = errors.New("store: purge: no checkpoint at the purge boundary")
	ErrUnknownType = errors.New("store: unknown driver")
)

// Durability says what a committed append survives.
type Durability string

// Durability levels.
const (
	// DurabilityProcess survives a crash of the gateway process (kill -9)
	// but not of the machine: SQLite synchronous=NORMAL in WAL mode;
	// PostgreSQL keeps the server's synchronous_commit.
	DurabilityProcess Durability = "process"
	// DurabilityFsync survives power loss: every commit group is fsynced
	// (SQLite synchronous=FULL; PostgreSQL synchronous_commit=on).
	DurabilityFsync Durability = "fsync"
)
