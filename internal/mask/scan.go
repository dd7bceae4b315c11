package mask

// The built-in detectors share one pass over the bytes. Almost every byte
// of ordinary text is looked up in a 256-entry table and skipped; only the
// bytes that can start (or end the prefix of) something sensitive run a
// check, and each check is a hand-written validator rather than a regexp:
//
//	digit (first of a run)  card, IBAN (looking back at the country code),
//	                        SSN, North American phone number
//	'@'                     email (looking back at the local part)
//	'+', '('                international and (202) 555-0123 phone numbers
//	'-'                     "-----BEGIN ... PRIVATE KEY", Slack's "xoxb-"
//	'_'                     "ghp_", "github_pat_", "sk_live_",
//	                        "secret_access_key"
//	'A'                     "AKIA", "ASIA", "SecretAccessKey"
//	'J'                     the "eyJ" that starts every JWT
//
// Checks return as soon as the shape is wrong, so text without sensitive
// values costs about a table lookup per byte.

// Trigger classes.
const (
	tNone = iota
	tDigit
	tAt
	tPlus
	tParen
	tDash
	tUnderscore
	tUpperA
	tUpperJ
)

func (e *Engine) has(d int) bool { return e.on&(1<<d) != 0 }

func (e *Engine) buildTriggers() {
	set := func(c byte, t uint8, dets ...int) {
		for _, d := range dets {
			if e.has(d) {
				e.trig[c] = t
				return
			}
		}
	}
	for c := byte('0'); c <= '9'; c++ {
		set(c, tDigit, detCard, detIBAN, detSSN, detPhone)
	}
	set('@', tAt, detEmail)
	set('+', tPlus, detPhone)
	set('(', tParen, detPhone)
	set('-', tDash, detPrivateKey, detSlack)
	set('_', tUnderscore, detGitHub, detStripe, detAWSSecret)
	set('A', tUpperA, detAWSKey, detAWSSecret)
	set('J', tUpperJ, detJWT)
}

