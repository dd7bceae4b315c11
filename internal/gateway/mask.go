package gateway

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/mask"
)

// maskStage masks on the way out: the response when the decision says so,
// refusal messages always (a database error can echo a value), and it
// keeps the masked result on the call for the record, whatever the response
// decision.
func (g *Gateway) maskStage() Stage {
	return stageFunc{"mask", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			res, err := next(ctx, c)
			if err != nil {
				return nil, g.maskRefusal(err)
			}
			if g.masker == nil {
				return res, nil
			}
			masked := g.maskResult(c, res)
			c.Masked = masked
			if c.Decision != nil && !c.Decision.Mask.Response {
				return res, nil
			}
			return masked, nil
		}
	}}
}

func (g *Gateway) maskRefusal(err error) error {
	var r *Refusal
	if g.masker == nil || !errors.As(err, &r) {
		return err
	}
	if text, rep := g.masker.Text(r.Message); len(rep.Masked) > 0 {
		cp := *r
		cp.Message = text
		return &cp
	}
	return err
}

func (g *Gateway) maskResult(c *Call, res *connectors.Result) *connectors.Result {
	conn := ""
	if c.Connection != nil {
		conn = c.Connection.Name()
	}
	if res.Table != nil && res.Render != nil {
		return g.maskTable(conn, res)
	}
	out := *res
	var notes []connectors.MaskNote
	if res.Structured != nil {
		raw, err := json.Marshal(res.Structured)
		if err != nil {
			// Nothing unmaskable leaves: the structured part is withheld.
			out.Structured = map[string]any{"error": "result withheld: it could not be masked"}
		} else {
			var v any
			_ = json.Unmarshal(raw, &v)
			mv, rep := g.masker.JSON(conn, v)
			notes = append(notes, notesOf(rep)...)
			if m, ok := mv.(map[string]any); ok && len(rep.Masked) > 0 {
				m["masked"] = notesOf(rep)
			}
			out.Structured = mv
		}
	}
	text, rep := g.masker.Text(res.Text)
	out.Text = text
	if len(rep.Masked) > 0 && len(notes) == 0 {
		if m, ok := out.Structured.(map[string]any); ok {
			m["masked"] = notesOf(rep)
		}
	}
	return &out
}

func (g *Gateway) maskTable(conn string, res *connectors.Result) *connectors.Result {
	in := res.Table.Columns
	cols := make([]mask.Column, len(in))
	for i, col := range in {
		cols[i] = mask.Column{Name: col.Name}
		if col.Source != nil {
			cols[i].Source = &mask.SourceColumn{Schema: col.Source.Schema, Table: col.Source.Table, Column: col.Source.Column}
		}
		for _, ref := range col.Inputs {
			cols[i].Inputs = append(cols[i].Inputs, mask.SourceColumn{Schema: ref.Schema, Table: ref.Table, Column: ref.Column})
		}
	}
	outCols, outRows, rep := g.masker.Table(conn, cols, res.Table.Rows)
	if len(rep.Masked) == 0 {
		return res
	}
	// Dropped columns are gone from outCols; the rest keep their order.
	kept := make([]connectors.Column, 0, len(outCols))
	j := 0
	for i := range in {
		if j < len(outCols) && outCols[j].Name == in[i].Name {
			kept = append(kept, in[i])
			j++
		}
	}
	t := &connectors.Table{Columns: kept, Rows: outRows}
	notes := notesOf(rep)
	out := *res
	out.Table = t
	out.Structured, out.Text = res.Render(t, notes)
	return &out
}

func notesOf(rep mask.Report) []connectors.MaskNote {
	notes := make([]connectors.MaskNote, len(rep.Masked))
	for i, m := range rep.Masked {
		notes[i] = connectors.MaskNote{Column: m.Column, Rule: m.Rule, Action: string(m.Action), Count: m.Count}
	}
	return notes
}
