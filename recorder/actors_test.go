package recorder

import (
	"context"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/mask"
)

// TestActorsStayNamed: the people an event is about (who opened the
// session, asked, approved, granted, revoked, purged) are recorded as
// they are, though the recorder masks every other string: without them
// the trail could not say who approved a write. A member of the same name
// below the top level, free text, and a top-level member of that name in
// an event where it names no actor are masked as before.
func TestActorsStayNamed(t *testing.T) {
	m, err := mask.New(mask.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Recorder{canon: canonicalizer{mask: MaskerFunc(func(s string) string { v, _ := m.Text(s); return v }), maxString: 1 << 16}}
	const who, leak = "dana.approver@example.com", "4111111111111111"
	for typ, keys := range actorKeys {
		data := map[string]any{"reason": "asked by " + who, "args_text": "UPDATE cards SET n = '" + leak + "'",
			"nested": map[string]any{keys[0]: who}}
		for _, k := range keys {
			data[k] = who
		}
		ev, err := NewEvent(typ, data)
		if err != nil {
			t.Fatal(err)
		}
		req, err := r.prepare(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		got := string(req.rec.Data)
		for _, k := range keys {
			if !strings.Contains(got, `"`+k+`":"`+who+`"`) {
				t.Errorf("%s: the actor in %q was not kept: %s", typ, k, got)
			}
		}
		if strings.Count(got, who) != len(keys) || strings.Contains(got, leak) {
			t.Errorf("%s: something besides the actors passed unmasked: %s", typ, got)
		}
	}
	// An intent names no actor in its payload (the subject is a column):
	// a top-level "email" or "subject" there is data, and is masked.
	ev, _ := NewEvent(TypeCallIntent, map[string]any{"tool": "sql_query", "email": who, "subject": who,
		"arguments": map[string]any{"email": who}})
	req, err := r.prepare(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(req.rec.Data), who) {
		t.Errorf("an intent's payload kept an address: %s", req.rec.Data)
	}
}
