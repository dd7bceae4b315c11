package postgres

import "strings"

// funcClass says why a function matters to policy. Functions not listed are
// treated as ordinary reads; a user-defined function may still write, which
// is why policy should not equate "select" with "harmless" for unknown
// functions in sensitive databases.
type funcClass uint8

const (
	fnOrdinary funcClass = iota
	// fnPrivileged functions act on the server, other sessions or other
	// databases; a read-only transaction does not stop most of them.
	fnPrivileged
	// fnServerFile functions read, list or write files on the database
	// server's file system. They are privileged as well.
	fnServerFile
	// fnDynamicSQL functions run SQL passed as text or read whole tables,
	// schemas or databases by name, so the tables they touch are invisible
	// to the classifier.
	fnDynamicSQL
	// fnSideEffect functions change state (sequences, locks, notifications,
	// transaction ids, statistics) although they are called from SELECT.
	fnSideEffect
	// fnSequence functions advance or set a sequence.
	fnSequence
	// fnSleep functions only wait; they are still read-only but are noted
	// because they hold a connection and a snapshot.
	fnSleep
)

// functionClasses is keyed by the unqualified, lower-case function name so a
// pg_catalog-qualified call is caught too. A user function of the same name
// in another schema is flagged as well, which errs on the safe side.
var functionClasses = map[string]funcClass{
	// Server files.
	"pg_read_file":        fnServerFile,
	"pg_read_binary_file": fnServerFile,
	"pg_stat_file":        fnServerFile,
	"pg_ls_dir":           fnServerFile,
	"lo_import":           fnServerFile,
	"lo_export":           fnServerFile,
	"pg_file_write":       fnServerFile, // adminpack
	"pg_file_unlink":      fnServerFile,
	"pg_file_rename":      fnServerFile,
	"pg_file_sync":        fnServerFile,
	"pg_logdir_ls":        fnServerFile,

	// Other sessions, the server process, configuration, WAL and backups.
	"pg_terminate_backend":           fnPrivileged,
	"pg_cancel_backend":              fnPrivileged,
	"pg_reload_conf":                 fnPrivileged,
	"pg_rotate_logfile":              fnPrivileged,
	"pg_promote":                     fnPrivileged,
	"pg_log_backend_memory_contexts": fnPrivileged,
	"pg_switch_wal":                  fnPrivileged,
	"pg_switch_xlog":                 fnPrivileged,
	"pg_create_restore_point":        fnPrivileged,
	"pg_start_backup":                fnPrivileged,
	"pg_stop_backup":                 fnPrivileged,
	"pg_backup_start":                fnPrivileged,
	"pg_backup_stop":                 fnPrivileged,
	"pg_wal_replay_pause":            fnPrivileged,
	"pg_wal_replay_resume":           fnPrivileged,
	"pg_import_system_collations":    fnPrivileged,
	"set_config":                     fnPrivileged,

	// Replication slots and logical decoding; reading changes consumes them.
	"pg_create_logical_replication_slot":  fnPrivileged,
	"pg_create_physical_replication_slot": fnPrivileged,
	"pg_drop_replication_slot":            fnPrivileged,
	"pg_copy_logical_replication_slot":    fnPrivileged,
	"pg_copy_physical_replication_slot":   fnPrivileged,
	"pg_replication_slot_advance":         fnPrivileged,
	"pg_sync_replication_slots":           fnPrivileged,
	"pg_logical_slot_get_changes":         fnPrivileged,
	"pg_logical_slot_get_binary_changes":  fnPrivileged,
	"pg_logical_emit_message":             fnPrivileged,

	// Large objects that are created, opened, written or removed. lo_open
	// is listed because it is the way to write through lowrite.
	"lo_from_bytea":    fnPrivileged,
	"lo_put":           fnPrivileged,
	"lo_create":        fnPrivileged,
	"lo_creat":         fnPrivileged,
	"lo_unlink":        fnPrivileged,
	"lo_open":          fnPrivileged,
	"lowrite":          fnPrivileged,
	"lo_truncate":      fnPrivileged,
	"lo_truncate64":    fnPrivileged,
	"be_lo_unlink":     fnPrivileged,
	"be_lo_open":       fnPrivileged,
	"be_lo_from_bytea": fnPrivileged,

	// SQL given as text, or whole relations given by name.
	"query_to_xml":                  fnDynamicSQL,
	"query_to_xmlschema":            fnDynamicSQL,
	"query_to_xml_and_xmlschema":    fnDynamicSQL,
	"cursor_to_xml":                 fnDynamicSQL,
	"cursor_to_xmlschema":           fnDynamicSQL,
	"table_to_xml":                  fnDynamicSQL,
	"table_to_xmlschema":            fnDynamicSQL,
	"table_to_xml_and_xmlschema":    fnDynamicSQL,
	"schema_to_xml":                 fnDynamicSQL,
	"schema_to_xmlschema":           fnDynamicSQL,
	"schema_to_xml_and_xmlschema":   fnDynamicSQL,
	"database_to_xml":               fnDynamicSQL,
	"database_to_xmlschema":         fnDynamicSQL,
	"database_to_xml_and_xmlschema": fnDynamicSQL,
	"ts_stat":                       fnDynamicSQL,

	// State changes reachable from a plain SELECT.
	"pg_notify":                fnSideEffect,
	"txid_current":             fnSideEffect, // assigns a transaction id
	"pg_current_xact_id":       fnSideEffect,
	"pg_stat_statements_reset": fnSideEffect,
	"nextval":                  fnSequence,
	"setval":                   fnSequence,

	"pg_sleep":       fnSleep,
	"pg_sleep_for":   fnSleep,
	"pg_sleep_until": fnSleep,
}

