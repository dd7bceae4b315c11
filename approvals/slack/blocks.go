package slack

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/airlockhq/airlock/approvals"
)

// Action ids are "airlock.VERB/APR-12": the id travels in the action id
// itself (and in the value), so a click names exactly one request.
const (
	actionPrefix   = "airlock."
	verbApprove    = "approve"
	verbDeny       = "deny"
	verbApproveWhy = "approve_reason"
	verbDenyWhy    = "deny_reason"
	// modalCallback is the callback id of the reason modal.
	modalCallback = "airlock.decide"
	reasonBlock   = "reason"
	reasonAction  = "reason"
)

func actionID(verb, id string) string { return actionPrefix + verb + "/" + id }

// parseActionID splits "airlock.approve/APR-12".
func parseActionID(s string) (verb, id string, ok bool) {
	rest, found := strings.CutPrefix(s, actionPrefix)
	if !found {
		return "", "", false
	}
	verb, id, ok = strings.Cut(rest, "/")
	return verb, id, ok && id != ""
}

// Block Kit limits: section text 3000 characters, header 150, field 2000.
const (
	maxArgs   = 2500
	maxField  = 1900
	maxHeader = 150
)

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// escape makes text safe inside mrkdwn: Slack reads &, < and > as markup
// (links, mentions such as <!channel>), so user-controlled text is escaped.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate bounds s to n bytes (Slack counts characters, which are never
// more), saying how much was cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const room = 32 // the longest "… (N more bytes)"
	cut := max(n-room, 0)
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func who(email, subject string) string {
	if email != "" && subject != "" && !strings.EqualFold(email, subject) {
		return fmt.Sprintf("%s (%s)", email, subject)
	}
	if email != "" {
		return email
	}
	return subject
}

// slackTime renders t in each reader's time zone, with a UTC fallback.
func slackTime(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04:05 UTC"))
}

func title(v approvals.RequestView) string {
	if v.Grant != nil {
		return truncate(fmt.Sprintf("Access request: %s on %s for %s", v.Grant.Access, v.Grant.Connection, v.Grant.Duration), maxHeader)
	}
	conn := ""
	if v.Connection != "" {
		conn = " on " + v.Connection
	}
	return truncate(fmt.Sprintf("Approval needed: %s%s", v.Tool, conn), maxHeader)
}

// fallbackText is the notification text and what screen readers say.
func fallbackText(v approvals.RequestView) string {
	return fmt.Sprintf("%s: %s requested by %s (%s)", v.ID, title(v), who(v.Email, v.Subject), v.State)
}

// requestBlocks is the whole message: the request, then either the
// buttons (pending) or the outcome.
func requestBlocks(v approvals.RequestView) []slack.Block {
	blocks := []slack.Block{slack.NewHeaderBlock(plain(title(v)))}
	client := v.ClientName
	if client == "" {
		client = "unknown client"
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Requester*\n" + escape(who(v.Email, v.Subject))),
		mrkdwn("*Client*\n" + escape(client)),
		mrkdwn("*Connection*\n" + escape(connection(v))),
		mrkdwn(fmt.Sprintf("*Request*\n%s · expires %s", v.ID, slackTime(v.ExpiresAt))),
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	if a := actionText(v); a != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate("*What it would do*\n"+a, maxField)), nil, nil))
	}
	if v.Grant != nil && v.Grant.Reason != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("*Requester's reason*\n"+escape(truncate(v.Grant.Reason, maxField))), nil, nil))
	}
	if v.ArgsText != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("*Arguments* (masked)\n```"+codeSafe(truncate(v.ArgsText, maxArgs))+"```"), nil, nil))
	}
	if len(v.Reasons) > 0 {
		var sb strings.Builder
		sb.WriteString("*Why approval is needed*")
		for _, r := range v.Reasons {
			sb.WriteString("\n• " + escape(r))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(sb.String(), maxField)), nil, nil))
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("Approvers: %s · args sha256 %s…",
		escape(strings.Join(v.Approvers, ", ")), short(v.ArgsHash)))))
	if v.State == approvals.StatePending {
		blocks = append(blocks, slack.NewActionBlock("airlock.actions/"+v.ID,
			slack.NewButtonBlockElement(actionID(verbApprove, v.ID), v.ID, plain("Approve")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(actionID(verbDeny, v.ID), v.ID, plain("Deny")).WithStyle(slack.StyleDanger),
			slack.NewButtonBlockElement(actionID(verbApproveWhy, v.ID), v.ID, plain("Approve with reason…")),
			slack.NewButtonBlockElement(actionID(verbDenyWhy, v.ID), v.ID, plain("Deny with reason…")),
		))
		return blocks
	}
	return append(blocks, slack.NewDividerBlock(), slack.NewSectionBlock(mrkdwn(outcomeText(v)), nil, nil))
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// codeSafe keeps argument text inside its code block.
func codeSafe(s string) string { return strings.ReplaceAll(escape(s), "```", "`\u200b``") }

func connection(v approvals.RequestView) string {
	if v.Connection == "" {
		return "none"
	}
	if len(v.ConnectionLabels) == 0 {
		return v.Connection
	}
	keys := make([]string, 0, len(v.ConnectionLabels))
	for k := range v.ConnectionLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = k + "=" + v.ConnectionLabels[k]
	}
	return v.Connection + " (" + strings.Join(labels, ", ") + ")"
}

