// Package cliflag parses command lines whose flags may come after
// positional arguments ("approve APR-3 --reason ok"), which the standard
// flag package stops at. It owns nothing else.
package cliflag
