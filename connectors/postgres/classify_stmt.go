package postgres

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/airlockhq/airlock/connectors"
)

const schemaChange = "changes the database schema"

// classify sets the kind of one statement and walks it. It is also used
// for statements inside EXPLAIN, PREPARE and DECLARE CURSOR.
func (s *stmt) classify(n *pg_query.Node) {
	low, medium, high := connectors.RiskLow, connectors.RiskMedium, connectors.RiskHigh
	switch x := n.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		kind := "select"
		if x.SelectStmt.Op == pg_query.SetOperation_SETOP_NONE && len(x.SelectStmt.ValuesLists) > 0 {
			kind = "values"
		}
		s.setKind(kind, true, low)
		s.selectStmt(x.SelectStmt)
		if s.selectInto {
			s.kind = "select_into"
		}
	case *pg_query.Node_InsertStmt:
		s.setKind("insert", false, medium)
		s.insertStmt(x.InsertStmt)
	case *pg_query.Node_UpdateStmt:
		s.setKind("update", false, medium)
		s.updateStmt(x.UpdateStmt, true)
	case *pg_query.Node_DeleteStmt:
		s.setKind("delete", false, medium)
		s.deleteStmt(x.DeleteStmt, true)
	case *pg_query.Node_MergeStmt:
		s.setKind("merge", false, medium)
		s.mergeStmt(x.MergeStmt)

	case *pg_query.Node_ExplainStmt:
		s.explain(x.ExplainStmt)
	case *pg_query.Node_CopyStmt:
		s.copyStmt(x.CopyStmt)

	case *pg_query.Node_DoStmt:
		s.setKind("do", false, high)
		s.flag("opaque", "runs an anonymous code block (DO) whose effects are not analysed")
		if lang := defString(x.DoStmt.Args, "language"); lang != "" && !trustedLanguages[lang] {
			s.flag("untrusted_language", "runs code in language "+lang)
		}
	case *pg_query.Node_CallStmt:
		s.setKind("call", false, high)
		name := ""
		if fc := x.CallStmt.Funccall; fc != nil {
			name = strings.ToLower(stringList(fc.Funcname))
		}
		s.flag("opaque", "calls procedure "+name+", whose effects are not analysed")
		s.walkFields(x.CallStmt.ProtoReflect())

	case *pg_query.Node_PrepareStmt:
		s.setKind("prepare", false, high)
		inner := s.sub()
		inner.classify(x.PrepareStmt.Query)
		s.absorb(inner)
		if s.c.prepared == nil {
			s.c.prepared = map[string]*stmt{}
		}
		s.c.prepared[x.PrepareStmt.Name] = inner
		s.flag("session_state", "prepares statement "+x.PrepareStmt.Name+" ("+inner.kind+")")
		s.walkList(x.PrepareStmt.Argtypes)
	case *pg_query.Node_ExecuteStmt:
		s.setKind("execute", false, high)
		s.execute(x.ExecuteStmt)
	case *pg_query.Node_DeallocateStmt:
		s.setKind("deallocate", false, high)
		s.flag("session_state", "removes prepared statements")

	case *pg_query.Node_VariableSetStmt:
		s.setStmt(x.VariableSetStmt)
	case *pg_query.Node_VariableShowStmt:
		s.setKind("show", true, low)
	case *pg_query.Node_DiscardStmt:
		s.setKind("discard", false, medium)
		s.flag("session_state", "discards session state")
	case *pg_query.Node_ConstraintsSetStmt:
		s.setKind("set_constraints", false, medium)
		s.flag("session_state", "changes when constraints are checked")
	case *pg_query.Node_TransactionStmt:
		s.setKind("transaction", false, medium)
		word := strings.TrimPrefix(x.TransactionStmt.Kind.String(), "TRANS_STMT_")
		s.flag("transaction_control", "controls the transaction ("+strings.ReplaceAll(word, "_", " ")+"), which the gateway owns")
	case *pg_query.Node_DeclareCursorStmt:
		s.classify(x.DeclareCursorStmt.Query)
		s.setKind("declare_cursor", false, medium)
		s.flag("session_state", "declares cursor "+x.DeclareCursorStmt.Portalname)
	case *pg_query.Node_FetchStmt:
		s.setKind("fetch", false, medium)
		s.note("", "fetches from cursor "+x.FetchStmt.Portalname)
	case *pg_query.Node_ClosePortalStmt:
		s.setKind("close_cursor", false, medium)
		s.note("", "closes a cursor")

	case *pg_query.Node_LockStmt:
		s.setKind("lock", false, high)
		s.walkList(x.LockStmt.Relations)
		s.note("", "takes explicit table locks")
	case *pg_query.Node_ListenStmt:
		s.setKind("listen", false, medium)
		s.note("", "listens on notification channel "+x.ListenStmt.Conditionname)
	case *pg_query.Node_UnlistenStmt:
		s.setKind("unlisten", false, medium)
		s.note("", "stops listening for notifications")
	case *pg_query.Node_NotifyStmt:
		s.setKind("notify", false, medium)
		s.note("", "sends a notification on channel "+x.NotifyStmt.Conditionname)

	case *pg_query.Node_VacuumStmt:
		kind := "analyze"
		if x.VacuumStmt.IsVacuumcmd {
			kind = "vacuum"
		}
		s.maintenance(kind)
		s.walkList(x.VacuumStmt.Rels)
	case *pg_query.Node_ClusterStmt:
		s.maintenance("cluster")
		s.walkFields(x.ClusterStmt.ProtoReflect())
	case *pg_query.Node_ReindexStmt:
		s.maintenance("reindex")
		s.walkFields(x.ReindexStmt.ProtoReflect())
	case *pg_query.Node_CheckPointStmt:
		s.maintenance("checkpoint")
	case *pg_query.Node_RefreshMatViewStmt:
		s.setKind("refresh_matview", false, high)
		s.claim(x.RefreshMatViewStmt.Relation)

	case *pg_query.Node_GrantStmt:
		kind, verb := "revoke", "revokes"
		if x.GrantStmt.IsGrant {
			kind, verb = "grant", "grants"
		}
		s.setKind(kind, false, high)
		s.flag("privilege_change", verb+" privileges")
	case *pg_query.Node_GrantRoleStmt:
		kind, verb := "revoke", "revokes"
		if x.GrantRoleStmt.IsGrant {
			kind, verb = "grant", "grants"
		}
		s.setKind(kind, false, high)
		s.flag("privilege_change", verb+" role membership")
	case *pg_query.Node_AlterDefaultPrivilegesStmt:
		s.setKind("alter_default_privileges", false, high)
		s.flag("privilege_change", "changes default privileges")
	case *pg_query.Node_CreateRoleStmt:
		s.setKind("create_role", false, high)
		s.flag("privilege_change", "creates role "+x.CreateRoleStmt.Role)
	case *pg_query.Node_AlterRoleStmt:
		s.setKind("alter_role", false, high)
		s.flag("privilege_change", "changes role "+x.AlterRoleStmt.GetRole().GetRolename())
	case *pg_query.Node_AlterRoleSetStmt:
		s.setKind("alter_role", false, high)
		s.flag("privilege_change", "changes settings of role "+x.AlterRoleSetStmt.GetRole().GetRolename())
	case *pg_query.Node_DropRoleStmt:
		s.setKind("drop_role", false, high)
		s.flag("privilege_change", "drops roles")
	case *pg_query.Node_ReassignOwnedStmt:
		s.setKind("reassign_owned", false, high)
		s.flag("privilege_change", "reassigns ownership of objects")
	case *pg_query.Node_DropOwnedStmt:
		s.setKind("drop_owned", false, high)
		s.flag("privilege_change", "drops objects owned by roles and revokes their privileges")

	case *pg_query.Node_LoadStmt:
		s.setKind("load", false, high)
		s.flag("load_library", "loads shared library "+x.LoadStmt.Filename+" into the server")
	case *pg_query.Node_AlterSystemStmt:
		s.setKind("alter_system", false, high)
		s.flag("server_config", "changes server configuration "+x.AlterSystemStmt.GetSetstmt().GetName()+" (ALTER SYSTEM)")
	case *pg_query.Node_CreateExtensionStmt:
		s.ddl("create_extension")
		s.flag("extension", "installs extension "+x.CreateExtensionStmt.Extname)
		s.walkList(x.CreateExtensionStmt.Options)
	case *pg_query.Node_AlterExtensionStmt:
		s.ddl("alter_other")
		s.flag("extension", "changes extension "+x.AlterExtensionStmt.Extname)
	case *pg_query.Node_AlterExtensionContentsStmt:
		s.ddl("alter_other")
		s.flag("extension", "changes the members of extension "+x.AlterExtensionContentsStmt.Extname)

	default:
		s.ddlOrOther(n)
	}
}

