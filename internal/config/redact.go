package config

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// Redacted renders the effective configuration as YAML, defaults and
// overrides applied, with every secret shown as its reference. It is what
// `airlock config validate --print` shows, so it must be safe to paste into
// a ticket.
func (c *Config) Redacted() string {
	var b bytes.Buffer
	if c.Path != "" {
		b.WriteString("# effective configuration from " + c.Path + "; secrets are shown as references\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	// Secret.MarshalYAML emits only the reference, so encoding c as is
	// cannot leak a value.
	if err := enc.Encode(c); err != nil {
		return "# cannot render configuration: " + err.Error() + "\n"
	}
	_ = enc.Close()
	return b.String()
}
