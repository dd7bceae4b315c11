package pgserver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The template cache holds one initdb'd data directory per server version,
// copied (about 0.1 s) instead of running initdb (about 1.4 s). It is only
// used when copying it is equivalent to running initdb again:
//   - it was never started (no postmaster.pid), so it holds no state;
//   - its stamp names the exact server build, binary directory and initdb
//     arguments we would use now;
//   - it is owned by us and writable by nobody else: another local user
//     must not be able to plant a postgresql.conf we then run;
//   - it is published by an atomic rename after its files are synced, so a
//     concurrent test process or a crash never exposes a half-written copy.
const (
	stampFile       = "airlock-template.stamp"
	templateDataDir = "data"
)

// initdbArgs are the arguments after "-D dir"; part of the stamp.
var initdbArgs = []string{"-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"}

type templateCache struct {
	dir   string // .../airlock/pg-template-<version>
	stamp string
}

func newTemplateCache(short, full, binDir string) (templateCache, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return templateCache{}, fmt.Errorf("pgserver: template cache: %w", err)
	}
	stamp := fmt.Sprintf("version=%s\nbindir=%s\ninitdb=%s\nenv=TZ=UTC\n", full, binDir, strings.Join(initdbArgs, " "))
	return templateCache{dir: filepath.Join(base, "airlock", "pg-template-"+short), stamp: stamp}, nil
}

// usable returns the template's data directory when it may be copied.
func (c templateCache) usable() (string, bool) {
	if !ownedPrivately(c.dir) {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(c.dir, stampFile))
	if err != nil || string(b) != c.stamp {
		return "", false
	}
	data := filepath.Join(c.dir, templateDataDir)
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		return "", false
	}
	if _, err := os.Lstat(filepath.Join(data, "postmaster.pid")); err == nil {
		return "", false
	}
	return data, true
}

func ownedPrivately(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// save publishes src, a freshly initdb'd and never started data directory.
// Losing a race to another process is success: its copy is as good as ours.
func (c templateCache) save(src string) error {
	parent := filepath.Dir(c.dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("pgserver: template cache: %w", err)
	}
	staging, err := os.MkdirTemp(parent, filepath.Base(c.dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("pgserver: template cache: %w", err)
	}
	defer os.RemoveAll(staging)
	if err := copyTree(src, filepath.Join(staging, templateDataDir), nil, true); err != nil {
		return fmt.Errorf("pgserver: template cache: %w", err)
	}
	if err := writeSynced(filepath.Join(staging, stampFile), []byte(c.stamp)); err != nil {
		return fmt.Errorf("pgserver: template cache: %w", err)
	}
	if err := syncDir(staging); err != nil {
		return fmt.Errorf("pgserver: template cache: %w", err)
	}
	err = os.Rename(staging, c.dir)
	if err == nil {
		return syncDir(parent)
	}
	if _, ok := c.usable(); ok {
		return nil
	}
	// A stale template (another build of the same version) is in the way:
	// move it aside atomically so readers never see a mix, then replace it.
	trash := staging + ".old"
	if err := os.Rename(c.dir, trash); err != nil {
		return fmt.Errorf("pgserver: template cache: replace %s: %w", c.dir, err)
	}
	defer os.RemoveAll(trash)
	if err := os.Rename(staging, c.dir); err != nil {
		return fmt.Errorf("pgserver: template cache: %w", err)
	}
	return syncDir(parent)
}

// copyTree copies a data directory, keeping permission bits (PostgreSQL
// insists on 0700/0600) and symlinks. chown, when non-nil, hands each new
// entry to the server's user; sync makes the copy durable.
func copyTree(src, dst string, chown func(string) error, sync bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			if err := os.Chmod(target, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm(), sync); err != nil {
				return err
			}
		default:
			return fmt.Errorf("copy %s: unexpected file type %v", path, d.Type())
		}
		if chown != nil {
			return chown(target)
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode, sync bool) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Chmod(perm); err != nil {
		return err
	}
	if sync {
		return out.Sync()
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
