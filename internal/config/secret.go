package config

// Secret is a credential given as a reference ("env:NAME" or "file:PATH").
// Its value is resolved at load time and never printed: String and the YAML
// and JSON encodings show only the reference.
type Secret struct {
	Ref   string
	value string
}

// Value returns the resolved secret.
func (s Secret) Value() string { return s.value }

// String shows the reference, never the value.
func (s Secret) String() string {
	if s.Ref == "" {
		return ""
	}
	return s.Ref + " (resolved)"
}

// NewSecret builds a resolved secret, for tests and embedded defaults.
func NewSecret(ref, value string) Secret { return Secret{Ref: ref, value: value} }
