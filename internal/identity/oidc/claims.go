package oidc

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/airlockhq/airlock/internal/identity"
)

// claims is the part of a token the verifier reads in every case; the
// configurable ones (email, groups) are looked up in all.
type claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	Expiry    *numDate `json:"exp"`
	NotBefore *numDate `json:"nbf"`
	IssuedAt  *numDate `json:"iat"`
	AZP       string   `json:"azp"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	// scp is how some IdPs (Okta, Entra) spell scope: a list or a string.
	SCP stringList `json:"scp"`

	all map[string]json.RawMessage
}

// audience accepts the two JSON forms of aud: a string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var l stringList
	if err := l.UnmarshalJSON(b); err != nil {
		return err
	}
	*a = audience(l)
	return nil
}

// stringList is a claim that IdPs send as a list of strings or as one
// string (space separated for scopes).
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = strings.Fields(s)
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

// numDate is a NumericDate; IdPs send integers and sometimes fractions.
type numDate float64

func (d numDate) time() time.Time {
	sec := int64(d)
	return time.Unix(sec, int64((float64(d)-float64(sec))*1e9)).UTC()
}

func optTime(d *numDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.time()
}

func parseClaims(payload []byte) (*claims, error) {
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(payload, &c.all); err != nil {
		return nil, err
	}
	return &c, nil
}

// scopes returns the granted scopes from scope or scp.
func (c *claims) scopes() []string {
	if c.Scope != "" {
		return strings.Fields(c.Scope)
	}
	return []string(c.SCP)
}

// lookup finds a claim by name, then, for names with dots that are not a
// top-level claim, by path ("realm_access.roles"). Exact names come first
// because namespaced claims are URLs full of dots.
func (c *claims) lookup(name string) (json.RawMessage, bool) {
	if v, ok := c.all[name]; ok {
		return v, true
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return nil, false
	}
	cur := c.all
	for i, p := range parts {
		v, ok := cur[p]
		if !ok {
			return nil, false
		}
		if i == len(parts)-1 {
			return v, true
		}
		cur = nil
		if json.Unmarshal(v, &cur) != nil {
			return nil, false
		}
	}
	return nil, false
}

func (c *claims) stringClaim(name string) string {
	v, ok := c.lookup(name)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

func (c *claims) listClaim(name string) []string {
	v, ok := c.lookup(name)
	if !ok {
		return nil
	}
	var l stringList
	if l.UnmarshalJSON(v) != nil {
		return nil
	}
	return l
}

// principal builds the principal of a verified token.
func (iss *issuer) principal(c *claims) identity.Principal {
	p := identity.Principal{
		Subject:  c.Subject,
		Email:    c.stringClaim(iss.cfg.EmailClaim),
		Groups:   iss.groups(c.listClaim(iss.cfg.GroupsClaim)),
		Issuer:   c.Issuer,
		ClientID: c.AZP,
		Verified: true,
	}
	if p.ClientID == "" {
		p.ClientID = c.ClientID
	}
	return p
}

// groups maps IdP groups to airlock groups. Without a role map the IdP's
// groups are used as they are; with one, only mapped groups count, so an
// issuer cannot grant an airlock group the map does not give it (which
// matters when several issuers are trusted).
func (iss *issuer) groups(idp []string) []string {
	out := []string{}
	if len(iss.cfg.RoleMap) == 0 {
		out = append(out, idp...)
	} else {
		for _, g := range idp {
			out = append(out, iss.cfg.RoleMap[g]...)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// peekIssuer reads iss from a token's payload without verifying anything;
// it only chooses which issuer's verifier runs.
func peekIssuer(raw string) (string, bool) {
	first := strings.IndexByte(raw, '.')
	if first < 0 {
		return "", false
	}
	rest := raw[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(rest[:second])
	if err != nil {
		return "", false
	}
	var v struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &v) != nil || v.Issuer == "" {
		return "", false
	}
	return v.Issuer, true
}
