package cliauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Entry is one login: the tokens of one client at one issuer, and what is
// needed to refresh them.
type Entry struct {
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret,omitempty"`
	Scopes       []string  `json:"scopes,omitempty"`
	TokenURL     string    `json:"token_url"`
	Gateway      string    `json:"gateway,omitempty"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry"`
}

// Key is how an entry is named in the cache.
func (e *Entry) Key() string { return key(e.Issuer, e.ClientID) }

func key(issuer, clientID string) string { return issuer + " " + clientID }

// Cache is the token file: every login, and which one is used when a
// command names none (the last one).
type Cache struct {
	Default string            `json:"default,omitempty"`
	Entries map[string]*Entry `json:"entries"`

	path string
}

// DefaultPath is tokens.json under the user's configuration directory.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cliauth: %w", err)
	}
	return filepath.Join(dir, "airlock", "tokens.json"), nil
}

// Load reads the cache at path; a missing file is an empty cache. A file
// others can read is refused: its tokens must be considered leaked.
func Load(path string) (*Cache, error) {
	c := &Cache{Entries: map[string]*Entry{}, path: path}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cliauth: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("cliauth: %s is readable by other users (mode %v): treat its tokens as leaked, "+
			"delete it and log in again", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cliauth: %w", err)
	}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("cliauth: %s: %w", path, err)
	}
	if c.Entries == nil {
		c.Entries = map[string]*Entry{}
	}
	return c, nil
}

// Save writes the cache atomically, readable by the user only.
func (c *Cache) Save() error {
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("cliauth: %w", err)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("cliauth: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".tokens-*.json")
	if err != nil {
		return fmt.Errorf("cliauth: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("cliauth: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cliauth: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cliauth: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("cliauth: %w", err)
	}
	return nil
}

// Path is where the cache is kept.
func (c *Cache) Path() string { return c.path }

// Put stores e and makes it the default.
func (c *Cache) Put(e *Entry) {
	c.Entries[e.Key()] = e
	c.Default = e.Key()
}

// ErrNotLoggedIn means the cache has no matching login.
var ErrNotLoggedIn = errors.New("not logged in: run airlock login --issuer URL --client-id ID")

// Get finds the login of clientID at issuer; empty values match the one
// login there is, or the default.
func (c *Cache) Get(issuer, clientID string) (*Entry, error) {
	if issuer != "" && clientID != "" {
		if e, ok := c.Entries[key(issuer, clientID)]; ok {
			return e, nil
		}
		return nil, ErrNotLoggedIn
	}
	var match []*Entry
	for _, e := range c.Entries {
		if (issuer == "" || e.Issuer == issuer) && (clientID == "" || e.ClientID == clientID) {
			match = append(match, e)
		}
	}
	switch len(match) {
	case 0:
		return nil, ErrNotLoggedIn
	case 1:
		return match[0], nil
	}
	for _, e := range match {
		if e.Key() == c.Default {
			return e, nil
		}
	}
	names := make([]string, len(match))
	for i, e := range match {
		names[i] = e.Issuer + " (client " + e.ClientID + ")"
	}
	sort.Strings(names)
	return nil, fmt.Errorf("cliauth: several logins match: %v; name one with --issuer and --client-id", names)
}
