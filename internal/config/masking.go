package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/airlockhq/airlock/internal/mask"
)

// MaskConfig turns the masking section into the engine's configuration.
func (m Masking) MaskConfig() (mask.Config, error) {
	mc := mask.Config{Detectors: m.Detectors, HashKey: []byte(m.HashKey.Value())}
	for _, r := range m.Rules {
		mc.Rules = append(mc.Rules, mask.Rule{Name: r.Name, Match: r.Match, Action: mask.Action(r.Action),
			Kind: r.Kind, FailClosed: r.FailClosed})
	}
	for _, d := range m.Custom {
		det, err := mask.RegexDetector(d.Name, d.Pattern)
		if err != nil {
			return mask.Config{}, err
		}
		mc.Custom = append(mc.Custom, det)
	}
	return mc, nil
}

// checkMasking builds the engine once so a bad rule stops the start with
// the rule's place in the file.
func (p *parser) checkMasking(c *Config) error {
	for i, d := range c.Masking.Custom {
		if _, err := mask.RegexDetector(d.Name, d.Pattern); err != nil {
			return p.errAt(fmt.Sprintf("masking.custom[%d]", i), "%v", err)
		}
	}
	mc, err := c.Masking.MaskConfig()
	if err != nil {
		return p.errAt("masking", "%v", err)
	}
	if _, err := mask.New(mc); err != nil {
		var re *mask.RuleError
		if errors.As(err, &re) {
			return p.errAt(fmt.Sprintf("masking.rules[%d]", re.Index), "%v", re.Err)
		}
		return p.errAt("masking.detectors", "%v", err)
	}
	return nil
}

// resolvePaths makes file paths in the configuration relative to the
// configuration file, as secret file: references are.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Policy.Dir)
	// The key may be written as a secret reference (file:PATH), as
	// other secrets are.
	c.Recorder.SigningKey = strings.TrimPrefix(c.Recorder.SigningKey, "file:")
	abs(&c.Recorder.SigningKey)
	if c.Recorder.Journal != "off" {
		abs(&c.Recorder.Journal)
	}
	for i := range c.Recorder.Sinks {
		abs(&c.Recorder.Sinks[i].Path)
	}
	if c.Store.Driver == "sqlite" {
		c.Store.resolved = c.Store.DSN
		abs(&c.Store.resolved)
	}
}
