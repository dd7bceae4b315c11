package postgres

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

func BenchmarkZZParseOnly(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := pg_query.Parse("SELECT * FROM orders WHERE id = $1"); err != nil {
			b.Fatal(err)
		}
	}
}
func BenchmarkZZClassify(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Classify("SELECT * FROM orders WHERE id = $1"); err != nil {
			b.Fatal(err)
		}
	}
}
