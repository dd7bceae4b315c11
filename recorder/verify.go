package recorder

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/airlockhq/airlock/internal/store"
)

// Problem kinds: each names what an attacker (or a fault) did.
const (
	KindModified   = "modified"   // the record's content does not hash to its hash
	KindReordered  = "reordered"  // neither hash nor link fit: swapped, moved or replaced
	KindLink       = "link"       // the record does not link to its predecessor
	KindMissing    = "missing"    // a gap in the sequence
	KindTruncated  = "truncated"  // sealed or recorded events past the end are gone
	KindCheckpoint = "checkpoint" // a checkpoint disagrees with the events or is missing
	KindSignature  = "signature"  // a signature is invalid or by an unknown key
	KindHead       = "head"       // the head row disagrees with the events
	KindIndex      = "index"      // search columns disagree with the hashed payload
	KindPurge      = "purge"      // the start of the chain is gone without a recorded purge
	KindUnsealed   = "unsealed"   // events after the last checkpoint (only with RequireSealed)
)

// Problem is one integrity failure, at the first sequence number it
// concerns.
type Problem struct {
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func (p Problem) String() string { return fmt.Sprintf("seq %d: %s", p.Seq, p.Message) }

// Unknown is a call whose intent was recorded but whose outcome was not:
// the gateway stopped (or is still running the call).
type Unknown struct {
	Seq    int64  `json:"seq"`
	CallID string `json:"call_id"`
}

// Report is the result of Verify. The trail is intact when Problems is
// empty; the first problem (lowest Seq) is what to look at first.
type Report struct {
	FirstSeq       int64     `json:"first_seq"`
	LastSeq        int64     `json:"last_seq"`
	Events         int64     `json:"events"`
	Checkpoints    int       `json:"checkpoints"`
	LastCheckpoint int64     `json:"last_checkpoint"`
	Unsealed       int64     `json:"unsealed"`
	OutcomeUnknown []Unknown `json:"outcome_unknown"`
	Problems       []Problem `json:"problems"`
	MoreProblems   int       `json:"more_problems,omitempty"` // beyond the first 1000
	Warnings       []string  `json:"warnings"`
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Keys are the trusted checkpoint keys (current and retired ones).
	Keys []ed25519.PublicKey
	// RequireSealed makes an unsealed tail a failure instead of a warning.
	RequireSealed bool
	// PageSize is how many events are read at a time (1000).
	PageSize int
}

type verifier struct {
	rep      Report
	keys     map[string]ed25519.PublicKey
	cps      map[int64]store.Checkpoint
	head     store.Head
	next     int64 // the seq the next event should have
	prev     string
	linked   bool // prev is known, so the next link can be checked
	open     map[string]int64
	purges   map[int64]bool // through_seq of retention.purged events
	hashAt   map[int64]string
	wantAt   map[int64]bool // seqs whose stored hash later checks need
	lastCp   *store.Checkpoint
	started  bool
	anchored bool // the first retained event (after a purge) has its anchor
}

// Verify checks the whole retained trail: every hash and link, sequence
// continuity, every checkpoint's signature and its match with the event
// it seals, the head and signed head, the search columns, and that a
// missing start was a recorded purge. It returns an error only when the
// store cannot be read.
func Verify(ctx context.Context, log store.AuditLog, opt VerifyOptions) (*Report, error) {
	if opt.PageSize <= 0 {
		opt.PageSize = 1000
	}
	v := &verifier{keys: map[string]ed25519.PublicKey{}, cps: map[int64]store.Checkpoint{},
		open: map[string]int64{}, purges: map[int64]bool{}, hashAt: map[int64]string{}, wantAt: map[int64]bool{}}
	for _, k := range opt.Keys {
		v.keys[KeyID(k)] = k
	}
	var err error
	if v.head, err = log.Head(ctx); err != nil {
		return nil, fmt.Errorf("recorder: verify: %w", err)
	}
	cps, err := log.Checkpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("recorder: verify: %w", err)
	}
	v.rep.Checkpoints = len(cps)
	for i, c := range cps {
		v.cps[c.Seq] = c
		v.checkSignature(c, checkpointContext, "checkpoint")
		v.lastCp = &cps[i]
	}
	if s := v.head.Signed; s != nil {
		v.wantAt[s.Seq] = true
	}
	for after := int64(0); ; {
		page, err := log.Events(ctx, after, opt.PageSize)
		if err != nil {
			return nil, fmt.Errorf("recorder: verify: %w", err)
		}
		for _, r := range page {
			v.event(r)
		}
		if len(page) < opt.PageSize {
			break
		}
		after = page[len(page)-1].Seq
	}
	v.finish(opt)
	sort.SliceStable(v.rep.Problems, func(i, j int) bool { return v.rep.Problems[i].Seq < v.rep.Problems[j].Seq })
	return &v.rep, nil
}

