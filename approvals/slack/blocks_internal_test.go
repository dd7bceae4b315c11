package slack

import (
	"strings"
	"testing"
)

func TestTruncateBounds(t *testing.T) {
	for _, n := range []int{24, 150, 2500} {
		for _, s := range []string{strings.Repeat("x", 5000), strings.Repeat("é", 3000), "short"} {
			got := truncate(s, n)
			if len(got) > n {
				t.Fatalf("truncate(%d bytes, %d) = %d bytes", len(s), n, len(got))
			}
			if !strings.HasPrefix(s, strings.SplitN(got, "…", 2)[0]) {
				t.Fatal("truncate changed the text it kept")
			}
		}
	}
	if v, id, ok := parseActionID("airlock.approve_reason/APR-12"); !ok || v != verbApproveWhy || id != "APR-12" {
		t.Fatalf("parseActionID: %q %q %v", v, id, ok)
	}
	for _, bad := range []string{"approve/APR-1", "airlock.approve", "airlock.approve/", "other.approve/APR-1"} {
		if _, _, ok := parseActionID(bad); ok {
			t.Fatalf("parseActionID(%q) accepted", bad)
		}
	}
	if got := codeSafe("a ``` <!channel> & b"); strings.Contains(got, "```") || strings.Contains(got, "<!channel>") {
		t.Fatalf("codeSafe: %q", got)
	}
}
