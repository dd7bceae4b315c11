package mask

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// logText builds about n bytes of application and access log lines with
// timestamps, IPs, UUIDs, durations, order numbers and versions, and one
// email address and one card number per 4 KiB: PII is rare in real logs.
func logText(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		ts := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * 1731 * time.Millisecond)
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "%s INFO  http: 10.0.%d.%d - GET /api/v1/orders/ORD-2024-%06d HTTP/1.1 200 %d bytes in %.3fms\n",
				ts.Format(time.RFC3339Nano), r.IntN(255), r.IntN(255), r.IntN(999999), r.IntN(90000), r.Float64()*80)
		case 1:
			fmt.Fprintf(&b, "%s DEBUG worker[%d]: job %08x-%04x-4%03x-a%03x-%012x done, retries=%d version=v1.%d.%d\n",
				ts.Format(time.RFC3339), r.IntN(64), r.Uint32(), r.IntN(65535), r.IntN(4095), r.IntN(4095), r.Int64N(1<<48), r.IntN(3), r.IntN(30), r.IntN(9))
		case 2:
			fmt.Fprintf(&b, "%s WARN  pool: connection to db-primary.internal:5432 slow (%d ms), queue depth %d, total $%d.%02d\n",
				ts.Format(time.RFC3339), r.IntN(5000), r.IntN(200), r.IntN(99999), r.IntN(99))
		case 3:
			fmt.Fprintf(&b, "%s INFO  kube: pod payments-api-%x-%s Running, restarts %d, node ip-10-0-%d-%d.ec2.internal\n",
				ts.Format(time.RFC3339), r.Uint32(), "x7k2q", r.IntN(5), r.IntN(255), r.IntN(255))
		case 4:
			fmt.Fprintf(&b, "%s ERROR checkout: payment declined for customer_id=%d invoice INV-%d-%d reason=\"insufficient funds\"\n",
				ts.Format(time.RFC3339), r.IntN(1e6), 2024, r.IntN(1e6))
		case 5:
			fmt.Fprintf(&b, "%s INFO  audit: user_%d updated profile fields [display_name, locale, tz] at %d\n",
				ts.Format(time.RFC3339), r.IntN(1e5), ts.UnixMilli())
		}
		if i%24 == 12 {
			b.WriteString("2024-03-04T10:00:01Z ERROR notify: bounce from jane.doe@example.com for card 4111 1111 1111 1111\n")
		}
	}
	return b.String()
}

func BenchmarkText(b *testing.B) {
	e := mustEngine(b, Config{})
	for _, c := range []struct {
		name string
		text string
	}{
		{"logs-rare-pii", logText(4096)},
		{"prose-no-digits", strings.Repeat("The quick brown fox jumps over the lazy dog; nothing sensitive here at all. ", 54)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				e.Text(c.text)
			}
		})
	}
}

// customers builds n rows of customer data with PII in five of eight
// columns of every row: the worst case for a table.
func customers(n int) ([]Column, [][]any, int) {
	cols := columns("customers", "id", "name", "email", "phone", "ssn", "card_number", "iban", "created_at")
	first := []string{"Jane", "John", "Ana", "Wei", "Olu", "Priya", "Lars", "Maria"}
	last := []string{"Doe", "Smith", "García", "Zhang", "Adeyemi", "Patel", "Nilsson", "Rossi"}
	cards := []string{"4111 1111 1111 1111", "5500000000000004", "378282246310005", "6011111111111117"}
	ibans := []string{"DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "NL91ABNA0417164300", "FR1420041010050500013M02606"}
	rows := make([][]any, n)
	for i := range rows {
		f, l := first[i%len(first)], last[(i/3)%len(last)]
		rows[i] = []any{
			int64(i + 1),
			f + " " + l,
			fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(f), strings.ToLower(l), i),
			fmt.Sprintf("+1 (202) 555-%04d", i%10000),
			fmt.Sprintf("%03d-%02d-%04d", 100+i%600, 10+i%89, 1000+i),
			cards[i%len(cards)],
			ibans[i%len(ibans)],
			time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
		}
	}
	return cols, rows, size(rows)
}

// orders builds n rows of order data where one row in ten holds a phone
// number in a free-text note: a more common result.
func orders(n int) ([]Column, [][]any, int) {
	cols := columns("orders", "id", "ref", "status", "amount", "city", "note", "ip", "created_at")
	status := []string{"new", "paid", "shipped"}
	rows := make([][]any, n)
	for i := range rows {
		note := "left at the door, signed by recipient"
		if i%10 == 0 {
			note = "customer asked to call +44 20 7946 0958 before delivery"
		}
		rows[i] = []any{
			int32(i + 1),
			fmt.Sprintf("ORD-2024-%06d", i+1),
			status[i%3],
			fmt.Sprintf("%.2f", float64(i)*7.31),
			"Berlin",
			note,
			fmt.Sprintf("10.0.%d.%d", i%255, i%7),
			time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
		}
	}
	return cols, rows, size(rows)
}

func columns(table string, names ...string) []Column {
	var cols []Column
	for _, n := range names {
		cols = append(cols, Column{Name: n, Source: src("public", table, n)})
	}
	return cols
}

// size approximates a result's bytes: text as is, other values as 8.
func size(rows [][]any) int {
	n := 0
	for _, r := range rows {
		for _, v := range r {
			if s, ok := v.(string); ok {
				n += len(s)
			} else {
				n += 8
			}
		}
	}
	return n
}

var results = []struct {
	name string
	make func(int) ([]Column, [][]any, int)
}{{"dense-pii", customers}, {"sparse-pii", orders}}

// BenchmarkTable1000 masks 1,000 rows by 8 columns with the default
// detectors and rules on ssn (redact) and card_* (partial).
func BenchmarkTable1000(b *testing.B) {
	e := mustEngine(b, Config{Rules: []Rule{
		{Name: "ssn", Match: "*:public.customers.ssn", FailClosed: true},
		{Name: "card", Match: "*:*.*.card_*", Action: Partial},
	}})
	for _, r := range results {
		b.Run(r.name, func(b *testing.B) {
			cols, rows, size := r.make(1000)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				e.Table("prod-db", cols, rows)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rows)), "ns/row")
		})
	}
}

// BenchmarkEncode1000 is the yardstick for BenchmarkTable1000: encoding the
// same result as JSON, which every call does on its way to the agent.
func BenchmarkEncode1000(b *testing.B) {
	for _, r := range results {
		b.Run(r.name, func(b *testing.B) {
			_, rows, size := r.make(1000)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rows)), "ns/row")
		})
	}
}

// BenchmarkJSON masks a 200-item Kubernetes-style list with path rules and
// the detectors.
func BenchmarkJSON(b *testing.B) {
	e := mustEngine(b, Config{Rules: []Rule{{Match: "$..password"}, {Match: "$.items[*].data.*"}}})
	_, rows, _ := customers(200)
	var items []any
	for _, r := range rows {
		items = append(items, map[string]any{
			"metadata": map[string]any{"name": r[1], "uid": "550e8400-e29b-41d4-a716-446655440000", "labels": map[string]any{"app": "api", "tier": "backend"}},
			"spec":     map[string]any{"email": r[2], "phone": r[3], "replicas": 3, "image": "registry.example.com/api:v1.2.3"},
			"data":     map[string]any{"password": "aHVudGVyMg=="},
		})
	}
	raw, _ := json.Marshal(map[string]any{"kind": "List", "items": items})
	var doc any
	_ = json.Unmarshal(raw, &doc)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		e.JSON("k8s", doc)
	}
}
