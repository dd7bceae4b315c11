package approvals_test

import (
	"testing"

	"github.com/airlockhq/airlock/approvals"
	"github.com/airlockhq/airlock/recorder"
)

// TestEventKindsAreRecorderTypes: the audit trail stores approval events
// under these kinds, and the recorder keeps their actors (requester,
// approver, grantor) by the same names: a kind renamed on one side only
// would mask who approved.
func TestEventKindsAreRecorderTypes(t *testing.T) {
	for kind, typ := range map[approvals.EventKind]string{
		approvals.EventRequested:    recorder.TypeApprovalRequested,
		approvals.EventDecided:      recorder.TypeApprovalDecided,
		approvals.EventRefused:      recorder.TypeApprovalRefused,
		approvals.EventExpired:      recorder.TypeApprovalExpired,
		approvals.EventCancelled:    recorder.TypeApprovalCancelled,
		approvals.EventGrantCreated: recorder.TypeGrantCreated,
		approvals.EventGrantRevoked: recorder.TypeGrantRevoked,
	} {
		if string(kind) != typ {
			t.Errorf("approvals records %q, the recorder knows it as %q", kind, typ)
		}
	}
}
