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

// ddlOrOther classifies the remaining statements: DDL by its family, with
// the relation it defines or alters recorded as written, and anything
// unknown as "other".
func (s *stmt) ddlOrOther(n *pg_query.Node) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_CreateStmt:
		s.ddl("create_table")
		s.claim(x.CreateStmt.Relation)
	case *pg_query.Node_CreateForeignTableStmt:
		s.ddl("create_table")
		s.claim(x.CreateForeignTableStmt.GetBaseStmt().GetRelation())
	case *pg_query.Node_CreateTableAsStmt:
		s.ddl("create_table_as")
		s.claim(x.CreateTableAsStmt.GetInto().GetRel())
	case *pg_query.Node_IndexStmt:
		s.ddl("create_index")
		s.claim(x.IndexStmt.Relation)
	case *pg_query.Node_ViewStmt:
		s.ddl("create_view")
		s.claim(x.ViewStmt.View)
	case *pg_query.Node_CreateFunctionStmt:
		s.ddl("create_function")
		s.createFunction(x.CreateFunctionStmt)
	case *pg_query.Node_AlterTableStmt:
		s.ddl("alter_table")
		s.claim(x.AlterTableStmt.Relation)
	case *pg_query.Node_TruncateStmt:
		s.setKind("truncate", false, connectors.RiskHigh)
		s.note("", "removes every row (TRUNCATE)")
		for _, r := range x.TruncateStmt.Relations {
			s.claim(r.GetRangeVar())
		}
	case *pg_query.Node_DropStmt:
		s.drop(x.DropStmt)
		return
	case *pg_query.Node_DropdbStmt:
		s.setKind("drop", false, connectors.RiskHigh)
		s.note("", "drops database "+x.DropdbStmt.Dbname)
		return
	case *pg_query.Node_DropTableSpaceStmt, *pg_query.Node_DropUserMappingStmt,
		*pg_query.Node_DropSubscriptionStmt:
		s.ddl("drop")
	case *pg_query.Node_CommentStmt:
		s.ddl("comment")
	case *pg_query.Node_SecLabelStmt:
		s.ddl("security_label")
	case *pg_query.Node_CreateSchemaStmt:
		s.ddl("create_other")
		// CREATE SCHEMA may create tables, views, indexes and grants.
		for _, e := range x.CreateSchemaStmt.SchemaElts {
			inner := s.sub()
			inner.classify(e)
			s.absorb(inner)
		}
		return
	case *pg_query.Node_CreateTableSpaceStmt:
		s.ddl("create_other")
		s.flag("server_file_access", "creates a tablespace in server directory "+x.CreateTableSpaceStmt.Location)
	case *pg_query.Node_CreatePlangStmt:
		s.ddl("create_other")
		if !x.CreatePlangStmt.Pltrusted {
			s.flag("untrusted_language", "creates procedural language "+x.CreatePlangStmt.Plname)
		}
	case *pg_query.Node_CreateTrigStmt:
		s.ddl("create_other")
		s.claim(x.CreateTrigStmt.Relation)
	case *pg_query.Node_CreatePolicyStmt:
		s.ddl("create_other")
		s.claim(x.CreatePolicyStmt.Table)
	case *pg_query.Node_RuleStmt:
		s.ddl("create_other")
		s.claim(x.RuleStmt.Relation)
	case *pg_query.Node_CreateSeqStmt:
		s.ddl("create_other")
		s.claim(x.CreateSeqStmt.Sequence)
	case *pg_query.Node_AlterSeqStmt:
		s.ddl("alter_other")
		s.claim(x.AlterSeqStmt.Sequence)
	case *pg_query.Node_AlterPolicyStmt:
		s.ddl("alter_other")
		s.claim(x.AlterPolicyStmt.Table)
	case *pg_query.Node_RenameStmt:
		s.ddl("alter_other")
		s.claim(x.RenameStmt.Relation)
	case *pg_query.Node_AlterObjectSchemaStmt:
		s.ddl("alter_other")
		s.claim(x.AlterObjectSchemaStmt.Relation)
	case *pg_query.Node_AlterOwnerStmt:
		s.ddl("alter_other")
		s.claim(x.AlterOwnerStmt.Relation)
	case *pg_query.Node_AlterObjectDependsStmt:
		s.ddl("alter_other")
		s.claim(x.AlterObjectDependsStmt.Relation)
	case *pg_query.Node_CreateEventTrigStmt, *pg_query.Node_CreateAmStmt,
		*pg_query.Node_CreateFdwStmt, *pg_query.Node_CreateForeignServerStmt,
		*pg_query.Node_CreateUserMappingStmt, *pg_query.Node_ImportForeignSchemaStmt,
		*pg_query.Node_DefineStmt, *pg_query.Node_CreateDomainStmt,
		*pg_query.Node_CreateOpClassStmt, *pg_query.Node_CreateOpFamilyStmt,
		*pg_query.Node_CompositeTypeStmt, *pg_query.Node_CreateEnumStmt,
		*pg_query.Node_CreateRangeStmt, *pg_query.Node_CreatedbStmt,
		*pg_query.Node_CreateStatsStmt, *pg_query.Node_CreateConversionStmt,
		*pg_query.Node_CreateCastStmt, *pg_query.Node_CreateTransformStmt,
		*pg_query.Node_CreatePublicationStmt, *pg_query.Node_CreateSubscriptionStmt:
		s.ddl("create_other")
		if ct, ok := x.(*pg_query.Node_CompositeTypeStmt); ok {
			// Its RangeVar names a type, not a table.
			s.claimed = append(s.claimed, ct.CompositeTypeStmt.Typevar)
		}
	case *pg_query.Node_AlterCollationStmt, *pg_query.Node_AlterDomainStmt,
		*pg_query.Node_AlterTableSpaceOptionsStmt, *pg_query.Node_AlterTableMoveAllStmt,
		*pg_query.Node_AlterFdwStmt, *pg_query.Node_AlterForeignServerStmt,
		*pg_query.Node_AlterUserMappingStmt, *pg_query.Node_AlterEventTrigStmt,
		*pg_query.Node_AlterOpFamilyStmt, *pg_query.Node_AlterStatsStmt,
		*pg_query.Node_AlterFunctionStmt, *pg_query.Node_AlterOperatorStmt,
		*pg_query.Node_AlterTypeStmt, *pg_query.Node_AlterEnumStmt,
		*pg_query.Node_AlterDatabaseStmt, *pg_query.Node_AlterDatabaseRefreshCollStmt,
		*pg_query.Node_AlterDatabaseSetStmt, *pg_query.Node_AlterTsdictionaryStmt,
		*pg_query.Node_AlterTsconfigurationStmt, *pg_query.Node_AlterPublicationStmt,
		*pg_query.Node_AlterSubscriptionStmt:
		s.ddl("alter_other")
	default:
		s.setKind("other", false, connectors.RiskHigh)
		s.flag("unknown_statement", "is a statement type the classifier does not know")
	}
	if n != nil {
		s.walkFields(n.ProtoReflect())
	}
}

