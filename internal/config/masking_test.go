package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMaskingAndPolicySections(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"bad action", "masking:\n  rules:\n    - match: \"db:public.t.c\"\n      action: scramble\n",
			`a.yaml:3: masking.rules[0]: unknown action "scramble"`},
		{"empty match", "masking:\n  rules:\n    - name: x\n    - match: \"\"\n",
			`a.yaml:3: masking.rules[0]: match is empty`},
		{"hash without key", "masking:\n  rules:\n    - match: \"db:public.t.c\"\n      action: hash\n",
			`a.yaml:3: masking.rules[0]: action hash needs a hash key`},
		{"bad regex", "masking:\n  custom:\n    - name: emp\n      pattern: \"EMP-[0-9\"\n",
			`a.yaml:3: masking.custom[0]: mask: detector "emp"`},
		{"unknown detector", "masking:\n  detectors: [card, dna]\n",
			`a.yaml:2: masking.detectors: mask: detector "dna": unknown`},
		{"zero eval timeout", "policy:\n  eval_timeout: 0s\n", `a.yaml:2: policy.eval_timeout: must be a positive duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	cfg, err := Parse(filepath.Join("/etc", "airlock", "a.yaml"), []byte("policy:\n  dir: policies\nmasking:\n  rules:\n    - {match: \"db:public.customers.ssn\", fail_closed: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policy.Dir != "/etc/airlock/policies" {
		t.Fatalf("policy.dir %q is not relative to the file", cfg.Policy.Dir)
	}
	mc, err := cfg.Masking.MaskConfig()
	if err != nil || len(mc.Rules) != 1 || !mc.Rules[0].FailClosed {
		t.Fatalf("mask config %+v %v", mc, err)
	}
}
