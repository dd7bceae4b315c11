package policy

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Watch reloads the policy whenever a .rego file under Options.Dir is
// added, removed or changed, until ctx ends. It polls (Options.PollInterval)
// rather than subscribing to file events: ConfigMap volumes swap symlinks,
// network filesystems drop events, and a poll of a few small files costs
// nothing. Rejected versions are logged and kept in LastError; Watch
// retries only when the files change again.
func (e *Engine) Watch(ctx context.Context) {
	e.mu.Lock()
	dir, every := e.opts.Dir, e.opts.PollInterval
	e.mu.Unlock()
	if dir == "" {
		return
	}
	last := fingerprint(dir)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := fingerprint(dir)
		if fp == last {
			continue
		}
		last = fp
		_ = e.Reload(ctx) // logged and kept by load
	}
}

// fingerprint summarises the names, sizes and modification times of the
// policy files; Reload then compares contents by hash, so a touch without
// a change swaps nothing.
func fingerprint(dir string) string {
	var parts []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			parts = append(parts, "error:"+p)
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".rego") {
			return nil
		}
		// Stat follows symlinks, so a swapped ConfigMap target shows up.
		if st, err := os.Stat(p); err == nil {
			parts = append(parts, fmt.Sprintf("%s\x00%d\x00%d", p, st.Size(), st.ModTime().UnixNano()))
		}
		return nil
	})
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}
