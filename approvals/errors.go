package approvals

import (
	"errors"
	"fmt"
)

// Why a decision or revocation was refused. Decide and RevokeGrant wrap
// them in a *RuleError; test with errors.Is.
var (
	ErrNotFound        = errors.New("no such request")
	ErrNotPending      = errors.New("the request was already decided")
	ErrExpired         = errors.New("the request has expired and can no longer be decided")
	ErrSelfApproval    = errors.New("you cannot decide your own request")
	ErrNotApprover     = errors.New("you are not in an approver group of this request")
	ErrUnknownApprover = errors.New("your identity could not be established")
	ErrNoApprovers     = errors.New("the request names no approver group and none is configured")
	ErrGrantInactive   = errors.New("the grant is no longer active")
	ErrGrantNotFound   = errors.New("no such grant")
)

// RuleError is a refused decision: which request, which rule, and details
// for the person who tried.
type RuleError struct {
	ID     string // "APR-12" or "GR-3"
	Err    error  // one of the Err* values above
	Detail string
}

func (e *RuleError) Error() string {
	return "approvals: " + e.ID + ": " + e.Explain()
}

// Unwrap returns the rule.
func (e *RuleError) Unwrap() error { return e.Err }

// Explain is the refusal in words for the person who tried (Slack
// ephemeral message, CLI error).
func (e *RuleError) Explain() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v: %s", e.Err, e.Detail)
}

// Explain returns the human explanation of a refusal, or the error text.
func Explain(err error) string {
	var re *RuleError
	if errors.As(err, &re) {
		return re.ID + ": " + re.Explain()
	}
	return err.Error()
}

func refused(id string, rule error, format string, args ...any) *RuleError {
	return &RuleError{ID: id, Err: rule, Detail: fmt.Sprintf(format, args...)}
}
