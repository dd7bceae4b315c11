package mask

// plan says what Table does with one column.
type plan struct {
	rule   *rule  // the rule applied to every value; nil: detectors only
	act    Action // rule's action, or the fail-closed one
	marker any    // "[REDACTED:kind]", boxed once for all cells
	drop   bool
}

// Table masks a SQL result. A column with a Source gets the first SQL rule
// matching that source, whatever the column is called in the result, so
// "SELECT ssn AS note" is masked by the rule for the ssn column. A computed
// column gets, whole, the strongest fail-closed rule among its Inputs, or
// else only the detectors, as do columns no rule selects. Detectors run on
// text, numbers and JSON values (where JSON path rules apply, the value
// being "$"). Dropped columns are left out of outCols and of every row.
// cols and rows are not modified; output rows in which nothing was masked
// are the input rows themselves, so callers must treat both as read-only.
// A row longer than cols has its extra values scanned by the detectors.
func (e *Engine) Table(conn string, cols []Column, rows [][]any) (outCols []Column, outRows [][]any, rep Report) {
	var t tally
	plans := make([]plan, len(cols))
	dropped := 0
	for i, c := range cols {
		p := e.planColumn(conn, c)
		plans[i] = p
		if p.drop {
			dropped++
			t.add(c.Name, p.rule.Name, Drop, len(rows))
		}
	}
	outCols = cols
	if dropped > 0 {
		outCols = make([]Column, 0, len(cols)-dropped)
		for i, c := range cols {
			if !plans[i].drop {
				outCols = append(outCols, c)
			}
		}
	}
	var w *walker
	nd := len(e.names)
	found := make([]int, (len(cols)+1)*nd) // findings per column and detector; the last row for extra values
	sites := make([]site, len(cols)+1)
	for j := range sites {
		sites[j] = site{t: &t, counts: found[j*nd : (j+1)*nd]}
		if j < len(cols) {
			sites[j].col = cols[j].Name
		}
	}
	counts := make([]int, len(cols)) // values masked per column by its rule
	outRows = make([][]any, len(rows))
	var arena []any // masked rows are carved from chunks of this
	for r, row := range rows {
		if cap(arena)-len(arena) < len(row) || arena == nil {
			arena = make([]any, 0, max(len(row)*min(len(rows)-r, 64), 1))
		}
		start := len(arena)
		changed := dropped > 0
		for j, v := range row {
			var ch bool
			if j >= len(plans) {
				v, ch = e.detectCell(v, &sites[len(cols)], &w, conn)
			} else if p := &plans[j]; p.drop {
				continue
			} else if p.rule != nil {
				if v != nil {
					counts[j]++
					v, ch = e.apply(p.act, p.marker, v), true
				}
			} else if str, ok := v.(string); ok { // the common case, without a type switch
				v, ch = e.maskAny(str, &sites[j], v)
			} else {
				v, ch = e.detectCell(v, &sites[j], &w, conn)
			}
			changed = changed || ch
			arena = append(arena, v)
		}
		if !changed {
			// Nothing to mask: share the input row rather than copy it, which
			// keeps masking cheap for the common result with little PII.
			outRows[r] = row
			arena = arena[:start]
			continue
		}
		outRows[r] = arena[start:len(arena):len(arena)]
	}
	for j, p := range plans {
		if p.rule != nil && !p.drop && counts[j] > 0 {
			t.add(cols[j].Name, p.rule.Name, p.act, counts[j])
		}
	}
	for j := 0; j <= len(cols); j++ {
		name := ""
		if j < len(cols) {
			name = cols[j].Name
		}
		for d, n := range found[j*nd : (j+1)*nd] {
			if n > 0 {
				t.add(name, e.labels[d], Redact, n)
			}
		}
	}
	return outCols, outRows, t.sorted()
}

func (e *Engine) detectCell(v any, at *site, w **walker, conn string) (any, bool) {
	switch v.(type) {
	case nil, bool, int32, int16, int8, float32:
		return v, false // the common cells that cannot hold a finding, without a call
	}
	if *w == nil {
		*w = e.newWalker(conn, at.t)
	}
	return e.detectValue(v, at, *w)
}

func (e *Engine) planColumn(conn string, c Column) plan {
	if c.Source != nil {
		r := e.sqlRule(conn, *c.Source)
		if r == nil {
			return plan{}
		}
		return plan{rule: r, act: r.Action, marker: markerFor(r, c.Source.Column), drop: r.Action == Drop}
	}
	// A computed column: the strongest fail-closed rule among its inputs.
	var best *rule
	var bestIn SourceColumn
	for _, in := range c.Inputs {
		r := e.sqlRule(conn, in)
		if r != nil && r.FailClosed && (best == nil || strength(r.Action) > strength(best.Action)) {
			best, bestIn = r, in
		}
	}
	if best == nil {
		return plan{}
	}
	act := Redact
	switch best.Action {
	case Drop, Hash:
		// Hashing the derived value still hides it and keeps equality.
		act = best.Action
	}
	return plan{rule: best, act: act, marker: markerFor(best, bestIn.Column), drop: act == Drop}
}

// strength orders actions by how little they reveal.
func strength(a Action) int {
	switch a {
	case Drop:
		return 3
	case Redact, Partial: // Partial becomes Redact for a computed column
		return 2
	}
	return 1
}

func markerFor(r *rule, column string) string {
	if r.marker != "" {
		return r.marker
	}
	return "[REDACTED:" + kindOf(column) + "]"
}
