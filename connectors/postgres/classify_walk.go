package postgres

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walkNode visits every part of n. Common expression nodes are walked
// directly because they dominate simple queries; everything else goes
// through walkFields, which reaches every message field, so a RangeVar or
// FuncCall in a position not anticipated here is still found.
func (s *stmt) walkNode(n *pg_query.Node) {
	if n == nil {
		return
	}
	switch x := n.Node.(type) {
	case nil:
		return
	case *pg_query.Node_RangeVar:
		s.rangeVar(x.RangeVar)
		return
	case *pg_query.Node_FuncCall:
		s.funcCall(x.FuncCall)
		return
	case *pg_query.Node_SelectStmt:
		s.selectStmt(x.SelectStmt)
		return
	case *pg_query.Node_InsertStmt:
		s.nestedWrite("insert")
		s.insertStmt(x.InsertStmt)
		return
	case *pg_query.Node_UpdateStmt:
		s.nestedWrite("update")
		s.updateStmt(x.UpdateStmt, false)
		return
	case *pg_query.Node_DeleteStmt:
		s.nestedWrite("delete")
		s.deleteStmt(x.DeleteStmt, false)
		return
	case *pg_query.Node_MergeStmt:
		s.nestedWrite("merge")
		s.mergeStmt(x.MergeStmt)
		return
	case *pg_query.Node_LockingClause:
		s.rowLocks()
		return
	case *pg_query.Node_ExecuteStmt:
		s.execute(x.ExecuteStmt)
		return
	case *pg_query.Node_WithClause:
		// Walked by the statement that owns it, with CTE scoping.
		return
	}
	if !s.c.generic && s.walkCommon(n) {
		return
	}
	s.walkFields(n.ProtoReflect())
}

// walkCommon handles leaf and expression nodes whose every node-bearing
// field is listed here. It reports false for anything else.
func (s *stmt) walkCommon(n *pg_query.Node) bool {
	switch x := n.Node.(type) {
	case *pg_query.Node_ColumnRef, *pg_query.Node_AConst, *pg_query.Node_ParamRef,
		*pg_query.Node_String_, *pg_query.Node_Integer, *pg_query.Node_Float,
		*pg_query.Node_Boolean, *pg_query.Node_BitString, *pg_query.Node_AStar:
		// Names and constants only.
	case *pg_query.Node_List:
		s.walkList(x.List.Items)
	case *pg_query.Node_ResTarget:
		s.walkList(x.ResTarget.Indirection)
		s.walkNode(x.ResTarget.Val)
	case *pg_query.Node_AExpr:
		s.walkNode(x.AExpr.Lexpr)
		s.walkNode(x.AExpr.Rexpr)
	case *pg_query.Node_BoolExpr:
		s.walkNode(x.BoolExpr.Xpr)
		s.walkList(x.BoolExpr.Args)
	case *pg_query.Node_SubLink:
		s.walkNode(x.SubLink.Xpr)
		s.walkNode(x.SubLink.Testexpr)
		s.walkNode(x.SubLink.Subselect)
	case *pg_query.Node_JoinExpr:
		s.walkNode(x.JoinExpr.Larg)
		s.walkNode(x.JoinExpr.Rarg)
		s.walkNode(x.JoinExpr.Quals)
	case *pg_query.Node_RangeSubselect:
		s.walkNode(x.RangeSubselect.Subquery)
	case *pg_query.Node_SortBy:
		s.walkNode(x.SortBy.Node)
	case *pg_query.Node_TypeCast:
		s.walkNode(x.TypeCast.Arg)
		if tn := x.TypeCast.TypeName; tn != nil {
			s.walkList(tn.Typmods)
			s.walkList(tn.ArrayBounds)
		}
	case *pg_query.Node_NullTest:
		s.walkNode(x.NullTest.Xpr)
		s.walkNode(x.NullTest.Arg)
	default:
		return false
	}
	return true
}

