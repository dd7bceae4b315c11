package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ParseDuration parses a Go duration ("90s", "1h30m") with one addition: a
// leading whole number of days ("400d", "1d12h"), because retention periods
// are written in days and Go has no unit for them. Negative durations are
// refused: no setting here means anything by a negative time.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration: use a unit, e.g. 30s, 5m, 2h, 400d")
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(strings.TrimPrefix(s[:i], "+"), 10, 64)
		if err != nil || i == 0 {
			return 0, fmt.Errorf("invalid duration %q: days are written as a whole number before the other units, e.g. 400d or 1d12h", s)
		}
		if n > uint64(math.MaxInt64/int64(24*time.Hour)) {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = s[i+1:]
	}
	if rest == "" {
		return days, nil
	}
	d, err := time.ParseDuration(rest)
	// A sign after the days ("1d-5h") is a typo, not arithmetic.
	if err != nil || d < 0 || (days > 0 && strings.HasPrefix(rest, "+")) {
		return 0, fmt.Errorf("invalid duration %q: use a number with a unit, e.g. 30s, 5m, 2h, 400d", s)
	}
	if days > math.MaxInt64-d {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return days + d, nil
}

// FormatDuration writes d the way an operator would: "30s", "2m", "1h30m",
// "400d"; it is the inverse of ParseDuration.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		// Not produced by ParseDuration, but keep the output honest.
		b.WriteByte('-')
		d = -d
	}
	if days := d / (24 * time.Hour); days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "d")
		d -= days * 24 * time.Hour
		if d == 0 {
			return b.String()
		}
	}
	s := d.String()
	// time.Duration.String pads with zero units ("2h0m0s"); drop them.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	b.WriteString(s)
	return b.String()
}

// String formats d as FormatDuration does, so %v of a Config is readable.
func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// UnmarshalYAML accepts "30s", "5m", "400d". A bare number is refused rather
// than guessed at: "30" could mean seconds or nanoseconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Msg: "must be a duration such as 30s, 5m, 2h or 400d, got " + kindName(n)}
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &Error{Line: n.Line, Msg: err.Error()}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string ParseDuration reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
