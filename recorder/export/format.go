package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock/recorder"
)

// Version is airlock's version as CEF headers name it; the binary sets it.
var Version = "dev"

// jsonEvent is the exported form: every field of the chain, with time in
// the canonical format, so a copy can be re-verified outside airlock.
type jsonEvent struct {
	Seq       int64           `json:"seq"`
	Time      string          `json:"time"`
	Type      string          `json:"type"`
	Version   int             `json:"version"`
	CallID    string          `json:"call_id"`
	SessionID string          `json:"session_id"`
	Subject   string          `json:"subject"`
	Verified  bool            `json:"verified"`
	Data      json.RawMessage `json:"data"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

func toJSON(e recorder.Event) jsonEvent {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return jsonEvent{Seq: e.Seq, Time: e.Time.UTC().Format(recorder.TimeFormat), Type: e.Type, Version: e.Version,
		CallID: e.CallID, SessionID: e.SessionID, Subject: e.Subject, Verified: e.Verified, Data: data,
		PrevHash: e.PrevHash, Hash: e.Hash}
}

// JSONLine encodes e as one line of JSON, newline included. data is the
// stored canonical payload byte for byte, so the line's fields re-hash to
// the event's hash.
func JSONLine(e recorder.Event) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(toJSON(e)) // only strings, numbers and valid JSON: cannot fail
	return buf.Bytes()
}

// ParseJSONLine decodes a line written by JSONLine.
func ParseJSONLine(line []byte) (recorder.Event, error) {
	var j jsonEvent
	if err := json.Unmarshal(line, &j); err != nil {
		return recorder.Event{}, fmt.Errorf("export: parse: %w", err)
	}
	e := recorder.Event{Seq: j.Seq, Type: j.Type, Version: j.Version, CallID: j.CallID, SessionID: j.SessionID,
		Subject: j.Subject, Verified: j.Verified, Data: j.Data, PrevHash: j.PrevHash, Hash: j.Hash}
	t, err := parseTime(j.Time)
	if err != nil {
		return recorder.Event{}, fmt.Errorf("export: parse: %w", err)
	}
	e.Time = t
	return e, nil
}

// severity grades an event for syslog and CEF: refusals and revocations
// stand out from routine reads.
func severity(e recorder.Event) (syslogSev, cefSev int) {
	switch e.Type {
	case recorder.TypeCallError, recorder.TypeIdentityRevoked:
		return 4, 6 // warning
	case recorder.TypeCallIntent:
		if _, _, d := e.Intent(); d == recorder.DecisionDeny {
			return 4, 6
		}
		if _, _, d := e.Intent(); d == recorder.DecisionApproval {
			return 5, 5
		}
	case recorder.TypeApprovalRequested, recorder.TypeApprovalDecided, recorder.TypeGrantCreated, recorder.TypeGrantRevoked,
		recorder.TypeRetentionPurged, recorder.TypeLegalHoldSet, recorder.TypeLegalHoldCleared, recorder.TypePolicyLoaded, recorder.TypeConfigLoaded:
		return 5, 5 // notice
	}
	return 6, 3 // informational
}

// CEF formats e as one ArcSight Common Event Format line (newline
// included). The whole payload rides in msg; the chain fields in custom
// strings so a SIEM rule can key on seq and hash.
func CEF(e recorder.Event) []byte {
	_, sev := severity(e)
	var b strings.Builder
	b.WriteString("CEF:0|airlock|airlock|")
	b.WriteString(cefHeader(Version))
	b.WriteByte('|')
	b.WriteString(cefHeader(e.Type))
	b.WriteByte('|')
	b.WriteString(cefHeader(strings.NewReplacer(".", " ", "_", " ").Replace(e.Type)))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(sev))
	b.WriteByte('|')
	// Custom fields come in label/value pairs; an empty value drops both.
	type kv struct{ k, v string }
	ext := []kv{{"rt", strconv.FormatInt(e.Time.UnixMilli(), 10)}, {"suser", e.Subject}}
	custom := []kv{{"cn1", "seq"}, {"cs1", "session_id"}, {"cs2", "call_id"}, {"cs3", "verified"}, {"cs4", "hash"}}
	values := []string{strconv.FormatInt(e.Seq, 10), e.SessionID, e.CallID, strconv.FormatBool(e.Verified), e.Hash}
	tool, conn, dec := e.Intent()
	custom = append(custom, kv{"cs5", "tool"}, kv{"cs6", "connection"})
	values = append(values, tool, conn)
	for i, c := range custom {
		if values[i] != "" {
			ext = append(ext, kv{c.k + "Label", c.v}, kv{c.k, values[i]})
		}
	}
	ext = append(ext, kv{"act", dec}, kv{"msg", string(e.Data)})
	first := true
	for _, x := range ext {
		if x.v == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(x.k)
		b.WriteByte('=')
		b.WriteString(cefValue(x.v))
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

var (
	cefHeaderEsc = strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\n", " ", "\r", " ")
	cefValueEsc  = strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`, "\r", `\r`)
)

func cefHeader(s string) string { return cefHeaderEsc.Replace(s) }
func cefValue(s string) string  { return cefValueEsc.Replace(s) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