// scan appends the built-in findings in s to spans.
func (e *Engine) scan(s string, spans []span) []span {
	t := &e.trig
	for i := 0; i < len(s); i++ {
		// Most bytes trigger nothing; skip them four at a time.
		for i+4 <= len(s) && t[s[i]]|t[s[i+1]]|t[s[i+2]]|t[s[i+3]] == tNone {
			i += 4
		}
		if i >= len(s) {
			break
		}
		k := t[s[i]]
		if k == tNone {
			continue
		}
		st, en, d := -1, -1, 0
		switch k {
		case tDigit:
			if i > 0 && isDigit(s[i-1]) {
				continue
			}
			st, en, d = e.atDigit(s, i)
			if en < 0 { // the rest of the run starts nothing
				for i+1 < len(s) && isDigit(s[i+1]) {
					i++
				}
				continue
			}
		case tAt:
			st, en, d = email(s, i), i, detEmail
			if st >= 0 {
				en = emailDomain(s, i)
			}
		case tPlus:
			st, en, d = i, intlPhone(s, i), detPhone
		case tParen:
			st, en, d = i, parenPhone(s, i), detPhone
		case tDash:
			st, en, d = e.atDash(s, i)
		case tUnderscore:
			st, en, d = e.atUnderscore(s, i)
		case tUpperA:
			st, en, d = e.atA(s, i)
		case tUpperJ:
			if e.has(detJWT) {
				st, en, d = i-2, jwt(s, i), detJWT
			}
		}
		if st >= 0 && en > i {
			spans = addSpan(spans, span{st, en, d})
			i = en - 1
		}
	}
	return spans
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// leftOK reports whether a number may start at p: not glued to a word or
// to the digits of a decimal ("0.4111111111111111" is a float, not a card).
func leftOK(s string, p int) bool {
	if p == 0 {
		return true
	}
	c := s[p-1]
	return !isAlnum(c) && !(c == '.' && p >= 2 && isDigit(s[p-2]))
}

// rightOK is leftOK for the end of a number.
func rightOK(s string, e int) bool {
	if e >= len(s) {
		return true
	}
	c := s[e]
	return !isAlnum(c) && !(c == '.' && e+1 < len(s) && isDigit(s[e+1]))
}

// strictLeft also refuses numbers continuing a dashed, dotted or slashed
// code ("INV-555-123-4567", "ORD-123-45-6789"), for the short formats that
// would otherwise match pieces of them.
func strictLeft(s string, p int) bool {
	if !leftOK(s, p) {
		return false
	}
	if p == 0 {
		return true
	}
	switch s[p-1] {
	case '-', '.', '_', '/':
		return false
	}
	return true
}

// continues reports whether a separator and a digit follow e, that is,
// whether the number goes on in the same format.
func continues(s string, e int) bool {
	if e+1 >= len(s) || !isDigit(s[e+1]) {
		return false
	}
	switch s[e] {
	case '-', '.', '/':
		return true
	}
	return false
}

// atDigit checks the number whose first digit is at p. The length of the
// first run of digits rules out most detectors at once: every card starts
// with four or more digits, SSNs and North American numbers with three.
func (e *Engine) atDigit(s string, p int) (int, int, int) {
	if e.has(detIBAN) && p >= 2 && isUpper(s[p-1]) && isUpper(s[p-2]) && (p == 2 || !isAlnum(s[p-3])) {
		if en := iban(s, p-2); en > 0 {
			return p - 2, en, detIBAN
		}
	}
	if !leftOK(s, p) {
		return -1, -1, 0
	}
	run := 1
	for p+run < len(s) && run < 4 && isDigit(s[p+run]) {
		run++
	}
	switch {
	case run == 4:
		if e.has(detCard) && '2' <= s[p] && s[p] <= '6' {
			if en := card(s, p); en > 0 {
				return p, en, detCard
			}
		}
	case run == 3 && strictLeft(s, p):
		if e.has(detSSN) {
			if en := ssn(s, p); en > 0 {
				return p, en, detSSN
			}
		}
		if e.has(detPhone) {
			if en := nanp(s, p); en > 0 {
				return p, en, detPhone
			}
		}
	case run == 1 && s[p] == '1' && e.has(detPhone) && strictLeft(s, p):
		// 1-202-555-0123, 1.202.555.0123
		if p+2 < len(s) && (s[p+1] == '-' || s[p+1] == '.') {
			if en := nanp(s, p+2); en > 0 {
				return p, en, detPhone
			}
		}
	}
	return -1, -1, 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

// card returns the end of a payment card number starting at p, or -1.
// Accepted shapes: 13 to 19 digits in one run, or grouped by one kind of
// separator (space or dash) as 4-4-4-4 (and 4-4-4-N up to 19 digits),
// 4-6-5 or 4-6-4. When the run goes on (a CVV, an expiry), the longest
// valid prefix of whole groups is the card.
func card(s string, p int) int {
	var glen, gend [8]int
	n, total := 0, 0
	var sep byte
	j := p
	for {
		st := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		glen[n], gend[n] = j-st, j
		total += j - st
		n++
		if total > 19 || n == len(glen) || j+1 >= len(s) || !isDigit(s[j+1]) {
			break
		}
		if c := s[j]; (c == ' ' || c == '-') && (sep == 0 || c == sep) {
			sep = c
			j++
			continue
		}
		break
	}
	total = 0
	for k := 0; k < n; k++ {
		total += glen[k]
	}
	for k := n; k >= 1; k-- {
		if k < n {
			total -= glen[k]
		}
		if total < 13 {
			break
		}
		if total > 19 || !cardGroups(glen[:k]) {
			continue
		}
		end := gend[k-1]
		if k == n && !rightOK(s, end) {
			continue
		}
		if validCard(s[p:end]) {
			return end
		}
	}
	return -1
}

func cardGroups(g []int) bool {
	switch {
	case len(g) == 1:
		return true
	case len(g) == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4):
		return true // American Express, Diners Club
	}
	for _, l := range g[:len(g)-1] {
		if l != 4 {
			return false
		}
	}
	return g[len(g)-1] <= 4
}

// validCard checks the digits of a card candidate: issuer digit 2-6 (the
// payment networks; it also spares epoch timestamps, which start with 1),
// not all one digit, and the Luhn checksum.
func validCard(s string) bool {
	var d [19]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			d[n] = s[i] - '0'
			n++
		}
	}
	if d[0] < 2 || d[0] > 6 {
		return false
	}
	same := true
	for i := 1; i < n; i++ {
		same = same && d[i] == d[0]
	}
	if same {
		return false
	}
	sum := 0
	for i := 0; i < n; i++ {
		v := int(d[n-1-i])
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// ssn returns the end of a US social security number AAA-GG-SSSS at p, or
// -1. Only the dashed form counts: nine bare digits are as likely an order
// or account number. Numbers never issued (area 000, 666 or 900-999, group
// 00, serial 0000) are not SSNs.
func ssn(s string, p int) int {
	if p+11 > len(s) || s[p+3] != '-' || s[p+6] != '-' ||
		!allDigits(s[p:p+3]) || !allDigits(s[p+4:p+6]) || !allDigits(s[p+7:p+11]) {
		return -1
	}
	e := p + 11
	if !rightOK(s, e) || continues(s, e) {
		return -1
	}
	area := s[p : p+3]
	if area == "000" || area == "666" || area[0] == '9' || s[p+4:p+6] == "00" || s[p+7:p+11] == "0000" {
		return -1
	}
	return e
}

// nanp returns the end of a North American number 202-555-0123 or
// 202.555.0123 at p, or -1. Area code and exchange start with 2-9. Space
// separated digits are left alone: "300 400 5000" is more often a row of
// figures than a phone number.
func nanp(s string, p int) int {
	if p+12 > len(s) {
		return -1
	}
	sep := s[p+3]
	if (sep != '-' && sep != '.') || s[p+7] != sep ||
		!allDigits(s[p:p+3]) || !allDigits(s[p+4:p+7]) || !allDigits(s[p+8:p+12]) ||
		s[p] < '2' || s[p+4] < '2' {
		return -1
	}
	e := p + 12
	if !rightOK(s, e) || continues(s, e) {
		return -1
	}
	return e
}

// parenPhone returns the end of "(202) 555-0123" (space after the
// parenthesis and the dash optional) at the '(' at i, or -1.
func parenPhone(s string, i int) int {
	if (i > 0 && isAlnum(s[i-1])) || i+13 > len(s) || s[i+4] != ')' ||
		!allDigits(s[i+1:i+4]) || s[i+1] < '2' {
		return -1
	}
	j := i + 5
	if s[j] == ' ' {
		j++
	}
	if j+7 > len(s) || !allDigits(s[j:j+3]) || s[j] < '2' {
		return -1
	}
	j += 3
	if s[j] == '-' || s[j] == '.' || s[j] == ' ' {
		j++
	}
	if j+4 > len(s) || !allDigits(s[j:j+4]) {
		return -1
	}
	j += 4
	if !rightOK(s, j) || continues(s, j) {
		return -1
	}
	return j
}

// intlPhone returns the end of an international number at the '+' at i
// ("+44 20 7946 0958", "+1 (202) 555-0123", "+4915112345678"), or -1: 8 to
// 15 digits, the first 1-9, groups separated by one space, dash, dot or
// parenthesis (two for ") " and " ("). Dots need at least three groups,
// so "+1234.5678" stays a number, and "+2024-03-04" is a date. When more
// groups follow, the number ends at the last whole group within 15 digits.
func intlPhone(s string, i int) int {
	if (i > 0 && (isAlnum(s[i-1]) || s[i-1] == '+')) || i+1 >= len(s) || s[i+1] < '1' || s[i+1] > '9' {
		return -1
	}
	digits, groups, dots := 0, 0, 0
	end, endDigits, endGroups, endDots := -1, 0, 0, 0
	for j := i + 1; j < len(s); {
		st := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == st || digits+j-st > 15 {
			break
		}
		digits += j - st
		groups++
		end, endDigits, endGroups, endDots = j, digits, groups, dots
		k := j
		for k < len(s) && k-j < 2 && isPhoneSep(s[k]) {
			k++
		}
		if k-j == 2 && !(s[j] == ')' && s[j+1] == ' ') && !(s[j] == ' ' && s[j+1] == '(') {
			break
		}
		for _, c := range []byte(s[j:k]) {
			if c == '.' {
				dots++
			}
		}
		if k == j {
			break
		}
		j = k
	}
	if endDigits < 8 || (endDots > 0 && endGroups < 3) || !rightOK(s, end) {
		return -1
	}
	if i+11 <= len(s) && allDigits(s[i+1:i+5]) && s[i+5] == '-' && allDigits(s[i+6:i+8]) && s[i+8] == '-' && allDigits(s[i+9:i+11]) {
		return -1
	}
	return end
}

func isPhoneSep(c byte) bool {
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')'
}