// functionPrefixes catch whole families, including members added in later
// PostgreSQL releases.
var functionPrefixes = []struct {
	prefix string
	class  funcClass
}{
	{"pg_ls_", fnServerFile}, // pg_ls_dir, pg_ls_logdir, pg_ls_waldir, pg_ls_tmpdir, ...
	{"dblink", fnPrivileged}, // dblink, dblink_exec, dblink_connect, dblink_send_query, ...
	{"pg_replication_origin_", fnPrivileged},
	{"pg_advisory_", fnSideEffect},
	{"pg_try_advisory_", fnSideEffect},
	{"pg_stat_reset", fnSideEffect},
}

// classifyFunction looks up the unqualified lower-case name. nargs matters
// for ts_rewrite, whose two-argument form runs a query given as text.
func classifyFunction(base string, nargs int) funcClass {
	if c, ok := functionClasses[base]; ok {
		return c
	}
	if base == "ts_rewrite" && nargs == 2 {
		return fnDynamicSQL
	}
	for _, p := range functionPrefixes {
		if strings.HasPrefix(base, p.prefix) {
			return p.class
		}
	}
	return fnOrdinary
}

// guardedSettings are run-time parameters the gateway relies on for defence
// in depth (read-only transactions, timeouts), that change what unqualified
// names resolve to (search_path, which makes table names in this
// classification unreliable), or that weaken triggers, constraints or
// auditing. Keys are lower case.
var guardedSettings = map[string]bool{
	"transaction":                         true, // SET TRANSACTION READ WRITE
	"session characteristics":             true, // SET SESSION CHARACTERISTICS AS TRANSACTION
	"transaction_read_only":               true,
	"default_transaction_read_only":       true,
	"transaction_isolation":               true,
	"default_transaction_isolation":       true,
	"statement_timeout":                   true,
	"lock_timeout":                        true,
	"idle_in_transaction_session_timeout": true,
	"idle_session_timeout":                true,
	"transaction_timeout":                 true,
	"search_path":                         true,
	"session_replication_role":            true, // disables triggers and foreign keys
	"row_security":                        true,
	"session_preload_libraries":           true,
	"local_preload_libraries":             true,
	"dynamic_library_path":                true,
	"track_activities":                    true,
}

// guardedSettingPrefixes cover logging and audit extensions whose settings
// an attacker would change to hide what they do.
var guardedSettingPrefixes = []string{"log_", "pgaudit.", "debug_"}

func isGuardedSetting(name string) bool {
	if guardedSettings[name] {
		return true
	}
	for _, p := range guardedSettingPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// trustedLanguages may be used in CREATE FUNCTION and DO without the
// untrusted_language flag. Everything else, including trusted PLs such as
// plperl, is flagged: their bodies are not analysed and C or internal
// functions run arbitrary server code.
var trustedLanguages = map[string]bool{"sql": true, "plpgsql": true}
