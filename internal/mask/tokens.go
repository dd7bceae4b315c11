package mask

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// email returns the start of the local part before the '@' at at, or -1.
// The local part is RFC 5321's common subset (letters, digits, ._%+-) and
// at most 64 characters; a longer run keeps only its last 64, masked.
func email(s string, at int) int {
	st := at
	for st > 0 && at-st < 64 && isLocal(s[st-1]) {
		st--
	}
	for st < at && s[st] == '.' {
		st++
	}
	if st == at || s[at-1] == '.' {
		return -1
	}
	return st
}

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// emailDomain returns the end of the domain after the '@' at at, or -1:
// at least two dot-separated labels, the last all letters and at least two
// long, so "user@10.0.0.1", "pkg@1.2.3" and "image@sha256:..." are not
// addresses. A trailing label that is not a TLD is left out ("a@b.com.123"
// ends after "com").
func emailDomain(s string, at int) int {
	j, labels, end := at+1, 0, -1
	for {
		ls := j
		for j < len(s) && (isAlnum(s[j]) || s[j] == '-') {
			j++
		}
		if j == ls || s[ls] == '-' || s[j-1] == '-' {
			break
		}
		if labels++; labels >= 2 && isTLD(s[ls:j]) {
			end = j
		}
		if j+1 < len(s) && s[j] == '.' && isAlnum(s[j+1]) {
			j++
			continue
		}
		break
	}
	return end
}

func isTLD(l string) bool {
	for i := 0; i < len(l); i++ {
		if !isAlpha(l[i]) {
			return false
		}
	}
	return len(l) >= 2
}

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// jwt returns the end of a JWT whose header starts "eyJ" with the 'J' at
// j, or -1. Three base64url segments (the signature may be empty, as in
// alg "none"; the five of an encrypted JWT are taken whole), and the
// header must decode to a JSON object with "alg": an arbitrary "eyJ..."
// string is not enough.
func jwt(s string, j int) int {
	st := j - 2
	if st < 0 || s[st] != 'e' || s[st+1] != 'y' || (st > 0 && isB64URL(s[st-1])) {
		return -1
	}
	i := st
	seg := func() int {
		k := i
		for i < len(s) && isB64URL(s[i]) {
			i++
		}
		return i - k
	}
	if h := seg(); h < 10 || i >= len(s) || s[i] != '.' {
		return -1
	}
	hdr := s[st:i]
	i++
	if seg() < 2 || i >= len(s) || s[i] != '.' {
		return -1
	}
	i++
	seg()
	for n := 0; n < 2 && i+1 < len(s) && s[i] == '.' && isB64URL(s[i+1]); n++ {
		i++
		seg()
	}
	if len(hdr) > 2048 {
		return -1
	}
	raw, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil {
		return -1
	}
	var h map[string]json.RawMessage
	if json.Unmarshal(raw, &h) != nil {
		return -1
	}
	if _, ok := h["alg"]; !ok {
		return -1
	}
	return i
}

func (e *Engine) atDash(s string, i int) (int, int, int) {
	if e.has(detPrivateKey) && i+1 < len(s) && s[i+1] == '-' && strings.HasPrefix(s[i:], "-----BEGIN ") {
		if en := pemKey(s, i); en > 0 {
			return i, en, detPrivateKey
		}
	}
	if e.has(detSlack) && i >= 4 && s[i-4] == 'x' && (i == 4 || !isAlnum(s[i-5])) {
		switch s[i-4 : i] {
		case "xoxb", "xoxp", "xoxa", "xoxr", "xoxs", "xoxe", "xapp":
			j := i + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '-') {
				j++
			}
			if j-i-1 >= 10 {
				return i - 4, j, detSlack
			}
		}
	}
	return -1, -1, 0
}

// pemKey returns the end of the private key block whose "-----BEGIN " is
// at i, or -1 when the block is not a private key. Without an END line the
// key runs to the end of the text: output cut short still holds key
// material.
func pemKey(s string, i int) int {
	h := i + len("-----BEGIN ")
	k := strings.Index(s[h:min(len(s), h+64)], "-----")
	if k < 0 || !strings.Contains(s[h:h+k], "PRIVATE KEY") {
		return -1
	}
	body := h + k + 5
	k = strings.Index(s[body:], "-----END ")
	if k < 0 {
		return len(s)
	}
	tail := body + k + len("-----END ")
	k = strings.Index(s[tail:min(len(s), tail+64)], "-----")
	if k < 0 {
		return len(s)
	}
	return tail + k + 5
}

