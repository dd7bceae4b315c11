package postgres

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// targetInputs says, for each output column of a plain SELECT, which column
// names its expression references, so a computed column such as upper(ssn)
// is traced to ssn and not to every column of the table. It returns nil
// when the output columns cannot be matched to expressions one by one (set
// operations, SELECT *); an entry is nil when its expression holds a
// subquery or a whole-row reference, whose inputs are unknown.
func targetInputs(sel *pg_query.SelectStmt) [][]string {
	if sel == nil || sel.Op != pg_query.SetOperation_SETOP_NONE || len(sel.ValuesLists) > 0 {
		return nil
	}
	out := make([][]string, 0, len(sel.TargetList))
	for _, t := range sel.TargetList {
		rt := t.GetResTarget()
		if rt == nil || rt.Val == nil {
			return nil
		}
		if cr := rt.Val.GetColumnRef(); cr != nil && isStar(cr) {
			return nil
		}
		refs, known := []string{}, true
		walkRefs(rt.Val.ProtoReflect(), &refs, &known)
		if !known {
			out = append(out, nil)
			continue
		}
		out = append(out, refs)
	}
	return out
}

func isStar(cr *pg_query.ColumnRef) bool {
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return true
		}
	}
	return false
}

// walkRefs collects the last name of every column reference under m.
func walkRefs(m protoreflect.Message, refs *[]string, known *bool) {
	switch v := m.Interface().(type) {
	case *pg_query.ColumnRef:
		if isStar(v) || len(v.Fields) == 0 {
			*known = false
			return
		}
		if s := v.Fields[len(v.Fields)-1].GetString_(); s != nil {
			*refs = append(*refs, s.Sval)
		} else {
			*known = false
		}
		return
	case *pg_query.SubLink:
		*known = false
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				walkRefs(l.Get(i).Message(), refs, known)
			}
		case fd.Message() != nil && !fd.IsMap():
			walkRefs(val.Message(), refs, known)
		}
		return *known
	})
}
