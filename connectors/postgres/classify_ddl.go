package postgres

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/airlockhq/airlock/connectors"
)

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