// maxProblems bounds the report of a badly damaged trail; the rest are
// only counted.
const maxProblems = 1000

func (v *verifier) problem(seq int64, kind, format string, args ...any) {
	if len(v.rep.Problems) >= maxProblems {
		v.rep.MoreProblems++
		return
	}
	v.rep.Problems = append(v.rep.Problems, Problem{Seq: seq, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (v *verifier) checkSignature(c store.Checkpoint, context, what string) {
	k, ok := v.keys[c.KeyID]
	if !ok {
		v.problem(c.Seq, KindSignature, "%s signed by unknown key %s (forged, or verify lacks a retired key)", what, c.KeyID)
		return
	}
	if !ed25519.Verify(k, signedMessage(context, c.Seq, c.Hash, c.Time), c.Signature) {
		v.problem(c.Seq, KindSignature, "%s signature is invalid (forged or altered %s)", what, what)
	}
}

// start anchors the first retained event: genesis for seq 1, else the
// checkpoint kept by the purge that removed the events before it.
func (v *verifier) start(r store.Record) {
	v.started = true
	v.rep.FirstSeq = r.Seq
	v.next = r.Seq
	if r.Seq == 1 {
		v.prev, v.linked = GenesisHash, true
		return
	}
	anchor, ok := v.cps[r.Seq-1]
	if !ok {
		v.problem(1, KindPurge, "missing: events 1..%d are gone and no checkpoint at seq %d anchors the rest (the start of the chain was deleted)", r.Seq-1, r.Seq-1)
		return
	}
	v.prev, v.linked, v.anchored = anchor.Hash, true, true
}

func (v *verifier) event(r store.Record) {
	if !v.started {
		v.start(r)
	}
	if r.Seq > v.next {
		v.problem(v.next, KindMissing, "missing: records %d..%d were deleted", v.next, r.Seq-1)
		v.linked = false
	}
	e := FromRecord(r)
	selfOK := HashEvent(e) == r.Hash
	linkOK := !v.linked || r.PrevHash == v.prev
	switch {
	case !selfOK && linkOK:
		v.problem(r.Seq, KindModified, "hash mismatch (record was modified)")
	case !selfOK:
		v.problem(r.Seq, KindReordered, "record out of order: neither its hash nor its link to seq %d match (records swapped, moved or replaced)", r.Seq-1)
	case !linkOK:
		v.problem(r.Seq, KindLink, "does not link to seq %d (seq %d was modified and re-hashed, or a record was inserted)", r.Seq-1, r.Seq-1)
	}
	v.checkIndex(r)
	if c, ok := v.cps[r.Seq]; ok && c.Hash != r.Hash {
		v.problem(r.Seq, KindCheckpoint, "checkpoint does not match the event (the events up to seq %d were rewritten)", r.Seq)
	}
	if v.wantAt[r.Seq] {
		v.hashAt[r.Seq] = r.Hash
	}
	// The stored hash, not the recomputed one, links on: one edited record
	// is one problem, not a cascade.
	v.prev, v.linked, v.next = r.Hash, true, r.Seq+1
	v.rep.LastSeq = r.Seq
	v.rep.Events++
	v.track(e)
}

// checkIndex catches search columns edited to hide a call from search.
func (v *verifier) checkIndex(r store.Record) {
	var tool, conn, decision string
	if r.Type == TypeCallIntent {
		var top map[string]any
		if err := json.Unmarshal(r.Data, &top); err == nil {
			tool, conn, decision = searchColumns(top)
		}
	}
	if r.Tool != tool || r.Connection != conn || r.Decision != decision {
		v.problem(r.Seq, KindIndex, "search columns altered: tool %q, connection %q, decision %q, but the hashed payload says %q, %q, %q",
			r.Tool, r.Connection, r.Decision, tool, conn, decision)
	}
}

func (v *verifier) track(e Event) {
	switch e.Type {
	case TypeCallIntent:
		if e.CallID != "" {
			v.open[e.CallID] = e.Seq
		}
	case TypeCallResult, TypeCallError:
		delete(v.open, e.CallID)
	case TypeRetentionPurged:
		var p PurgeData
		if json.Unmarshal(e.Data, &p) == nil {
			v.purges[p.ThroughSeq] = true
		}
	}
}

func (v *verifier) finish(opt VerifyOptions) {
	last := v.rep.LastSeq
	if !v.started {
		if v.head.Seq > 0 || v.lastCp != nil {
			v.problem(1, KindTruncated, "missing: the store has no events but the head records seq %d (all events were deleted)", v.head.Seq)
		}
		return
	}
	if f := v.rep.FirstSeq; f > 1 && v.anchored && !v.purges[f-1] {
		v.problem(1, KindPurge, "missing: events 1..%d were removed without a recorded purge (no retention.purged event names seq %d)", f-1, f-1)
	}
	// The first checkpoint past the end names the truncation.
	for _, c := range v.sortedCps() {
		if c.Seq > last {
			v.problem(last+1, KindTruncated, "missing: the checkpoint at seq %d seals events up to %d but the last event is %d (events %d..%d were deleted)", c.Seq, c.Seq, last, last+1, c.Seq)
			break
		}
	}
	v.finishHead(last)
	if v.lastCp != nil {
		v.rep.LastCheckpoint = v.lastCp.Seq
	}
	if v.rep.Unsealed = last - v.rep.LastCheckpoint; v.rep.Unsealed > 0 {
		if opt.RequireSealed {
			v.problem(v.rep.LastCheckpoint+1, KindUnsealed, "unsealed tail of %d events (seq %d..%d): no checkpoint covers them", v.rep.Unsealed, v.rep.LastCheckpoint+1, last)
		} else {
			v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("unsealed tail of %d events (seq %d..%d): no checkpoint covers them yet", v.rep.Unsealed, v.rep.LastCheckpoint+1, last))
		}
	}
	for id, seq := range v.open {
		v.rep.OutcomeUnknown = append(v.rep.OutcomeUnknown, Unknown{Seq: seq, CallID: id})
	}
	sort.Slice(v.rep.OutcomeUnknown, func(i, j int) bool { return v.rep.OutcomeUnknown[i].Seq < v.rep.OutcomeUnknown[j].Seq })
	if n := len(v.rep.OutcomeUnknown); n > 0 {
		v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%d calls have an intent but no outcome (outcome unknown: the gateway stopped mid-call, or the call is still running); first at seq %d", n, v.rep.OutcomeUnknown[0].Seq))
	}
}

// finishHead checks the head row: its seq and hash must be the last
// event's, and its signed part must match the last checkpoint. The signed
// head is what still catches a tail deleted together with its checkpoint.
func (v *verifier) finishHead(last int64) {
	h := v.head
	switch {
	case h.Seq > last:
		v.problem(last+1, KindTruncated, "missing: the head records seq %d but the last event is %d (events %d..%d were deleted)", h.Seq, last, last+1, h.Seq)
	case h.Seq < last:
		v.problem(h.Seq+1, KindHead, "events %d..%d lie beyond the head (written outside the recorder)", h.Seq+1, last)
	case h.Hash != v.prev:
		v.problem(last, KindHead, "the head's hash does not match the last event (head row altered)")
	}
	s := h.Signed
	if s == nil {
		if v.lastCp != nil {
			v.problem(v.lastCp.Seq, KindHead, "the signed head is missing (head row altered)")
		}
		return
	}
	v.checkSignature(*s, headContext, "signed head")
	switch {
	case s.Seq > last:
		v.problem(last+1, KindTruncated, "missing: the signed head seals seq %d but the last event is %d (events %d..%d and their checkpoint were deleted)", s.Seq, last, last+1, s.Seq)
	case s.Seq >= v.rep.FirstSeq && v.hashAt[s.Seq] != s.Hash:
		v.problem(s.Seq, KindHead, "the signed head does not match the event at seq %d (events rewritten)", s.Seq)
	}
	switch {
	case v.lastCp == nil || s.Seq > v.lastCp.Seq:
		if s.Seq <= last {
			v.problem(s.Seq, KindCheckpoint, "the checkpoint at seq %d that the signed head names is missing (deleted)", s.Seq)
		}
	case s.Seq < v.lastCp.Seq:
		v.problem(s.Seq, KindHead, "the signed head (seq %d) is older than the last checkpoint (seq %d): head row restored from an old copy", s.Seq, v.lastCp.Seq)
	}
}

func (v *verifier) sortedCps() []store.Checkpoint {
	out := make([]store.Checkpoint, 0, len(v.cps))
	for _, c := range v.cps {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}
