package recorder

// actorKeys are, per event type, the top-level payload members that name
// the people and agents an event is about: who opened a session, who asked
// for an approval, who approved, granted, revoked, purged or held. Naming
// them is what the trail is for, so the recorder's last-line masker leaves
// these members as they are. Everything else still passes it: arguments,
// results, reasons and other free text above all, and a member of the same
// name anywhere below the top level.
var actorKeys = map[string][]string{
	TypeSessionStart:      {"email"},
	TypeSessionEnd:        {"email"},
	TypeApprovalRequested: {"subject", "email", "decided_by"},
	TypeApprovalDecided:   {"subject", "email", "decided_by"},
	TypeApprovalExpired:   {"subject", "email", "decided_by"},
	TypeApprovalCancelled: {"subject", "email", "decided_by"},
	TypeApprovalRefused:   {"approver"},
	TypeGrantCreated:      {"subject", "email", "granted_by", "revoked_by"},
	TypeGrantRevoked:      {"subject", "email", "granted_by", "revoked_by"},
	TypeIdentityRevoked:   {"revoked_subject", "by"},
	TypeIdentityUnrevoked: {"revoked_subject", "by"},
	TypeRetentionPurged:   {"by"},
	TypeLegalHoldSet:      {"by"},
	TypeLegalHoldCleared:  {"by"},
}
