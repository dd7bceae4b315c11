// Package mask owns the masking engine: operator rules that pick SQL result
// columns (by their resolved source column) and JSON fields (by path) and
// redact, partially show, hash or drop them, and content detectors that find
// sensitive values wherever they appear (card numbers, IBANs, US SSNs, email
// addresses, phone numbers, JWTs, private keys, cloud and API tokens, and
// operator regexes). The gateway runs it on responses to the agent when the
// policy decision asks for it, and on everything the recorder stores.
//
// It does not resolve column lineage (the PostgreSQL connector turns the row
// description's table OID and attribute number into a SourceColumn), read
// airlock.yaml, or decide when to mask; it only masks what it is given.
//
// Guarantees the rest of airlock relies on:
//
//   - Nothing sensitive in a Report: it names columns, JSON paths, rules,
//     detectors, actions and counts, never a value. A JSON key in which a
//     detector finds something is masked too, and reported as its parent's
//     ".*".
//   - Inputs are never modified: Table and JSON copy what they change, and
//     share what they do not (rows and subtrees without findings).
//   - A value a detector found in a string (a text, a cell, a JSON string) is
//     masked wherever it recurs in that string, even where the detector would
//     not have recognised it on its own ("x4111111111111111"). The extra work
//     is bounded; a string with very many findings skips it.
//   - Matching errs towards masking: rule globs and JSON keys compare
//     case-insensitively, numbers are checked like text (a card number in a
//     bigint column), and an unterminated private key block is masked to the
//     end of the text.
//
// # Rule match syntax
//
// A rule's Match is "CONNECTION:TARGET"; without "CONNECTION:" it applies to
// every connection. CONNECTION is a glob. TARGET is either a SQL column,
// "SCHEMA.TABLE.COLUMN", with a glob in each part (a part may be written in
// double quotes when it contains a dot), or a JSON path starting with "$":
//
//	$.a.b        key b of key a of the root object
//	$.a[*].b     key b of every element of array a
//	$.a[2]       third element of array a
//	$.a.*        every member of a (object key or array element)
//	$["x.y"]     a key containing dots, brackets or quotes, literally
//	$..b         key b at any depth; $.a..b: at any depth below a
//	$.a.**.b     the same as $.a..b
//	$.sec*.tok?n globs (* and ?) in key names
//
// Globs use * (any run of characters) and ? (one character). Matching is
// case-insensitive. The first rule in configuration order that matches wins.
package mask
