// Package bench holds airlock's performance benchmarks (make bench): the
// gateway's cost side by side with the floors it is measured against, in one
// run: a no-op tool on the same MCP framework, pgx running the same query
// plainly and inside a read-only transaction, the full gateway over
// Streamable HTTP on both protocol revisions, the pipeline's own cost in
// process, throughput with 8 concurrent clients, and the gateway's RSS.
package bench
