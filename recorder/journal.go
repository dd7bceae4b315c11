package recorder

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

// A journal is one process's append-only file of events that are durable
// but not yet in the store. A write(2) that returned has its bytes in the
// kernel, so they survive kill -9; with fsync on, fdatasync makes them
// survive power loss too. The calls wait for that one system call instead
// of a database commit, and the ingester moves the events into the chain
// in large batches, recording in the same transaction how far into the
// file it got. The file is locked (flock) while its process lives, so a
// later process recovers exactly the journals whose owner died.
//
// Each frame is: length (uint32, little endian) of the payload, CRC-32C of
// the payload, payload. A torn or corrupt frame ends the file: a write
// that did not complete was never acknowledged.
type journal struct {
	dir      string
	fsync    bool
	rotateAt int64 // size from which writes go to a new file

	mu   sync.Mutex // guards f, name, size, buf, sealed
	f    *os.File
	name string
	size int64
	buf  []byte
	// sealed are earlier files, oldest first, that still hold frames not
	// in the store. They stay open, so their lock tells other processes
	// they are not orphans, until their last frame is stored.
	sealed []sealedFile
	// cur and written mirror f and size for sync, which must not take mu:
	// writers hold mu while a rotation, under mu, waits for syncMu.
	cur     atomic.Pointer[os.File]
	written atomic.Int64

	// syncMu: one fdatasync at a time, and callers queued behind it are
	// covered by the next. Closing a file also takes it, so no fdatasync
	// runs on a closed descriptor. Lock order: mu, then syncMu.
	syncMu     sync.Mutex
	syncedFile *os.File // guarded by syncMu
	synced     int64    // guarded by syncMu: bytes of syncedFile on disk
}

