package policy

import (
	"slices"
	"testing"
)

// TestConstDocs pins which documents a load computes once: those that
// cannot depend on the input or on the moment, and no others.
func TestConstDocs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "config.rego", "package airlock.config\n\napprover_group := \"dba\"\n")
	writeFile(t, dir, "docs.rego", `package airlock.authz

import data.airlock.lib

pure_const := 3

pure_derived := sprintf("%d rows", [pure_const * 2])

reads_input := input.tool.name

derived_from_input := concat("-", [reads_input])

whole_input := x if {
	x := input
}

clock := time.now_ns()

calls_time_function := lib.weekday(0, "UTC")

uses_with := x if {
	x := pure_const with input as {}
}

undefined_doc if false

timeout_ms := 5 if input.principal.verified == false
`)
	e := newEngine(t, Options{Dir: dir})
	s := e.snap.Load()
	if s.decision.consts == nil || s.visible.consts != s.decision.consts {
		t.Fatal("no constant documents")
	}
	var got []string
	for _, k := range s.decision.consts.Keys() {
		got = append(got, k.String())
	}
	for _, want := range []string{"data.airlock.authz.pure_const", "data.airlock.authz.pure_derived",
		"data.airlock.authz.approver_group", "data.airlock.config.approver_group", "data.airlock.authz.max_rows"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s not constant; constants: %v", want, got)
		}
	}
	for _, not := range []string{"reads_input", "derived_from_input", "whole_input", "clock",
		"calls_time_function", "uses_with", "undefined_doc", "timeout_ms", "decision", "allow", "visible"} {
		if slices.Contains(got, "data.airlock.authz."+not) {
			t.Errorf("%s taken as constant", not)
		}
	}
	if v, _ := s.decision.consts.Get(mustRef("data.airlock.authz.approvers")); v == nil || v.String() != `["group:dba"]` {
		t.Errorf("approvers = %v", v)
	}
	in := selectInput()
	in.Principal = devUser
	in.Connection = devDB
	if d := decide(t, e, in); d.TimeoutMS != 5 {
		t.Errorf("timeout_ms = %d, want the operator's 5", d.TimeoutMS)
	}
}