func (s *stmt) maintenance(kind string) {
	s.setKind(kind, false, connectors.RiskHigh)
	s.flag("maintenance", "runs maintenance ("+strings.ToUpper(kind)+")")
}

func (s *stmt) ddl(kind string) {
	s.setKind(kind, false, connectors.RiskHigh)
	s.note("", schemaChange)
}

// explain: without ANALYZE nothing inside runs, so the statement is
// read-only whatever it explains; the inner tables are reported as read and
// dangerous functions stay flagged so policy can still refuse them. With
// ANALYZE the inner statement runs and is classified as itself.
func (s *stmt) explain(x *pg_query.ExplainStmt) {
	if explainAnalyze(x.Options) {
		s.classify(x.Query)
		wrote := !s.readOnly()
		s.kind = "explain"
		if wrote {
			s.flag("explain_analyze_write", "executes the write it explains (EXPLAIN ANALYZE)")
		}
		return
	}
	inner := s.sub()
	inner.classify(x.Query)
	s.setKind("explain", true, connectors.RiskLow)
	s.forceRO = true
	s.reads = append(append(s.reads, inner.reads...), inner.writes...)
	s.funcs = append(s.funcs, inner.funcs...)
	for _, n := range inner.notes {
		switch n.flag {
		case "privileged_function", "server_file_access", "dynamic_sql":
			s.flag(n.flag, n.text+" (planned only, not run)")
		}
	}
}

