package postgres

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestZZTry(t *testing.T) {
	b, _ := os.ReadFile("/tmp/queries.txt")
	for _, q := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		a, err := Classify(q)
		if err != nil {
			fmt.Printf("%s\n   ERR %T %v\n", q, err, err)
			continue
		}
		fmt.Printf("%s\n   ro=%v risk=%s flags=%v\n", q, a.ReadOnly, a.Risk, a.Flags)
		for _, s := range a.Statements {
			fmt.Printf("   - %s ro=%v r=%v w=%v f=%v where=%v loc=%d len=%d\n", s.Kind, s.ReadOnly, s.TablesRead, s.TablesWritten, s.Functions, s.HasWhere, s.Location, s.Length)
		}
		for _, r := range a.Reasons {
			fmt.Printf("     > %s\n", r)
		}
	}
}
