package mask

import (
	"slices"
	"strings"
	"testing"
)

// Test secrets are assembled from pieces so that secret scanners looking at
// this file do not mistake fixtures for leaks.
var (
	testJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "." +
		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" + "." +
		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	testPEM    = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x0vYz\nq1w2e3r4t5y6u7i8o9p0==\n-----END RSA " + "PRIVATE KEY-----"
	testGH     = "gh" + "p_" + "16C7e42F292c6912E7710c838347Ae178B4a"
	testGHPat  = "github" + "_pat_" + "11ABCDEFG0123456789abc_" + strings.Repeat("x1Y2z3", 10)
	testSlack  = "xo" + "xb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
	testStripe = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
	testAWSID  = "AKIA" + "IOSFODNN7EXAMPLE"
	testAWSSec = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
)

func mustEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// findings renders e's findings in s as "detector:value".
func findings(e *Engine, s string) []string {
	var out []string
	for _, sp := range e.find(s, nil) {
		out = append(out, e.names[sp.det]+":"+s[sp.start:sp.end])
	}
	return out
}

func TestDetectorsFind(t *testing.T) {
	e := mustEngine(t, Config{})
	cases := []struct {
		name, in string
		want     []string
	}{
		{"visa", "card 4111111111111111 ok", []string{"card:4111111111111111"}},
		{"visa spaces", "4111 1111 1111 1111", []string{"card:4111 1111 1111 1111"}},
		{"visa dashes", "n=4111-1111-1111-1111;", []string{"card:4111-1111-1111-1111"}},
		{"mastercard", `"5500000000000004"`, []string{"card:5500000000000004"}},
		{"mastercard 2-series", "2223000048400011", []string{"card:2223000048400011"}},
		{"amex grouped", "3782 822463 10005", []string{"card:3782 822463 10005"}},
		{"amex", "378282246310005", []string{"card:378282246310005"}},
		{"diners 4-6-4", "3056 930902 5904", []string{"card:3056 930902 5904"}},
		{"discover", "6011111111111117", []string{"card:6011111111111117"}},
		{"visa 13", "4222222222222", []string{"card:4222222222222"}},
		{"card then cvv", "4111 1111 1111 1111 123", []string{"card:4111 1111 1111 1111"}},
		{"card in csv", "1,4111111111111111,5500000000000004", []string{"card:4111111111111111", "card:5500000000000004"}},
		{"card after other number", "12 4111 1111 1111 1111", []string{"card:4111 1111 1111 1111"}},
		{"iban DE", "DE89370400440532013000", []string{"iban:DE89370400440532013000"}},
		{"iban DE grouped", "IBAN: DE89 3704 0044 0532 0130 00.", []string{"iban:DE89 3704 0044 0532 0130 00"}},
		{"iban GB", "GB82WEST12345698765432", []string{"iban:GB82WEST12345698765432"}},
		{"iban GB grouped then word", "GB82 WEST 1234 5698 7654 32 EUR", []string{"iban:GB82 WEST 1234 5698 7654 32"}},
		{"iban FR", "FR1420041010050500013M02606", []string{"iban:FR1420041010050500013M02606"}},
		{"iban NL", "to NL91ABNA0417164300", []string{"iban:NL91ABNA0417164300"}},
		{"iban BE grouped then word", "BE68 5390 0754 7034 DATE", []string{"iban:BE68 5390 0754 7034"}},
		{"iban CH", "CH9300762011623852957", []string{"iban:CH9300762011623852957"}},
		{"ssn", "ssn=123-45-6789", []string{"ssn:123-45-6789"}},
		{"ssn quoted", `"078-05-1120"`, []string{"ssn:078-05-1120"}},
		{"email", "mail jane.doe@example.com.", []string{"email:jane.doe@example.com"}},
		{"email plus subdomain", "<a+b@mail.example.co.uk>", []string{"email:a+b@mail.example.co.uk"}},
		{"email in url query", "?user=john@example.org&x=1", []string{"email:john@example.org"}},
		{"phone e164", "+4915112345678", []string{"phone:+4915112345678"}},
		{"phone intl spaces", "call +44 20 7946 0958 now", []string{"phone:+44 20 7946 0958"}},
		{"phone intl parens", "+1 (202) 555-0123", []string{"phone:+1 (202) 555-0123"}},
		{"phone intl (0)", "+44 (0)20 7946 0958", []string{"phone:+44 (0)20 7946 0958"}},
		{"phone intl dots", "+1.202.555.0123", []string{"phone:+1.202.555.0123"}},
		{"phone nanp parens", "(202) 555-0123", []string{"phone:(202) 555-0123"}},
		{"phone nanp dashes", "tel: 202-555-0123", []string{"phone:202-555-0123"}},
		{"phone nanp dots", "202.555.0123", []string{"phone:202.555.0123"}},
		{"phone nanp with 1", "1-202-555-0123", []string{"phone:1-202-555-0123"}},
		{"phone then figures", "+1 202 555 0123 4 5 6 7 8 9", []string{"phone:+1 202 555 0123 4 5 6 7"}},
		{"jwt", "Authorization: Bearer " + testJWT, []string{"jwt:" + testJWT}},
		{"jwt unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", []string{"jwt:eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}},
		{"pem", "key:\n" + testPEM + "\nrest", []string{"private_key:" + testPEM}},
		{"pem openssh", "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH " + "PRIVATE KEY-----", []string{"private_key:-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH " + "PRIVATE KEY-----"}},
		{"pem truncated", "x " + testPEM[:40], []string{"private_key:" + testPEM[:40]}},
		{"aws key id", "id=" + testAWSID, []string{"aws_access_key:" + testAWSID}},
		{"aws temp key id", "ASIA" + "Y34FZKBOKMUTVV7A,", []string{"aws_access_key:ASIA" + "Y34FZKBOKMUTVV7A"}},
		{"aws secret ini", "aws_secret_access_key = " + testAWSSec, []string{"aws_secret_key:" + testAWSSec}},
		{"aws secret json", `{"SecretAccessKey": "` + testAWSSec + `"}`, []string{"aws_secret_key:" + testAWSSec}},
		{"github", "token " + testGH, []string{"github_token:" + testGH}},
		{"github pat", testGHPat + " ", []string{"github_token:" + testGHPat}},
		{"slack", "SLACK=" + testSlack, []string{"slack_token:" + testSlack}},
		{"stripe", "key: " + testStripe, []string{"stripe_key:" + testStripe}},
		{"several", "a@b.io 4111111111111111", []string{"email:a@b.io", "card:4111111111111111"}},
		{"recurrence", "x4111111111111111 and 4111111111111111", []string{"card:4111111111111111", "card:4111111111111111"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := findings(e, c.in); !slices.Equal(got, c.want) {
				t.Errorf("find(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func TestDetectorsLeaveAlone(t *testing.T) {
	e := mustEngine(t, Config{})
	for _, in := range []string{
		"4111111111111112",                           // Luhn-invalid
		"4111 1111 1111 1112",                        // Luhn-invalid, grouped
		"6666666666666",                              // Luhn-valid but one digit repeated
		"00004111111111111111",                       // card glued inside a longer number
		"ab4111111111111111",                         // glued to a word
		"1709550000123",                              // epoch milliseconds (Luhn-valid)
		"1709550000123456",                           // epoch microseconds
		"0.30000000000000004",                        // a float
		"latency=4.111111111111111",                  // a float's fraction
		"2024-03-04",                                 // date
		"2024-03-04T10:15:30.123456Z",                // timestamp
		"2024-03-04T10:00:00+01:00",                  // timestamp with offset
		"04/03/2024 10:30:00",                        // date, time
		"192.168.1.1",                                // IPv4
		"10.100.200.3000",                            // IP-ish
		"[2001:db8::8a2e:370:7334]:5432",             // IPv6
		"550e8400-e29b-41d4-a716-446655440000",       // UUID
		"12345678-1234-1234-1234-123456789012",       // all-digit UUID
		"ORD-2024-000123",                            // order number
		"INV-555-123-4567",                           // phone-like invoice number
		"ORD-123-45-6789",                            // SSN-like order number
		"invoice 2024-000123-45",                     // invoice number
		"v1.2.3 go1.26.0 1.22.0-rc.1",                // versions
		"$1,234.56 €4.111,11 1 234 567,89",           // prices
		"total 300 400 5000 6000 7000",               // a row of figures
		"123456789",                                  // nine bare digits: not an SSN
		"000-12-3456 666-12-3456 912-34-5678",        // SSN areas never issued
		"123-00-4567 123-45-0000",                    // SSN group 00, serial 0000
		"+1234.5678 +12.5% +05:30 1e+10",             // signed numbers, offsets
		"+2024-03-04",                                // signed date
		"+0123456789",                                // no country code starts with 0
		"123-555-0123",                               // NANP area code cannot start with 1
		"user@10.0.0.1 pkg@1.2.3 @types/node",        // not email addresses
		"image@sha256:e3b0c44298fc1c149afbf4c8996fb", // digest
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // sha256
		"DE89370400440532013001",           // IBAN with a bad checksum
		"DE8937040044053201300099",         // too long for DE
		"eyJub3RhbGciOjF9.eyJ4IjoxfQ.c2ln", // "eyJ" header without alg
		"eyJhbGciOiJIUzI1NiJ9",             // a lone header
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
		"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
		"AKIA-not-a-key AKIAIOSFODNN7EXAMPL",    // too short
		"ghp_short sk_live_x xoxb-1",            // too short
		"pk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", // publishable test key: not secret
		"aws_secret_access_key",                 // name without a value
		"SecretAccessKey: tooShort",
		"---------------------------------------- -- - ---",
		"snake_case_identifier __init__ _private",
		"GET /api/v1/users/42 HTTP/1.1 200 0.003s",
		"",
	} {
		if got := findings(e, in); len(got) > 0 {
			t.Errorf("find(%q) = %q, want nothing", in, got)
		}
	}
}

func TestDetectorSelection(t *testing.T) {
	e := mustEngine(t, Config{Detectors: []string{"email"}})
	in := "a@b.io 4111111111111111"
	if got := findings(e, in); !slices.Equal(got, []string{"email:a@b.io"}) {
		t.Errorf("only email enabled: got %q", got)
	}
	none := mustEngine(t, Config{Detectors: []string{}})
	if got := findings(none, in); got != nil {
		t.Errorf("no detectors: got %q", got)
	}
	if _, err := New(Config{Detectors: []string{"cards"}}); err == nil || !strings.Contains(err.Error(), `"cards"`) {
		t.Errorf("unknown detector: err = %v", err)
	}
}

func TestRegexDetector(t *testing.T) {
	d, err := RegexDetector("employee_id", `EMP-[0-9]{6}`)
	if err != nil {
		t.Fatal(err)
	}
	e := mustEngine(t, Config{Custom: []Detector{d}})
	out, rep := e.Text("by EMP-123456 for a@b.io")
	if want := "by [REDACTED:employee_id] for [REDACTED:email]"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if len(rep.Masked) != 2 {
		t.Errorf("report %+v", rep)
	}
	if _, err := RegexDetector("bad", "("); err == nil {
		t.Error("bad regexp accepted")
	}
	if _, err := RegexDetector("bad name", "x"); err == nil {
		t.Error("bad name accepted")
	}
	if _, err := New(Config{Custom: []Detector{{Name: "x"}}}); err == nil {
		t.Error("detector without a regexp accepted")
	}
	dup, _ := RegexDetector("card", "x")
	if _, err := New(Config{Custom: []Detector{dup}}); err == nil {
		t.Error("detector named like a built-in accepted")
	}
}

func TestText(t *testing.T) {
	e := mustEngine(t, Config{})
	in := "ERROR: duplicate key value (email)=(jane@example.com) violates unique constraint"
	out, rep := e.Text(in)
	if want := "ERROR: duplicate key value (email)=([REDACTED:email]) violates unique constraint"; out != want {
		t.Errorf("got %q", out)
	}
	want := []Masked{{Rule: "detector:email", Action: Redact, Count: 1}}
	if !slices.Equal(rep.Masked, want) {
		t.Errorf("report %+v, want %+v", rep.Masked, want)
	}
	plain := "nothing to see here 2024-03-04 10.0.0.1"
	if out, rep := e.Text(plain); out != plain || len(rep.Masked) != 0 {
		t.Errorf("plain text changed: %q %+v", out, rep)
	}
}

func TestBuiltins(t *testing.T) {
	b := Builtins()
	for _, n := range []string{"card", "iban", "ssn", "email", "phone", "jwt", "private_key",
		"aws_access_key", "aws_secret_key", "github_token", "slack_token", "stripe_key"} {
		if !slices.Contains(b, n) {
			t.Errorf("Builtins() lacks %q", n)
		}
	}
	b[0] = "changed"
	if Builtins()[0] != "card" {
		t.Error("Builtins shares its array")
	}
}