const (
	journalExt      = ".journal"
	journalFrameHdr = 8
	// journalMaxFrame bounds one event; payloads are cut at MaxString
	// long before this.
	journalMaxFrame = 64 << 20
	// journalRotateAt is the size from which frames go to a new file; the
	// old one is deleted once all its frames are in the store.
	journalRotateAt = 64 << 20
	cursorPrefix    = "journal:"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// openJournal creates and locks a new journal file in dir.
func openJournal(dir string, fsync bool) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recorder: journal: %w", err)
	}
	j := &journal{dir: dir, fsync: fsync, rotateAt: journalRotateAt}
	if err := j.create(); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *journal) create() error {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%d-%s%s", time.Now().UnixNano(), hex.EncodeToString(rnd[:]), journalExt)
	f, err := os.OpenFile(filepath.Join(j.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("recorder: journal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return fmt.Errorf("recorder: journal: lock %s: %w", name, err)
	}
	if j.fsync {
		// The new name must survive power loss with the bytes written to it.
		if err := syncDir(j.dir); err != nil {
			_ = f.Close()
			return err
		}
	}
	j.f, j.name, j.size = f, name, 0
	j.written.Store(0) // before cur: a sync that sees the new file never reads the old size
	j.cur.Store(f)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("recorder: journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("recorder: journal: sync %s: %w", dir, err)
	}
	return nil
}

// writeLocked appends one frame holding rec. The caller holds j.mu, so the
// order of frames is the order of the caller's queue. It returns the
// file's size after the frame.
func (j *journal) writeLocked(rec *store.Record) (int64, error) {
	j.buf = encodeJournalFrame(j.buf[:0], rec)
	if len(j.buf) > journalMaxFrame {
		return 0, fmt.Errorf("recorder: journal: event of %d bytes is too large", len(j.buf))
	}
	if _, err := j.f.Write(j.buf); err != nil {
		// A short write leaves a torn frame that ends the file for
		// recovery: nothing after it can be trusted, so stop writing here.
		return 0, fmt.Errorf("recorder: journal: write %s: %w", j.name, err)
	}
	j.size += int64(len(j.buf))
	j.written.Store(j.size)
	return j.size, nil
}

// sync makes the file durable up to end when the journal is in fsync
// mode; callers queued behind one fdatasync are covered by the next.
func (j *journal) sync(f *os.File, end int64) error {
	if !j.fsync || end == 0 {
		return nil
	}
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.syncedFile == f && j.synced >= end {
		return nil
	}
	if j.cur.Load() != f {
		// Rotated or closed: a file is replaced only once every frame in
		// it is in the store, whose commit is durable in this mode.
		return nil
	}
	size := j.written.Load()
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("recorder: journal: fdatasync: %w", err)
	}
	j.syncedFile, j.synced = f, size
	return nil
}

type sealedFile struct {
	name string
	f    *os.File
}

// sealLocked sends the frames to come to a new file and keeps the current
// one, sealed, until its frames are in the store (dropLocked). Rotating on
// the write side bounds every file even when the store never catches up
// completely under a steady load. The caller holds j.mu.
func (j *journal) sealLocked() error {
	prev, prevName := j.f, j.name
	if j.fsync {
		// Writers of prev still to sync find it replaced and skip their
		// fdatasync (see sync): this one covers every frame in it.
		j.syncMu.Lock()
		err := syscall.Fdatasync(int(prev.Fd()))
		j.syncMu.Unlock()
		if err != nil {
			return fmt.Errorf("recorder: journal: fdatasync %s: %w", prevName, err)
		}
	}
	if err := j.create(); err != nil {
		return err
	}
	j.sealed = append(j.sealed, sealedFile{name: prevName, f: prev})
	return nil
}

// dropLocked deletes the sealed file name, whose last frame is in the
// store. It reports whether name was a sealed file (the current file is
// never dropped). The caller holds j.mu.
func (j *journal) dropLocked(name string) bool {
	i := slices.IndexFunc(j.sealed, func(s sealedFile) bool { return s.name == name })
	if i < 0 {
		return false
	}
	sf := j.sealed[i]
	j.sealed = slices.Delete(j.sealed, i, i+1)
	_ = os.Remove(filepath.Join(j.dir, sf.name))
	j.syncMu.Lock()
	_ = sf.f.Close()
	j.syncMu.Unlock()
	return true
}

// close closes the file and, when everything in it is in the store,
// deletes it.
func (j *journal) close(ingested bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	if ingested {
		_ = os.Remove(filepath.Join(j.dir, j.name))
	}
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	for _, sf := range j.sealed {
		// Sealed files were synced when sealed; left behind, they are
		// the next start's to recover, in order.
		if ingested {
			_ = os.Remove(filepath.Join(j.dir, sf.name))
		}
		_ = sf.f.Close()
	}
	j.sealed = nil
	var err error
	if !ingested && j.fsync {
		// The frames wait here for the next start; writers still queued
		// for a sync are answered by this one.
		err = syscall.Fdatasync(int(j.f.Fd()))
	}
	j.cur.Store(nil)
	err = errors.Join(err, j.f.Close())
	j.f = nil
	return err
}

// encodeJournalFrame appends rec's position-independent fields (what
// prepare computed: the chain position is assigned at ingestion).
func encodeJournalFrame(b []byte, rec *store.Record) []byte {
	start := len(b)
	b = append(b, make([]byte, journalFrameHdr)...)
	b = append(b, 1) // payload version
	b = binary.AppendVarint(b, rec.Time.UnixMicro())
	b = binary.AppendUvarint(b, uint64(rec.Version))
	verified := byte(0)
	if rec.Verified {
		verified = 1
	}
	b = append(b, verified)
	for _, s := range [...]string{rec.Type, rec.CallID, rec.SessionID, rec.Subject, rec.Tool, rec.Connection, rec.Decision} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(rec.Data)))
	b = append(b, rec.Data...)
	payload := b[start+journalFrameHdr:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

var errBadFrame = errors.New("malformed journal frame")

func decodeJournalPayload(p []byte) (store.Record, error) {
	var rec store.Record
	if len(p) < 1 || p[0] != 1 {
		return rec, errBadFrame
	}
	p = p[1:]
	t, n := binary.Varint(p)
	if n <= 0 {
		return rec, errBadFrame
	}
	p = p[n:]
	v, n := binary.Uvarint(p)
	if n <= 0 || len(p) < n+1 {
		return rec, errBadFrame
	}
	rec.Time, rec.Version, rec.Verified = time.UnixMicro(t).UTC(), int(v), p[n] == 1
	p = p[n+1:]
	str := func() (string, bool) {
		l, n := binary.Uvarint(p)
		if n <= 0 || uint64(len(p)-n) < l {
			return "", false
		}
		s := string(p[n : n+int(l)])
		p = p[n+int(l):]
		return s, true
	}
	for _, dst := range [...]*string{&rec.Type, &rec.CallID, &rec.SessionID, &rec.Subject, &rec.Tool, &rec.Connection, &rec.Decision} {
		s, ok := str()
		if !ok {
			return rec, errBadFrame
		}
		*dst = s
	}
	data, ok := str()
	if !ok || len(p) != 0 {
		return rec, errBadFrame
	}
	rec.Data = []byte(data)
	return rec, nil
}

// journalEntry is one recovered frame and the file offset after it.
type journalEntry struct {
	rec store.Record
	end int64
}

// readJournal returns the frames of f after offset, stopping at the end
// of the file or at the first torn or corrupt frame.
func readJournal(f *os.File, offset int64) ([]journalEntry, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<16)
	var out []journalEntry
	var hdr [journalFrameHdr]byte
	pos := offset
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return out, nil // end, or a torn header
		}
		n := binary.LittleEndian.Uint32(hdr[0:4])
		if n == 0 || n > journalMaxFrame {
			return out, nil
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return out, nil
		}
		if crc32.Checksum(p, crcTable) != binary.LittleEndian.Uint32(hdr[4:8]) {
			return out, nil
		}
		rec, err := decodeJournalPayload(p)
		if err != nil {
			return out, nil
		}
		pos += journalFrameHdr + int64(n)
		out = append(out, journalEntry{rec: rec, end: pos})
	}
}

// orphanJournals lists the journal files in dir whose owner is gone,
// opened and locked; the caller closes them.
func orphanJournals(dir string) ([]*os.File, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recorder: journal: %w", err)
	}
	var out []*os.File
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), journalExt) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // removed by its owner meanwhile
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close() // a live process owns it
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// unstored returns the frames of journal f after the cursor the store
// keeps for it: those not in the store yet.
func unstored(ctx context.Context, log store.AuditLog, f *os.File) ([]journalEntry, error) {
	from, err := log.Cursor(ctx, cursorPrefix+filepath.Base(f.Name()))
	if err != nil {
		return nil, err
	}
	return readJournal(f, from)
}

// Stranded counts the events that journals in dir hold beyond what the
// store has, in files whose gateway is gone (nobody holds their lock).
// They reach the store when a gateway next starts with this journal
// directory; until then the store lacks them, which verify reports.
func Stranded(ctx context.Context, log store.AuditLog, dir string) (files, events int, err error) {
	fs, err := orphanJournals(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range fs {
		ents, cerr := unstored(ctx, log, f)
		_ = f.Close()
		if cerr != nil {
			err = errors.Join(err, fmt.Errorf("recorder: journal %s: %w", f.Name(), cerr))
			continue
		}
		if len(ents) > 0 {
			files++
			events += len(ents)
		}
	}
	return files, events, err
}
