// Package tools owns the catalog of governed tools: their names, titles,
// descriptions, JSON input and output schemas and annotations, and the check
// that turns a call's raw arguments into a connector operation. Annotations
// come from this catalog only, never from an upstream system. The advertised
// catalog is pinned by a golden file (testdata/catalog.golden.json).
package tools
