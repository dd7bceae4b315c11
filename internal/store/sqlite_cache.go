package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"
)

// cacheMaxAge bounds how long a cached revocation or grant list is served
// without reading the database, even though the epoch did not move: it
// covers a writer killed between its commit and its second bump, and the
// file changed by a tool that does not know the epoch. A variable so that
// tests can shorten it; a store reads it when it opens, and 0 opens one
// without the read cache.
var cacheMaxAge = time.Second

// cacheMaxSubjects bounds each of the caches; when full it starts over.
// That costs one database read per subject, and only beyond the size of
// any real gateway's working set.
const cacheMaxSubjects = 4096

// sqliteCache keeps, per subject, the revocation and the active grants
// that every gateway call reads: the audit trail commits to the same file
// every few milliseconds, which empties the reader connections' page
// cache and makes each of those reads cost tens of microseconds of CPU.
//
// An entry records the epoch read before it was loaded. Every write of
// the approval backend bumps the epoch before it begins and after it
// ends, in whichever process makes it, so an entry loaded before a change
// was committed no longer matches once that change is visible, and the
// next read goes to the database.
type sqliteCache struct {
	// mu guards the maps, and the mapping itself: close unmaps it while
	// no read or bump is using it.
	mu     sync.RWMutex
	ep     *epoch
	maxAge time.Duration
	revs   map[string]revEntry
	grants map[string]grantEntry
}

// stamp is what an entry is valid for: the epoch and the time read before
// it was loaded.
type stamp struct {
	epoch  uint64
	loaded time.Time
}

type revEntry struct {
	stamp
	rev   Revocation
	found bool
}

type grantEntry struct {
	stamp
	t0 time.Time // the now of the load: gs are the grants active then
	gs []Grant
}

// openCache opens the epoch of the database w is connected to. Without
// one (a file that cannot be created or mapped) it returns nil: the store
// works, reading the database every time.
func openCache(ctx context.Context, w *sql.DB) *sqliteCache {
	// SQLite's own answer, not the DSN's: it has resolved URI syntax,
	// relative paths and symlinks, so every process opening the same
	// file finds the same epoch, and it is "" for in-memory databases.
	var file string
	if err := w.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return nil
	}
	ep, err := openEpoch(file)
	if err != nil {
		return nil
	}
	return &sqliteCache{ep: ep, maxAge: cacheMaxAge, revs: map[string]revEntry{}, grants: map[string]grantEntry{}}
}

func (c *sqliteCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.ep.close()
	c.ep = &epoch{} // later reads miss, later bumps do nothing
	clear(c.revs)
	clear(c.grants)
	return err
}

// bump moves the epoch; a nil cache has none to move.
func (c *sqliteCache) bump() {
	if c == nil {
		return
	}
	c.mu.RLock()
	if c.ep.n != nil {
		c.ep.n.Add(1)
	}
	c.mu.RUnlock()
}

// reads reports whether reads are served from the cache.
func (c *sqliteCache) reads() bool { return c != nil && c.maxAge > 0 }

// begin stamps a load about to start; false once the cache is closed.
func (c *sqliteCache) begin() (stamp, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ep.n == nil {
		return stamp{}, false
	}
	// The epoch first: a change committed after this read moves it past
	// the value recorded, whatever the load then sees.
	e := c.ep.n.Load()
	return stamp{epoch: e, loaded: time.Now()}, true
}

// fresh reports whether an entry stamped st may be served; c.mu is held.
func (c *sqliteCache) fresh(st stamp) bool {
	return c.ep.n != nil && c.ep.n.Load() == st.epoch && time.Since(st.loaded) < c.maxAge
}

func (c *sqliteCache) revocation(subject string) (Revocation, bool, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.revs[subject]
	if !ok || !c.fresh(e.stamp) {
		return Revocation{}, false, false
	}
	return e.rev, e.found, true
}

func (c *sqliteCache) putRevocation(subject string, st stamp, r Revocation, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.revs) >= cacheMaxSubjects {
		clear(c.revs)
	}
	// Cloned: the caller's subject may point into a much larger buffer.
	c.revs[strings.Clone(subject)] = revEntry{stamp: st, rev: r, found: found}
}

