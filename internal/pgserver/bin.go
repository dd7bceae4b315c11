package pgserver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// debianGlob is where Debian and Ubuntu install one directory per major
// version; a variable so tests can point it elsewhere.
var debianGlob = "/usr/lib/postgresql/*/bin"

// BinDirEnv names an environment variable that, when set, overrides the
// search for the server binaries (scripts/install-test-deps.sh writes it).
const BinDirEnv = "AIRLOCK_PG_BINDIR"

// ErrNoBinaries reports that no PostgreSQL server installation was found, so
// callers can tell "not installed" from a broken installation.
var ErrNoBinaries = errors.New("pgserver: PostgreSQL server binaries not found " +
	"(looked in $" + BinDirEnv + ", pg_config --bindir and /usr/lib/postgresql/*/bin): " +
	"install the postgresql package (scripts/install-test-deps.sh does)")

// hasServer reports whether dir holds both programs we run. pg_config alone
// is not enough: libpq-dev ships pg_config without the server.
func hasServer(dir string) bool {
	for _, name := range []string{"postgres", "initdb"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// findBinDir returns the directory holding postgres and initdb. An explicit
// directory (option or environment) must be valid: silently falling back to
// another version would hide a misconfiguration.
func findBinDir(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv(BinDirEnv)
	}
	if explicit != "" {
		if !hasServer(explicit) {
			return "", fmt.Errorf("pgserver: no postgres and initdb in %s (from the BinDir option or $%s)", explicit, BinDirEnv)
		}
		return explicit, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); dir != "" && hasServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(debianGlob)
	// Newest major version first: "9.6" < "15", so compare numerically.
	sort.Slice(dirs, func(i, j int) bool {
		return versionKey(filepath.Base(filepath.Dir(dirs[i]))) > versionKey(filepath.Base(filepath.Dir(dirs[j])))
	})
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

// versionKey orders "9.6", "15" and "16" as numbers (major*1000 + minor).
func versionKey(v string) int {
	major, minor, _ := strings.Cut(v, ".")
	a, err := strconv.Atoi(major)
	if err != nil {
		return -1
	}
	b, _ := strconv.Atoi(minor)
	return a*1000 + b
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+(?:\.\d+)?)`)

// serverVersion returns the short version ("15.18") and the full line that
// `postgres --version` prints; the full line keys the template cache so a
// package upgrade never reuses a data directory initdb'd by another build.
func serverVersion(binDir string) (short, full string, err error) {
	out, err := exec.Command(filepath.Join(binDir, "postgres"), "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("pgserver: %s/postgres --version: %w", binDir, err)
	}
	full = string(bytes.TrimSpace(out))
	m := versionRE.FindStringSubmatch(full)
	if m == nil {
		return "", "", fmt.Errorf("pgserver: cannot parse version from %q", full)
	}
	return m[1], full, nil
}