func (e *Engine) atUnderscore(s string, i int) (int, int, int) {
	if e.has(detGitHub) {
		if i >= 3 && s[i-3] == 'g' && (i == 3 || !isAlnum(s[i-4])) {
			switch s[i-3 : i] {
			case "ghp", "gho", "ghu", "ghs", "ghr":
				if j := alnumRun(s, i+1, false); j-i-1 >= 30 {
					return i - 3, j, detGitHub
				}
			}
		}
		if i >= 6 && s[i-6:i] == "github" && strings.HasPrefix(s[i:], "_pat_") && (i == 6 || !isAlnum(s[i-7])) {
			if j := alnumRun(s, i+5, true); j-i-5 >= 22 {
				return i - 6, j, detGitHub
			}
		}
	}
	// Secret (sk_) and restricted (rk_) keys, live or test, and live
	// publishable keys (pk_live_); test publishable keys are public by design.
	if p := s[max(i-2, 0)]; e.has(detStripe) && i >= 2 && s[i-1] == 'k' && (p == 's' || p == 'r' || p == 'p') &&
		(i == 2 || !isAlnum(s[i-3])) &&
		(strings.HasPrefix(s[i:], "_live_") || (p != 'p' && strings.HasPrefix(s[i:], "_test_"))) {
		if j := alnumRun(s, i+6, false); j-i-6 >= 10 {
			return i - 2, j, detStripe
		}
	}
	if e.has(detAWSSecret) && i >= 6 && (s[i-1]|0x20) == 't' && strings.EqualFold(s[i-6:i], "secret") &&
		len(s)-i >= 11 && strings.EqualFold(s[i:i+11], "_access_key") {
		if st, en := awsSecretValue(s, i+11); st > 0 {
			return st, en, detAWSSecret
		}
	}
	return -1, -1, 0
}

func alnumRun(s string, j int, underscore bool) int {
	for j < len(s) && (isAlnum(s[j]) || (underscore && s[j] == '_')) {
		j++
	}
	return j
}

func (e *Engine) atA(s string, i int) (int, int, int) {
	// AKIA (long-term) and ASIA (temporary) access key ids.
	if e.has(detAWSKey) && i+20 <= len(s) && (s[i+1] == 'K' || s[i+1] == 'S') && s[i+2] == 'I' && s[i+3] == 'A' &&
		(i == 0 || !isAlnum(s[i-1])) && (i+20 == len(s) || !isAlnum(s[i+20])) {
		ok := true
		for k := i + 4; k < i+20 && ok; k++ {
			ok = isUpper(s[k]) || isDigit(s[k])
		}
		if ok {
			return i, i + 20, detAWSKey
		}
	}
	if e.has(detAWSSecret) && i >= 6 && s[i-6:i] == "Secret" && strings.HasPrefix(s[i:], "AccessKey") {
		if st, en := awsSecretValue(s, i+len("AccessKey")); st > 0 {
			return st, en, detAWSSecret
		}
	}
	return -1, -1, 0
}

// awsSecretValue finds the 40-character secret access key that follows a
// key name ending at j ("aws_secret_access_key = ...", "SecretAccessKey":
// "..."). A bare 40-character base64 string is too common to mask without
// that context.
func awsSecretValue(s string, j int) (int, int) {
	assign := false
	for k := 0; k < 8 && j < len(s); k++ {
		c := s[j]
		if c == ':' || c == '=' {
			assign = true
		} else if c != ' ' && c != '\t' && c != '"' && c != '\'' {
			break
		}
		j++
	}
	if !assign || j+40 > len(s) {
		return -1, -1
	}
	for k := j; k < j+40; k++ {
		if c := s[k]; !isAlnum(c) && c != '/' && c != '+' {
			return -1, -1
		}
	}
	if e := j + 40; e < len(s) && (isAlnum(s[e]) || s[e] == '/' || s[e] == '+' || s[e] == '=') {
		return -1, -1
	}
	return j, j + 40
}

// ibanLengths holds the IBAN length of the countries that use one (SWIFT
// IBAN registry). Other two-letter prefixes are accepted with 15 to 34
// characters; the mod-97 checksum keeps false positives rare either way.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
	"DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
	"GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
	"IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
	"ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
	"SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
	"TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// ibanLen is ibanLengths as an array indexed by the two letters, a map
// lookup being a noticeable share of masking an IBAN column.
var ibanLen = func() (t [26 * 26]uint8) {
	for cc, n := range ibanLengths {
		t[int(cc[0]-'A')*26+int(cc[1]-'A')] = uint8(n)
	}
	return t
}()

// iban returns the end of an IBAN starting at p (the country code), or -1.
// Written compact or in groups of four separated by single spaces. For a
// country without a known length the longest valid candidate wins.
func iban(s string, p int) int {
	if p+4 > len(s) || !isDigit(s[p+2]) || !isDigit(s[p+3]) {
		return -1
	}
	want := int(ibanLen[int(s[p]-'A')*26+int(s[p+1]-'A')])
	best, n, inGroup := -1, 0, 0
	for j := p; j < len(s) && n < 34; {
		c := s[j]
		if isUpper(c) || isDigit(c) {
			n++
			j++
			inGroup++
			if n >= 15 && (want == 0 || n == want) && (j == len(s) || !isAlnum(s[j])) && mod97(s[p:j]) == 1 {
				best = j
			}
			if n == want {
				break
			}
			continue
		}
		if c == ' ' && inGroup == 4 && j+1 < len(s) && (isUpper(s[j+1]) || isDigit(s[j+1])) {
			inGroup = 0
			j++
			continue
		}
		break
	}
	return best
}

// mod97 computes the ISO 7064 checksum of an IBAN as written (spaces
// skipped; the first four characters are never split): rearranged with the
// first four characters moved to the end, letters counted from A = 10. The
// remainder is only taken when the accumulator nears overflow, as division
// dominated the cost of masking IBAN columns.
func mod97(s string) int {
	r := mod97Add(0, s[4:])
	return int(mod97Add(r, s[:4]) % 97)
}

func mod97Add(r uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			r = r*10 + uint64(c-'0')
		case c != ' ':
			r = r*100 + uint64(c-'A'+10)
		}
		if r >= 1<<56 {
			r %= 97
		}
	}
	return r
}
