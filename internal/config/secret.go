package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a credential given as a reference ("env:NAME" or "file:PATH").
// Its value is resolved at load time and never printed: String, Format,
// GoString and the YAML and JSON encodings show only the reference, so a
// Config can be logged or dumped without leaking what it unlocks.
type Secret struct {
	Ref   string
	value string
}

// Value returns the resolved secret.
func (s Secret) Value() string { return s.value }

// IsZero reports whether no reference was given.
func (s Secret) IsZero() bool { return s.Ref == "" }

// String shows the reference, never the value.
func (s Secret) String() string {
	if s.Ref == "" {
		return ""
	}
	if s.value == "" {
		return s.Ref
	}
	return s.Ref + " (resolved)"
}

// GoString keeps %#v from printing the unexported value field.
func (s Secret) GoString() string {
	return fmt.Sprintf("config.Secret{Ref:%q}", s.Ref)
}

// Format routes every verb through String or GoString; without it, verbs such
// as %x or %d would let fmt walk the struct and print the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// MarshalYAML emits the reference only.
func (s Secret) MarshalYAML() (any, error) { return s.Ref, nil }

// MarshalJSON emits the reference only.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.Ref) }

// UnmarshalYAML stores and checks the reference; the value is resolved later,
// by Parse, once the file's directory is known. Error messages never repeat
// what was written: a refused value may well be the credential itself.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Msg: "must be a secret reference (env:NAME or file:PATH), got " + kindName(n)}
	}
	if n.ShortTag() == "!!null" {
		*s = Secret{}
		return nil
	}
	if err := checkRef(n.Value); err != nil {
		return &Error{Line: n.Line, Msg: err.Error()}
	}
	*s = Secret{Ref: n.Value}
	return nil
}

var (
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	schemeLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)
)

// checkRef validates the shape of a reference without resolving it.
func checkRef(ref string) error {
	scheme, rest, ok := strings.Cut(ref, ":")
	switch {
	case ref == "":
		return nil
	case ok && scheme == "env":
		if !envName.MatchString(rest) {
			return fmt.Errorf("env: reference needs an environment variable name, e.g. env:PROD_DB_DSN")
		}
		return nil
	case ok && scheme == "file":
		if strings.TrimSpace(rest) == "" {
			return fmt.Errorf("file: reference needs a path, e.g. file:/run/secrets/prod-db-dsn")
		}
		return nil
	case ok && schemeLike.MatchString(scheme) && !strings.HasPrefix(rest, "//") && !strings.ContainsAny(ref, " @"):
		// Looks like a scheme someone expected us to know (vault:, aws:).
		// The scheme itself is not repeated: it could be part of a password.
		return fmt.Errorf("unknown secret reference scheme: use env:NAME or file:PATH")
	default:
		return fmt.Errorf("a plain value is not allowed here: secrets stay out of the file; " +
			"put it in an environment variable or a file and write env:NAME or file:PATH")
	}
}

// ResolveSecret returns the value a reference points to. A relative file:
// path is taken from the working directory; inside a configuration file it is
// taken from the file's directory instead (see Parse).
func ResolveSecret(ref string) (string, error) {
	if err := checkRef(ref); err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	v, err := resolveRef(ref, "")
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return v, nil
}

// resolveRef reads a checked reference; relative file: paths are joined to
// dir. Empty values are refused: an empty credential is always a mistake and
// would otherwise surface as a baffling authentication failure much later.
func resolveRef(ref, dir string) (string, error) {
	scheme, rest, _ := strings.Cut(ref, ":")
	switch scheme {
	case "env":
		v, ok := os.LookupEnv(rest)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", rest)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", rest)
		}
		return v, nil
	case "file":
		path := rest
		if !filepath.IsAbs(path) && dir != "" {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			// The PathError would repeat the path; say it once, our way.
			if pe, ok := err.(*os.PathError); ok {
				err = pe.Err
			}
			return "", fmt.Errorf("cannot read secret file %s: %v", path, err)
		}
		// Files written by editors and `echo` end in a newline that is never
		// part of the credential.
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", path)
		}
		return v, nil
	}
	return "", fmt.Errorf("unknown secret reference scheme: use env:NAME or file:PATH")
}

// NewSecret builds a resolved secret, for tests and embedded defaults.
func NewSecret(ref, value string) Secret { return Secret{Ref: ref, value: value} }