// activeGrants returns the cached grants of subject active at now, or
// false to read the database. A load at t0 holds the grants active at t0,
// which include every grant active at a later now; an earlier now may
// need one that had expired by t0.
func (c *sqliteCache) activeGrants(subject string, now time.Time) ([]Grant, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.grants[subject]
	if !ok || now.Before(e.t0) || !c.fresh(e.stamp) {
		return nil, false
	}
	return activeCopy(e.gs, now), true
}

func (c *sqliteCache) putGrants(subject string, st stamp, t0 time.Time, gs []Grant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.grants) >= cacheMaxSubjects {
		clear(c.grants)
	}
	c.grants[strings.Clone(subject)] = grantEntry{stamp: st, t0: t0, gs: gs}
}

// activeCopy returns the grants of gs active at now, deep enough that the
// caller may change anything without touching gs: one slice for the
// grants and one shared by their approver lists. None active is nil, as
// the database read returns.
func activeCopy(gs []Grant, now time.Time) []Grant {
	// The database compares whole microseconds: so does this.
	now = micro(now)
	n, na := 0, 0
	for i := range gs {
		if gs[i].ExpiresAt.After(now) {
			n++
			na += len(gs[i].Approvers)
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Grant, 0, n)
	var approvers []string
	if na > 0 {
		approvers = make([]string, 0, na)
	}
	for _, g := range gs {
		if !g.ExpiresAt.After(now) {
			continue
		}
		k := len(approvers)
		if len(g.Approvers) > 0 {
			approvers = append(approvers, g.Approvers...)
			g.Approvers = approvers[k:len(approvers):len(approvers)]
		} else if g.Approvers != nil {
			g.Approvers = g.Approvers[:0:0]
		}
		out = append(out, g)
	}
	return out
}

// bumpRunner runs statements that commit on their own (no transaction
// around them) and bumps the epoch before and after each.
type bumpRunner struct {
	run sqliteRunner
	c   *sqliteCache
}

func (r bumpRunner) exec(ctx context.Context, q string, args ...any) (int64, error) {
	r.c.bump()
	defer r.c.bump()
	return r.run.exec(ctx, q, args...)
}

func (r bumpRunner) row(ctx context.Context, q string, args ...any) scanner {
	r.c.bump()
	return bumpScanner{r.run.row(ctx, q, args...), r.c}
}

func (r bumpRunner) rows(ctx context.Context, q string, args ...any) (apRows, error) {
	r.c.bump()
	rows, err := r.run.rows(ctx, q, args...)
	if err != nil {
		r.c.bump()
		return nil, err
	}
	return bumpRows{rows, r.c}, nil
}

// bumpScanner bumps after Scan: a statement with RETURNING commits when
// its row has been read, not when it is sent.
type bumpScanner struct {
	s scanner
	c *sqliteCache
}

func (b bumpScanner) Scan(dest ...any) error {
	defer b.c.bump()
	return b.s.Scan(dest...)
}

type bumpRows struct {
	apRows
	c *sqliteCache
}

func (b bumpRows) Close() {
	b.apRows.Close()
	b.c.bump()
}

// cachedRevocation is Revocation through the cache.
func (s *SQLite) cachedRevocation(ctx context.Context, subject string) (Revocation, bool, error) {
	c := s.cache
	if r, found, hit := c.revocation(subject); hit {
		return r, found, nil
	}
	st, ok := c.begin()
	r, found, err := s.approvalsSQL.Revocation(ctx, subject)
	if err == nil && ok {
		c.putRevocation(subject, st, r, found)
	}
	return r, found, err
}

// cachedActiveGrants is ActiveGrants through the cache.
func (s *SQLite) cachedActiveGrants(ctx context.Context, subject string, now time.Time) ([]Grant, error) {
	c := s.cache
	if gs, hit := c.activeGrants(subject, now); hit {
		return gs, nil
	}
	st, ok := c.begin()
	gs, err := s.approvalsSQL.ActiveGrants(ctx, subject, now)
	if err != nil {
		return nil, err
	}
	if ok {
		c.putGrants(subject, st, now, gs)
		return activeCopy(gs, now), nil
	}
	return gs, nil
}
