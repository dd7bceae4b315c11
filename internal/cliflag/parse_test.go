package cliflag

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reason := fs.String("reason", "", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := Parse(fs, []string{"approve", "APR-3", "--reason", "looks fine", "--json", "extra"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pos, []string{"approve", "APR-3", "extra"}) || *reason != "looks fine" || !*asJSON {
		t.Errorf("pos %q, reason %q, json %v", pos, *reason, *asJSON)
	}
}

func TestParseUnknownFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := Parse(fs, []string{"APR-3", "--nope"}); err == nil {
		t.Error("an unknown flag after a positional argument was accepted")
	}
}