// relationTypes are the DROP targets whose names are recorded as written
// tables.
var relationTypes = map[pg_query.ObjectType]bool{
	pg_query.ObjectType_OBJECT_TABLE:         true,
	pg_query.ObjectType_OBJECT_VIEW:          true,
	pg_query.ObjectType_OBJECT_MATVIEW:       true,
	pg_query.ObjectType_OBJECT_FOREIGN_TABLE: true,
	pg_query.ObjectType_OBJECT_SEQUENCE:      true,
}

func (s *stmt) drop(x *pg_query.DropStmt) {
	s.setKind("drop", false, connectors.RiskHigh)
	typ := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(x.RemoveType.String(), "OBJECT_"), "_", " "))
	var objs []string
	for _, o := range x.Objects {
		name := objectName(o)
		if name == "" {
			continue
		}
		objs = append(objs, name)
		if relationTypes[x.RemoveType] {
			s.writes = append(s.writes, ref{name, 0})
		}
	}
	text := "drops " + typ
	if len(objs) > 0 {
		text += " " + strings.Join(objs, ", ")
	}
	if x.Behavior == pg_query.DropBehavior_DROP_CASCADE {
		text += " with CASCADE"
	}
	s.note("", text)
}

// objectName renders the name forms DROP uses.
func objectName(n *pg_query.Node) string {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_List:
		return stringList(x.List.Items)
	case *pg_query.Node_String_:
		return x.String_.Sval
	case *pg_query.Node_ObjectWithArgs:
		return stringList(x.ObjectWithArgs.Objname)
	case *pg_query.Node_TypeName:
		return stringList(x.TypeName.Names)
	}
	return ""
}

func (s *stmt) createFunction(x *pg_query.CreateFunctionStmt) {
	lang := defString(x.Options, "language")
	if lang == "" {
		// Without LANGUAGE, PostgreSQL accepts only a SQL-standard body.
		lang = "sql"
	}
	if !trustedLanguages[lang] {
		s.flag("untrusted_language", "creates a function in language "+lang+", not sql or plpgsql")
	}
	for _, o := range x.Options {
		if d := o.GetDefElem(); d != nil && d.Defname == "security" && d.Arg.GetBoolean().GetBoolval() {
			s.flag("security_definer", "creates a SECURITY DEFINER function, which runs with its owner's privileges")
		}
	}
}

// defString finds a DefElem option with a string value, lower-cased.
func defString(opts []*pg_query.Node, name string) string {
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil && d.Defname == name {
			return strings.ToLower(d.Arg.GetString_().GetSval())
		}
	}
	return ""
}
