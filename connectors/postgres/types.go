package postgres

import (
	"context"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

var builtinTypes = pgtype.NewMap()

// typeNames names result column types: built-in types from pgx's table,
// others (enums, domains, extension types) looked up once per OID.
type typeNames struct {
	m sync.Map // uint32 -> string
}

// known returns the name of oid when it needs no lookup.
func (t *typeNames) known(oid uint32) (string, bool) {
	if typ, ok := builtinTypes.TypeForOID(oid); ok {
		return typ.Name, true
	}
	if v, ok := t.m.Load(oid); ok {
		return v.(string), true
	}
	return "", false
}

// lookup asks the server for oid's name on conn, which must be idle. A
// failure names the type by its OID rather than failing the call.
func (t *typeNames) lookup(ctx context.Context, conn *pgx.Conn, oid uint32) string {
	var n string
	if err := conn.QueryRow(ctx, "SELECT format_type($1::oid, NULL)", oid).Scan(&n); err != nil || n == "" {
		return "oid:" + strconv.FormatUint(uint64(oid), 10)
	}
	t.m.Store(oid, n)
	return n
}