// explainAnalyze treats ANALYZE as on unless its argument clearly turns it
// off, since PostgreSQL rejects values it does not understand.
func explainAnalyze(opts []*pg_query.Node) bool {
	on := false
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil || !strings.EqualFold(d.Defname, "analyze") {
			continue
		}
		on = true
		switch a := d.Arg.GetNode().(type) {
		case *pg_query.Node_String_:
			switch strings.ToLower(a.String_.Sval) {
			case "false", "off", "0", "no":
				on = false
			}
		case *pg_query.Node_Integer:
			on = a.Integer.Ival != 0
		case *pg_query.Node_Boolean:
			on = a.Boolean.Boolval
		}
	}
	return on
}

// copyStmt: COPY TO STDOUT is a read; a server file or program makes it
// critical whichever direction it goes.
func (s *stmt) copyStmt(x *pg_query.CopyStmt) {
	switch {
	case x.IsProgram:
		s.setKind("copy_program", false, connectors.RiskHigh)
		s.flag("server_program", "runs a program on the database server (COPY ... PROGRAM)")
	case x.IsFrom:
		s.setKind("copy_from", false, connectors.RiskMedium)
	default:
		s.setKind("copy_to", true, connectors.RiskLow)
	}
	if x.IsFrom {
		s.claim(x.Relation)
	}
	if x.Filename != "" && !x.IsProgram {
		if x.IsFrom {
			s.flag("server_file_access", "reads server file "+x.Filename+" (COPY FROM file)")
		} else {
			s.flag("server_file_access", "writes server file "+x.Filename+" (COPY TO file)")
		}
	}
	s.walkFields(x.ProtoReflect())
}

func (s *stmt) setStmt(x *pg_query.VariableSetStmt) {
	kind := "set"
	if x.Kind == pg_query.VariableSetKind_VAR_RESET || x.Kind == pg_query.VariableSetKind_VAR_RESET_ALL {
		kind = "reset"
	}
	s.setKind(kind, false, connectors.RiskMedium)
	name := strings.ToLower(x.Name)
	switch {
	case name == "role":
		s.flag("role_change", "changes the session's role (SET ROLE)")
	case name == "session_authorization":
		s.flag("role_change", "changes the session's user (SET SESSION AUTHORIZATION)")
	case x.Kind == pg_query.VariableSetKind_VAR_SET_MULTI:
		s.flag("guarded_setting", "changes transaction characteristics (SET "+strings.ToUpper(name)+"), which the gateway relies on")
	case x.Kind == pg_query.VariableSetKind_VAR_RESET_ALL:
		s.flag("guarded_setting", "resets all settings, including ones the gateway relies on")
	case isGuardedSetting(name):
		s.flag("guarded_setting", "changes "+name+", a setting the gateway relies on")
	default:
		s.flag("session_state", "changes session setting "+name)
		s.walkList(x.Args)
		return
	}
	// The stronger flag above already explains the statement.
	s.flags = append(s.flags, "session_state")
	s.walkList(x.Args)
}