// actionText is the classifier's view: statement kinds and tables, flags
// and risk.
func actionText(v approvals.RequestView) string {
	a := v.Action
	if a == nil {
		return ""
	}
	var lines []string
	for _, s := range a.Statements {
		line := "• " + code(s.Kind)
		if len(s.TablesWritten) > 0 {
			line += " writes " + codes(s.TablesWritten)
		}
		if len(s.TablesRead) > 0 {
			line += " reads " + codes(s.TablesRead)
		}
		if len(s.Functions) > 0 {
			line += " calls " + codes(s.Functions)
		}
		if (s.Kind == "update" || s.Kind == "delete") && !s.HasWhere {
			line += " *without WHERE*"
		}
		lines = append(lines, line)
	}
	if len(a.Flags) > 0 {
		lines = append(lines, "Flags: "+codes(a.Flags))
	}
	if a.Risk != "" {
		lines = append(lines, "Risk: *"+escape(string(a.Risk))+"*")
	}
	for _, r := range a.Reasons {
		lines = append(lines, "_"+escape(r)+"_")
	}
	return strings.Join(lines, "\n")
}

// code shows an identifier verbatim: inside a code span, underscores
// and asterisks in table names are not formatting.
func code(s string) string { return "`" + escape(strings.ReplaceAll(s, "`", "'")) + "`" }

func codes(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = code(s)
	}
	return strings.Join(out, ", ")
}

func outcomeText(v approvals.RequestView) string {
	var at string
	if v.DecidedAt != nil {
		at = " at " + slackTime(*v.DecidedAt)
	}
	by := escape(v.DecidedBy)
	via := ""
	if v.DecidedVia != "" && v.DecidedVia != approvals.ViaSlack {
		via = " (via " + escape(v.DecidedVia) + ")"
	}
	why := ""
	if v.DecisionReason != "" {
		why = "\n>" + escape(truncate(v.DecisionReason, maxField))
	}
	switch v.State {
	case approvals.StateApproved, approvals.StateUsed:
		s := fmt.Sprintf(":white_check_mark: *Approved* by %s%s%s", by, at, via)
		if v.GrantID != "" {
			s += " · grant " + v.GrantID
		}
		return s + why
	case approvals.StateDenied:
		return fmt.Sprintf(":no_entry: *Denied* by %s%s%s", by, at, via) + why
	case approvals.StateExpired:
		return fmt.Sprintf(":hourglass: *Expired* without a decision at %s", slackTime(v.ExpiresAt))
	case approvals.StateCancelled:
		return ":no_entry_sign: *Cancelled*" + at + why
	}
	return "*" + escape(v.State) + "*"
}

// modalMeta travels in the modal's private_metadata: Slack returns it
// with the submission, signed like everything else.
type modalMeta struct {
	ID      string `json:"id"`
	Approve bool   `json:"approve"`
	Channel string `json:"channel"`
}

func reasonModal(m modalMeta) slack.ModalViewRequest {
	meta, _ := json.Marshal(m)
	verb, submit := "Deny", "Deny"
	if m.Approve {
		verb, submit = "Approve", "Approve"
	}
	input := slack.NewPlainTextInputBlockElement(plain("Why?"), reasonAction).WithMultiline(true).WithMaxLength(1000)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(truncate(verb+" "+m.ID, 24)),
		Submit:          plain(submit),
		Close:           plain("Cancel"),
		CallbackID:      modalCallback,
		PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(fmt.Sprintf("%s request *%s*. The reason is shown in the channel and recorded.", verb, m.ID)), nil, nil),
			slack.NewInputBlock(reasonBlock, plain("Reason"), nil, input),
		}},
	}
}
