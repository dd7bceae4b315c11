// Package demo owns the demo and fixture database: a small shop schema
// (customers with personal data, orders, order items, a view, an analytics
// schema and a large events table) as embedded SQL, deterministic so tests
// can assert on exact values, and the grants for the non-superuser role the
// gateway connects as. The `airlock dev` demo mode and internal/testenv both
// seed from here, so what people try and what tests check are the same data.
package demo
