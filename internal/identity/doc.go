// Package identity owns who a caller is: the Principal every call is bound
// to, how it travels in a context, and the sources that produce one. A
// principal is either verified (a token checked against a trusted issuer) or
// an explicit development identity, which is always marked unverified so
// policy and records can tell the two apart.
package identity
