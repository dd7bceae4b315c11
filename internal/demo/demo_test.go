package demo_test

import (
	"context"
	"math/big"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/demo"
	"github.com/airlockhq/airlock/internal/testenv"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestPersonalDataIsValid checks the fixture's personal data passes the
// validators masking relies on: data that fails them would make masking
// tests pass for the wrong reason.
func TestPersonalDataIsValid(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	conn := connect(t, db.AppDSN)
	rows, err := conn.Query(context.Background(), "SELECT id, email, phone, ssn, card_number, iban FROM customers ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	ssnRE := regexp.MustCompile(`^(\d{3})-(\d{2})-(\d{4})$`)
	emailRE := regexp.MustCompile(`^[a-z0-9.]+@example\.com$`)
	emails := map[string]bool{}
	n := 0
	for rows.Next() {
		var id int
		var email, phone, ssn, card, iban string
		if err := rows.Scan(&id, &email, &phone, &ssn, &card, &iban); err != nil {
			t.Fatal(err)
		}
		n++
		if id != n {
			t.Errorf("ids not 1..%d: row %d has id %d", demo.Customers, n, id)
		}
		if !emailRE.MatchString(email) || emails[email] {
			t.Errorf("customer %d: email %q not a unique ASCII example.com address", id, email)
		}
		emails[email] = true
		if !strings.HasPrefix(phone, "+1 202-555-01") {
			t.Errorf("customer %d: phone %q outside the fictional 555-01xx range", id, phone)
		}
		if m := ssnRE.FindStringSubmatch(ssn); m == nil || !validSSN(m[1], m[2], m[3]) {
			t.Errorf("customer %d: invalid SSN %q", id, ssn)
		}
		if !luhn(card) {
			t.Errorf("customer %d: card %q fails Luhn", id, card)
		}
		if !validIBAN(iban) {
			t.Errorf("customer %d: IBAN %q fails mod 97", id, iban)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != demo.Customers {
		t.Errorf("%d customers, want %d", n, demo.Customers)
	}
}

func TestOrdersAddUp(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	conn := connect(t, db.AppDSN)
	var mismatched, orphans int
	err := conn.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM orders o
		        WHERE amount <> (SELECT sum(quantity * unit_price) FROM order_items i WHERE i.order_id = o.id)),
		       (SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT FROM order_items i WHERE i.order_id = o.id))`).
		Scan(&mismatched, &orphans)
	if err != nil {
		t.Fatal(err)
	}
	if mismatched != 0 || orphans != 0 {
		t.Errorf("%d orders whose amount is not the sum of their items, %d without items", mismatched, orphans)
	}
}

// TestSeedAndRoleAreRerunnable covers the demo's persistent database, where
// both run again on every start.
func TestSeedAndRoleAreRerunnable(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	ctx := context.Background()
	if err := demo.Seed(ctx, db.AdminDSN); err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	if err := demo.CreateAppRole(ctx, db.AdminDSN, db.AppRole, "n'ew"); err != nil {
		t.Fatalf("CreateAppRole on an existing role: %v", err)
	}
	dsn := strings.Replace(db.AppDSN, ":"+passwordOf(t, db.AppDSN)+"@", ":n%27ew@", 1)
	var customers int
	if err := connect(t, dsn).QueryRow(ctx, "SELECT count(*) FROM customers").Scan(&customers); err != nil {
		t.Fatal(err)
	}
	if customers != demo.Customers {
		t.Errorf("after a second Seed: %d customers, want %d", customers, demo.Customers)
	}
}

func passwordOf(t *testing.T, dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Password
}

func validSSN(area, group, serial string) bool {
	a, _ := strconv.Atoi(area)
	return a != 0 && a != 666 && a < 900 && group != "00" && serial != "0000"
}

func luhn(number string) bool {
	if len(number) < 13 {
		return false
	}
	sum := 0
	for i := range len(number) {
		d := int(number[len(number)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// validIBAN applies ISO 13616: move the first four characters to the end,
// letters become 10..35, and the number must be 1 mod 97.
func validIBAN(iban string) bool {
	if len(iban) < 15 {
		return false
	}
	var digits strings.Builder
	for _, r := range iban[4:] + iban[:4] {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			digits.WriteString(strconv.Itoa(int(r-'A') + 10))
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

func TestValidators(t *testing.T) {
	if !validIBAN("DE89370400440532013000") || validIBAN("DE88370400440532013000") {
		t.Error("validIBAN disagrees with the published example")
	}
	if !luhn("4111111111111111") || luhn("4111111111111112") {
		t.Error("luhn disagrees with the published test card")
	}
}
