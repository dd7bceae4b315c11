package identity

import (
	"context"
	"strings"
	"testing"
)

func TestDevIdentityIsAlwaysUnverified(t *testing.T) {
	for _, name := range []string{"alice@example.com", "ci-bot"} {
		p, err := Dev(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Verified || p.Issuer != DevIssuer || p.Subject != name || p.Groups == nil {
			t.Fatalf("%s: %+v", name, p)
		}
	}
	p, _ := Dev("alice@example.com")
	if p.Email != "alice@example.com" {
		t.Fatalf("email not taken from an address: %+v", p)
	}
	for _, bad := range []string{"", "   ", "alice smith"} {
		if _, err := Dev(bad); err == nil {
			t.Errorf("Dev(%q) accepted", bad)
		}
	}
}

func TestPrincipalTravelsInContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("a bare context carries a principal")
	}
	p, _ := Dev("bob@example.com")
	got, ok := FromContext(WithPrincipal(context.Background(), p))
	if !ok || got.Subject != "bob@example.com" {
		t.Fatalf("got %+v %v", got, ok)
	}
	if !strings.Contains(ErrNoIdentity.Error(), "no identity") {
		t.Fatal(ErrNoIdentity)
	}
}