func (s *stmt) walkList(nodes []*pg_query.Node) {
	for _, n := range nodes {
		s.walkNode(n)
	}
}

// walkFields visits every message-valued field of m.
func (s *stmt) walkFields(m protoreflect.Message) {
	m.Range(s.visit)
}

func (s *stmt) visitField(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
		return true
	}
	switch {
	case fd.IsList():
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			s.visitMsg(l.Get(i).Message())
		}
	case fd.IsMap():
		v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				s.visitMsg(mv.Message())
			}
			return true
		})
	default:
		s.visitMsg(v.Message())
	}
	return true
}

// visitMsg dispatches messages reached through reflection: Node wrappers and
// the message types that appear as direct fields rather than inside a Node.
func (s *stmt) visitMsg(m protoreflect.Message) {
	switch x := m.Interface().(type) {
	case *pg_query.Node:
		s.walkNode(x)
	case *pg_query.RangeVar:
		s.rangeVar(x)
	case *pg_query.FuncCall:
		s.funcCall(x)
	case *pg_query.SelectStmt:
		s.selectStmt(x)
	case *pg_query.WithClause:
		// Walked by the statement that owns it, with CTE scoping.
	case *pg_query.LockingClause:
		s.rowLocks()
	default:
		s.walkFields(m)
	}
}

// rangeVar records a table reference as read unless it is a write target
// already recorded or the name of a CTE in scope.
func (s *stmt) rangeVar(rv *pg_query.RangeVar) {
	for _, c := range s.claimed {
		if c == rv {
			return
		}
	}
	if rv.Schemaname == "" && rv.Catalogname == "" {
		for i := len(s.ctes) - 1; i >= 0; i-- {
			if s.ctes[i] == rv.Relname {
				return
			}
		}
	}
	s.reads = append(s.reads, ref{qualified(rv.Catalogname, rv.Schemaname, rv.Relname), rv.Location})
}

// claim records rv as written and keeps the generic walk from also
// recording it as read.
func (s *stmt) claim(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	name := qualified(rv.Catalogname, rv.Schemaname, rv.Relname)
	s.claimed = append(s.claimed, rv)
	s.writes = append(s.writes, ref{name, rv.Location})
	return name
}

func (s *stmt) funcCall(fc *pg_query.FuncCall) {
	name := strings.ToLower(stringList(fc.Funcname))
	base := name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		base = name[i+1:]
	}
	s.funcs = append(s.funcs, ref{name, fc.Location})
	switch classifyFunction(base, len(fc.Args)) {
	case fnPrivileged:
		s.flag("privileged_function", "calls "+name+", a privileged function")
	case fnServerFile:
		s.flag("privileged_function", "calls "+name+", a privileged function")
		s.flag("server_file_access", "calls "+name+", which accesses files on the database server")
	case fnDynamicSQL:
		s.flag("dynamic_sql", "calls "+name+", which runs SQL or reads relations named in its arguments")
	case fnSideEffect:
		s.flag("side_effect_function", "calls "+name+", which has side effects")
	case fnSequence:
		s.flag("side_effect_function", "calls "+name+", which changes a sequence")
	case fnSleep:
		s.flag("sleep", "calls "+name+", which waits")
	}
	s.walkList(fc.Args)
	s.walkList(fc.AggOrder)
	s.walkNode(fc.AggFilter)
	if fc.Over != nil {
		s.walkFields(fc.Over.ProtoReflect())
	}
}

func (s *stmt) rowLocks() {
	s.flag("row_locks", "locks the rows it reads (FOR UPDATE/SHARE)")
}

// with brings a WITH clause's CTE names into scope and walks their queries.
// A non-recursive CTE sees only the CTEs before it, so
// `WITH orders AS (SELECT * FROM orders)` still reads the table orders.
// It returns the scope mark to restore when the owning statement ends.
func (s *stmt) with(w *pg_query.WithClause) int {
	mark := len(s.ctes)
	if w == nil {
		return mark
	}
	if w.Recursive {
		for _, n := range w.Ctes {
			if cte := n.GetCommonTableExpr(); cte != nil {
				s.ctes = append(s.ctes, cte.Ctename)
			}
		}
	}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		if cte == nil {
			s.walkNode(n)
			continue
		}
		s.inCTE++
		s.walkNode(cte.Ctequery)
		s.inCTE--
		if !w.Recursive {
			s.ctes = append(s.ctes, cte.Ctename)
		}
	}
	return mark
}

