// Package postgres is the PostgreSQL connector: one pgx pool per configured
// connection, classification of SQL with the real PostgreSQL parser
// (pg_query), and execution that keeps reads read-only even when the
// classifier is wrong: every read runs inside BEGIN READ ONLY with a
// statement timeout, streamed and capped by rows and bytes, in one network
// round trip (a pipelined batch). It registers the kind "postgres".
package postgres
