package recorder

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// OutcomeUnknownText explains an intent without a result, in replay and
// verify output.
const OutcomeUnknownText = "outcome unknown: the intent was recorded but no result was (the gateway stopped during the call, or it is still running)"

// transcriptTime is how replay prints times: readable, to the millisecond.
const transcriptTime = "2006-01-02 15:04:05.000Z"

// WriteTranscript writes events, usually one session in seq order, as a
// transcript a person can read: who, what, the decision, approvals and the
// (masked) result of every call.
func WriteTranscript(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	closed := map[string]bool{}
	for _, e := range events {
		if e.Type == TypeCallResult || e.Type == TypeCallError {
			closed[e.CallID] = true
		}
	}
	for _, e := range events {
		writeEntry(bw, e, closed)
	}
	return bw.Flush()
}

func writeEntry(w *bufio.Writer, e Event, closed map[string]bool) {
	who := e.Subject
	if who == "" {
		who = "(no subject)"
	}
	if !e.Verified {
		who += " (unverified)"
	}
	head := fmt.Sprintf("#%-6d %s  %s", e.Seq, e.Time.UTC().Format(transcriptTime), who)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "         %-10s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	switch e.Type {
	case TypeSessionStart, TypeSessionEnd:
		var d SessionData
		_ = e.Decode(&d)
		verb := "started"
		if e.Type == TypeSessionEnd {
			verb = "ended"
		}
		fmt.Fprintf(w, "%s  session %s %s\n", head, e.SessionID, verb)
		if d.ClientName != "" || d.Transport != "" {
			line("client", "%s %s over %s from %s", orDash(d.ClientName), d.ClientVersion, orDash(d.Transport), orDash(d.RemoteAddr))
		}
		if d.Email != "" || d.Issuer != "" {
			line("identity", "%s, issuer %s, client id %s, groups %s", orDash(d.Email), orDash(d.Issuer), orDash(d.ClientID), strings.Join(d.Groups, ", "))
		}
		if d.Reason != "" {
			line("reason", "%s", d.Reason)
		}
	case TypeCallIntent:
		var d IntentData
		_ = e.Decode(&d)
		target := d.Tool
		if d.Connection != "" {
			target += " on " + d.Connection
		}
		fmt.Fprintf(w, "%s  call %s: %s\n", head, e.CallID, target)
		if cl := d.Caller; cl != nil && e.SessionID == "" {
			// Calls in a session were described by its session.start.
			line("caller", "%s %s over %s, client id %s, issuer %s, groups %s", orDash(cl.ClientName), cl.ClientVersion,
				orDash(cl.Transport), orDash(cl.ClientID), orDash(cl.Issuer), strings.Join(cl.Groups, ", "))
		}
		if len(d.Arguments) > 0 {
			b, _ := json.Marshal(d.Arguments)
			line("arguments", "%s", b)
		}
		if a := d.Action; a != nil {
			ro := "writes"
			if a.ReadOnly {
				ro = "read-only"
			}
			line("action", "%s, risk %s%s", ro, a.Risk, bracket(a.Flags))
		}
		if dd := d.Decision; dd != nil {
			line("decision", "%s (policy %s)%s", dd.Outcome(), orDash(dd.Policy), reasons(dd.Reasons))
		} else {
			line("decision", "none (refused before the policy ran)")
		}
		if !closed[e.CallID] {
			line("outcome", "%s", OutcomeUnknownText)
		}
	case TypeApprovalRequested:
		var d ApprovalData
		_ = e.Decode(&d)
		fmt.Fprintf(w, "%s  approval %s requested for call %s from %s%s\n", head, d.ApprovalID, e.CallID, orDash(strings.Join(d.Approvers, ", ")), reasons(d.Reasons))
	case TypeApprovalDecided:
		var d ApprovalData
		_ = e.Decode(&d)
		verdict := "denied"
		if d.Approved {
			verdict = "approved"
		}
		fmt.Fprintf(w, "%s  approval %s %s by %s", head, d.ApprovalID, verdict, orDash(d.By))
		if d.Reason != "" {
			fmt.Fprintf(w, ": %q", d.Reason)
		}
		fmt.Fprintln(w)
	case TypeCallResult:
		var d ResultData
		_ = e.Decode(&d)
		fmt.Fprintf(w, "%s  result of %s: %s, %d rows, %d bytes, %.1f ms\n", head, e.CallID, orDash(d.Status), d.Rows, d.Bytes, d.DurationMS)
		switch {
		case len(d.Content) > 0:
			line("content", "%s", d.Content)
		case d.Excerpt != "":
			line("excerpt", "%s", d.Excerpt)
		}
		if d.Truncated {
			line("note", "the recorded content is an excerpt: the result was longer")
		}
	case TypeCallError:
		var d ErrorData
		_ = e.Decode(&d)
		fmt.Fprintf(w, "%s  %s %s: %s\n", head, orDash(d.Kind), e.CallID, d.Message)
	default:
		fmt.Fprintf(w, "%s  %s %s\n", head, e.Type, e.Data)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func bracket(flags []string) string {
	if len(flags) == 0 {
		return ""
	}
	return " [" + strings.Join(flags, ", ") + "]"
}

func reasons(r []string) string {
	if len(r) == 0 {
		return ""
	}
	return ": " + strings.Join(r, "; ")
}