func (s *stmt) selectStmt(x *pg_query.SelectStmt) {
	mark := s.with(x.WithClause)
	if x.IntoClause != nil {
		name := s.claim(x.IntoClause.Rel)
		s.selectInto = true
		s.flag("select_into", "creates table "+name+" from a query (SELECT INTO)")
	}
	if s.c.generic {
		s.walkFields(x.ProtoReflect())
		s.ctes = s.ctes[:mark]
		return
	}
	s.walkList(x.DistinctClause)
	s.walkList(x.TargetList)
	s.walkList(x.FromClause)
	s.walkNode(x.WhereClause)
	s.walkList(x.GroupClause)
	s.walkNode(x.HavingClause)
	s.walkList(x.WindowClause)
	s.walkList(x.ValuesLists)
	s.walkList(x.SortClause)
	s.walkNode(x.LimitOffset)
	s.walkNode(x.LimitCount)
	if len(x.LockingClause) > 0 {
		s.rowLocks()
	}
	if x.Larg != nil {
		s.selectStmt(x.Larg)
	}
	if x.Rarg != nil {
		s.selectStmt(x.Rarg)
	}
	s.ctes = s.ctes[:mark]
}

// nestedWrite is called for INSERT/UPDATE/DELETE/MERGE found inside another
// statement. In a WITH clause it runs with the statement; elsewhere (rule
// actions, function bodies, COPY queries) its targets are still recorded.
func (s *stmt) nestedWrite(kind string) {
	if s.inCTE > 0 {
		s.flag("data_modifying_cte", "has a data-modifying WITH query ("+kind+")")
	}
}

func (s *stmt) insertStmt(x *pg_query.InsertStmt) {
	mark := s.with(x.WithClause)
	s.claim(x.Relation)
	s.walkFields(x.ProtoReflect())
	s.ctes = s.ctes[:mark]
}

func (s *stmt) updateStmt(x *pg_query.UpdateStmt, top bool) {
	mark := s.with(x.WithClause)
	name := s.claim(x.Relation)
	s.walkFields(x.ProtoReflect())
	s.ctes = s.ctes[:mark]
	if x.WhereClause == nil {
		s.flag("update_without_where", "updates every row of "+name+": no WHERE clause")
	}
	if top {
		s.where = x.WhereClause != nil
	}
}

func (s *stmt) deleteStmt(x *pg_query.DeleteStmt, top bool) {
	mark := s.with(x.WithClause)
	name := s.claim(x.Relation)
	s.walkFields(x.ProtoReflect())
	s.ctes = s.ctes[:mark]
	if x.WhereClause == nil {
		s.flag("delete_without_where", "deletes every row of "+name+": no WHERE clause")
	}
	if top {
		s.where = x.WhereClause != nil
	}
}

func (s *stmt) mergeStmt(x *pg_query.MergeStmt) {
	mark := s.with(x.WithClause)
	s.claim(x.Relation)
	s.walkFields(x.ProtoReflect())
	s.ctes = s.ctes[:mark]
}

// execute resolves EXECUTE against a PREPARE earlier in the same call;
// otherwise the statement it runs is unknown.
func (s *stmt) execute(x *pg_query.ExecuteStmt) {
	if p, ok := s.c.prepared[x.Name]; ok {
		s.absorb(p)
		s.note("", "runs prepared statement "+x.Name+", classified from its PREPARE in this call")
	} else {
		s.flag("opaque", "runs prepared statement "+x.Name+", whose text is not part of this call")
	}
	s.walkList(x.Params)
}
