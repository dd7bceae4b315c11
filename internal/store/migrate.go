package store

import (
	"fmt"
	"sort"
	"strings"
)

// Migration is one versioned schema change, written for both dialects.
// Each lives in its own file, mNNNN_name.go, and registers itself from
// init; versions are applied in order, once, inside a transaction, and
// recorded in schema_migrations. Never edit a released migration: add one.
type Migration struct {
	Version  int
	Name     string
	SQLite   string // statements separated by ";\n"
	Postgres string
}

var migrations = map[int]Migration{}

// register adds m; a duplicate version is a programming error.
func register(m Migration) {
	if _, dup := migrations[m.Version]; dup {
		panic(fmt.Sprintf("store: duplicate migration version %d", m.Version))
	}
	if m.Version <= 0 || m.Name == "" || m.SQLite == "" || m.Postgres == "" {
		panic(fmt.Sprintf("store: incomplete migration %d %q", m.Version, m.Name))
	}
	migrations[m.Version] = m
}

// ordered returns the registered migrations by version.
func ordered() []Migration {
	out := make([]Migration, 0, len(migrations))
	for _, m := range migrations {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// statements splits a migration script. Scripts use no semicolons inside
// statements, so a plain split is enough and keeps migrations readable.
func statements(script string) []string {
	var out []string
	for _, s := range strings.Split(script, ";\n") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.TrimSuffix(s, ";"))
		}
	}
	return out
}

// LatestVersion is the schema version this build migrates to.
func LatestVersion() int {
	m := ordered()
	if len(m) == 0 {
		return 0
	}
	return m[len(m)-1].Version
}
