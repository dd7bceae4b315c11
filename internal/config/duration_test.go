package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	good := map[string]time.Duration{
		"0":      0,
		"0s":     0,
		"30s":    30 * time.Second,
		"1h30m":  90 * time.Minute,
		"250ms":  250 * time.Millisecond,
		"400d":   400 * day,
		"1d12h":  day + 12*time.Hour,
		"0d":     0,
		"+5m":    5 * time.Minute,
		" 10s ":  10 * time.Second,
		"1.5h":   90 * time.Minute,
		"7d1m1s": 7*day + time.Minute + time.Second,
	}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                    "empty duration",
		"5x":                  `invalid duration "5x"`,
		"30":                  "use a number with a unit",
		"-5s":                 "must not be negative",
		"-1d":                 "must not be negative",
		"1.5d":                "days are written as a whole number",
		"d":                   "days are written as a whole number",
		"1d-2h":               "invalid duration",
		"1d+2h":               "invalid duration",
		"2d3d":                "invalid duration",
		"999999999999999999d": "too long",
	}
	for in, want := range bad {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q) error = %v, want one containing %q", in, err, want)
		}
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	for in, want := range map[time.Duration]string{
		0:                                   "0s",
		30 * time.Second:                    "30s",
		2 * time.Minute:                     "2m",
		2 * time.Hour:                       "2h",
		90 * time.Minute:                    "1h30m",
		400 * 24 * time.Hour:                "400d",
		24*time.Hour + 90*time.Second:       "1d1m30s",
		1500 * time.Millisecond:             "1.5s",
		3*time.Hour + 5*time.Millisecond:    "3h0m0.005s",
		24*time.Hour + 250*time.Microsecond: "1d250µs",
	} {
		got := FormatDuration(in)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", in, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back != in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, in)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: 400d\n"), &v); err != nil || v.D.D() != 400*24*time.Hour {
		t.Errorf("Unmarshal = %v, %v", v.D, err)
	}
	err := yaml.Unmarshal([]byte("\n\nd: soon\n"), &v)
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 3 || !strings.Contains(ce.Msg, `invalid duration "soon"`) {
		t.Errorf("Unmarshal of a bad duration: %v", err)
	}
	out, err := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(36 * time.Hour)})
	if err != nil || string(out) != "d: 1d12h\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}
