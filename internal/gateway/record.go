package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/recorder"
)

// Recorder is where the record stage writes: Write returns once the event
// is durable (the intent); Enqueue hands it over without waiting for the
// store (results and refusals, which follow an intent or need no wait).
type Recorder interface {
	// Write returns once ev is durable (it may join the chain later).
	Write(ctx context.Context, ev recorder.Event) error
	Enqueue(ev recorder.Event) error
}

// maxRecordedResult bounds the masked result kept in a call.result event;
// longer results are recorded as a prefix, marked truncated.
const maxRecordedResult = 64 << 10

// record is the outermost stage after identity: every call that has a
// caller is recorded, refused or not. The intent is written, durably,
// right before execution (writeIntent, from the execute step); if it
// cannot be written the call does not run. The outcome follows.
func (g *Gateway) record() Stage {
	return stageFunc{"record", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			if g.rec == nil {
				return next(ctx, c)
			}
			res, err := next(ctx, c)
			g.recordOutcome(c, res, err)
			return res, err
		}
	}}
}

// writeIntent durably records what is about to run.
func (g *Gateway) writeIntent(ctx context.Context, c *Call) error {
	if g.rec == nil {
		return nil
	}
	ev, err := g.intentEvent(c)
	if err == nil {
		err = g.rec.Write(ctx, ev)
	}
	if err != nil {
		r := refuse(c, RefusedInternal, "the call was not run: it could not be recorded, and nothing runs unrecorded (call %s)", c.ID)
		r.Err = err
		return r
	}
	c.intentWritten = true
	return nil
}

func (g *Gateway) recordOutcome(c *Call, res *connectors.Result, callErr error) {
	var evs []recorder.Event
	if !c.intentWritten {
		// Refused before execution: the intent (with whatever decision was
		// reached) and the refusal go in together.
		ev, err := g.intentEvent(c)
		if err != nil {
			g.log.Error("record: intent of a refused call could not be encoded")
			return
		}
		evs = append(evs, ev)
	}
	dur := float64(time.Since(c.Started).Microseconds()) / 1000
	if callErr == nil {
		data := recorder.ResultData{Status: "ok", Rows: int64(res.Rows), DurationMS: dur, Truncated: res.Truncated}
		recorded := c.Masked
		if recorded == nil {
			recorded = res
		}
		content, excerpt, cut, err := recorder.Excerpt(recorded.Structured, maxRecordedResult)
		if err == nil {
			data.Content, data.Excerpt, data.Bytes = content, excerpt, int64(len(content)+len(excerpt))
			data.Truncated = data.Truncated || cut
		}
		ev := g.event(c, recorder.TypeCallResult, data)
		// The content is the mask stage's output, masked by the engine the
		// recorder would run again.
		ev.PreMasked = g.masker != nil && c.Masked != nil
		evs = append(evs, ev)
	} else {
		kind, msg := string(RefusedInternal), callErr.Error()
		var r *Refusal
		if errors.As(callErr, &r) {
			kind = string(r.Kind)
		}
		if g.masker != nil {
			msg, _ = g.masker.Text(msg)
		}
		evs = append(evs, g.event(c, recorder.TypeCallError, recorder.ErrorData{Kind: kind, Message: msg, DurationMS: dur}))
	}
	for _, ev := range evs {
		if err := g.rec.Enqueue(ev); err != nil {
			g.log.Error("record: outcome not recorded")
		}
	}
}

func (g *Gateway) event(c *Call, typ string, data any) recorder.Event {
	ev, err := recorder.NewEvent(typ, data)
	if err != nil {
		ev = recorder.Event{Type: typ, Version: recorder.CurrentVersion, Data: []byte(`{"error":"payload not encodable"}`)}
	}
	ev.Time = time.Now().UTC()
	ev.CallID, ev.SessionID = c.ID, c.SessionID
	ev.Subject, ev.Verified = c.Principal.Subject, c.Principal.Verified
	return ev
}

func (g *Gateway) intentEvent(c *Call) (recorder.Event, error) {
	p := c.Principal
	data := recorder.IntentData{Tool: c.ToolName, Arguments: g.maskedArgs(c), Action: c.Action,
		Caller: &recorder.CallerData{Issuer: p.Issuer, ClientID: p.ClientID, Groups: p.Groups,
			ClientName: p.Client.Name, ClientVersion: p.Client.Version, Transport: c.Transport}}
	if c.Connection != nil {
		data.Connection = c.Connection.Name()
	}
	if d := c.Decision; d != nil {
		data.Decision = &recorder.DecisionData{Allow: d.Allow, RequireApproval: d.RequireApproval, Approvers: d.Approvers,
			Reasons: d.Reasons, MaxRows: d.MaxRows, TimeoutMS: d.TimeoutMS, Policy: d.Policy}
	}
	ev := g.event(c, recorder.TypeCallIntent, data)
	return ev, nil
}

// maskedArgs are the call's arguments as recorded: literal values in SQL
// text or parameters can be personal data, so they pass the masker.
func (g *Gateway) maskedArgs(c *Call) map[string]any {
	if c.maskedArgs != nil {
		return c.maskedArgs // the approval request and the intent both need them
	}
	args := c.Op.Args
	if args == nil {
		args = c.Arguments
	}
	if g.masker == nil || args == nil {
		return args
	}
	conn := ""
	if c.Connection != nil {
		conn = c.Connection.Name()
	}
	v, _ := g.masker.JSON(conn, args)
	m, ok := v.(map[string]any)
	if !ok {
		m = map[string]any{"withheld": "the arguments could not be masked"}
	}
	c.maskedArgs = m
	return m
}

// Session describes an MCP session for the record.
type Session struct {
	ID         string
	Transport  string
	RemoteAddr string
	Client     identity.Client
}

// RecordSession records the start or end of a session on behalf of the
// principal of ctx. A session without a principal is not a session anyone
// could act in: nothing is recorded.
func (g *Gateway) RecordSession(ctx context.Context, s Session, start bool, reason string) {
	if g.rec == nil {
		return
	}
	p, err := g.Principal(ctx)
	if err != nil {
		return
	}
	typ := recorder.TypeSessionEnd
	if start {
		typ = recorder.TypeSessionStart
	}
	if s.Client.Name == "" {
		s.Client = p.Client
	}
	ev, err := recorder.NewEvent(typ, recorder.SessionData{Email: p.Email, Groups: p.Groups, Issuer: p.Issuer,
		ClientID: p.ClientID, ClientName: s.Client.Name, ClientVersion: s.Client.Version, Transport: s.Transport, RemoteAddr: s.RemoteAddr, Reason: reason})
	if err != nil {
		return
	}
	ev.Time, ev.SessionID, ev.Subject, ev.Verified = time.Now().UTC(), s.ID, p.Subject, p.Verified
	if err := g.rec.Enqueue(ev); err != nil {
		g.log.Error("record: session event not recorded")
	}
}
