package auditcli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airlockhq/airlock/internal/cliflag"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/recorder"
	"github.com/airlockhq/airlock/recorder/export"
)

// Run is `airlock audit`: it returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, Usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, Usage)
		return exitOK
	}
	fs := flag.NewFlagSet("audit "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	var f filters
	var requireSealed bool
	var format, olderThan, before string
	var afterSeq int64
	var reason string
	switch cmd {
	case "verify":
		fs.BoolVar(&requireSealed, "require-sealed", false, "fail when events after the last checkpoint are unsealed")
	case "sessions", "search":
		f.register(fs)
	case "export":
		fs.StringVar(&f.since, "since", "", "from this time (RFC 3339, or a duration ago)")
		fs.Int64Var(&afterSeq, "after-seq", 0, "only events after this sequence number")
		fs.StringVar(&format, "format", "jsonl", "jsonl or cef")
	case "purge":
		fs.StringVar(&olderThan, "older-than", "", "purge events older than this duration (e.g. 400d)")
		fs.StringVar(&before, "before", "", "purge events before this time (RFC 3339)")
	case "hold":
		fs.StringVar(&reason, "reason", "", "why (recorded)")
	case "replay":
	default:
		fmt.Fprintf(stderr, "audit: unknown command %q\n\n%s", cmd, Usage)
		return exitUsage
	}
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "audit %s: %s\n", cmd, fmt.Sprintf(format, a...))
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "audit %s: %v\n", cmd, err)
		return exitFailure
	}
	wantArgs := map[string]int{"replay": 1, "hold": 1}[cmd]
	if len(pos) != wantArgs {
		return usage("want %d argument(s), got %d (see airlock audit help)", wantArgs, len(pos))
	}
	st, err := c.open(ctx)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	switch cmd {
	case "verify":
		return verify(ctx, st, &c, requireSealed, stdout, stderr)
	case "replay":
		// Calls on the stateless protocol revision have no session: their
		// id is what an auditor has.
		q, what := store.Query{SessionID: pos[0]}, "session"
		if strings.HasPrefix(pos[0], "call_") {
			q, what = store.Query{CallID: pos[0]}, "call"
		}
		recs, err := st.Search(ctx, q)
		if err != nil {
			return fail(err)
		}
		if len(recs) == 0 {
			return fail(fmt.Errorf("no events for %s %q", what, pos[0]))
		}
		return printEvents(stdout, recs, c.json, true, fail)
	case "sessions":
		q, err := f.query(time.Now())
		if err != nil {
			return usage("%v", err)
		}
		ss, err := st.Sessions(ctx, q)
		if err != nil {
			return fail(err)
		}
		return printSessions(stdout, ss, c.json, fail)
	case "search":
		q, err := f.query(time.Now())
		if err != nil {
			return usage("%v", err)
		}
		recs, err := st.Search(ctx, q)
		if err != nil {
			return fail(err)
		}
		return printEvents(stdout, recs, c.json, false, fail)
	case "export":
		if format != "jsonl" && format != "cef" {
			return usage("--format %q: want jsonl or cef", format)
		}
		since, err := parseWhen(f.since, time.Now())
		if err != nil {
			return usage("--since: %v", err)
		}
		return exportEvents(ctx, st, since, afterSeq, format, stdout, fail)
	case "hold":
		on, ok := map[string]bool{"on": true, "off": false}[pos[0]]
		if !ok {
			return usage("hold %q: want on or off", pos[0])
		}
		return withRecorder(ctx, st, &c, fail, func(r *recorder.Recorder) error {
			if err := r.SetLegalHold(ctx, on, c.by, reason); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "legal hold %s\n", pos[0])
			return nil
		})
	case "purge":
		cut, err := purgeCut(olderThan, before)
		if err != nil {
			return usage("%v", err)
		}
		return withRecorder(ctx, st, &c, fail, func(r *recorder.Recorder) error {
			res, err := r.Purge(ctx, cut, c.by)
			if err != nil {
				return err
			}
			if c.json {
				return writeJSON(stdout, res)
			}
			if res.ThroughSeq == 0 {
				fmt.Fprintln(stdout, "nothing to purge: no checkpointed segment ends before", cut.UTC().Format(time.RFC3339))
				return nil
			}
			fmt.Fprintf(stdout, "purged %d events through seq %d (recorded as seq %d); the checkpoint at %d anchors the rest\n",
				res.Events, res.ThroughSeq, res.EventSeq, res.ThroughSeq)
			return nil
		})
	}
	return exitOK
}

func verify(ctx context.Context, st store.Store, c *common, requireSealed bool, stdout, stderr io.Writer) int {
	keys, err := c.keys()
	if err != nil {
		fmt.Fprintf(stderr, "audit verify: %v\n", err)
		return exitUsage
	}
	rep, err := recorder.Verify(ctx, st, recorder.VerifyOptions{Keys: keys, RequireSealed: requireSealed})
	if err != nil {
		fmt.Fprintf(stderr, "audit verify: %v\n", err)
		return exitFailure
	}
	if dir := c.journalDir(); dir != "" {
		files, events, err := recorder.Stranded(ctx, st, dir)
		if err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("journal %s not read: %v", dir, err))
		}
		if events > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d events in %d journal file(s) of a stopped gateway are not in the store yet (%s): they are stored when the gateway next starts", events, files, dir))
		}
	}
	if c.json {
		_ = writeJSON(stdout, rep)
	} else {
		fmt.Fprintf(stdout, "%d events (seq %d..%d), %d checkpoints, last checkpoint at seq %d\n",
			rep.Events, rep.FirstSeq, rep.LastSeq, rep.Checkpoints, rep.LastCheckpoint)
		for _, w := range rep.Warnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
	}
	if rep.OK() {
		if !c.json {
			fmt.Fprintln(stdout, "audit verify: ok")
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "audit verify: %s\n", rep.Problems[0])
	const show = 20
	for i, p := range rep.Problems[1:] {
		if i == show {
			fmt.Fprintf(stderr, "audit verify: ... and %d more problems\n", len(rep.Problems)-1-show+rep.MoreProblems)
			break
		}
		fmt.Fprintf(stderr, "audit verify: also %s\n", p)
	}
	return exitFailure
}

func toEvents(recs []store.Record) []recorder.Event {
	out := make([]recorder.Event, len(recs))
	for i, r := range recs {
		out[i] = recorder.FromRecord(r)
	}
	return out
}

func printEvents(w io.Writer, recs []store.Record, asJSON, transcript bool, fail func(error) int) int {
	evs := toEvents(recs)
	var err error
	switch {
	case asJSON:
		list := make([]json.RawMessage, len(evs))
		for i, e := range evs {
			list[i] = json.RawMessage(strings.TrimSuffix(string(export.JSONLine(e)), "\n"))
		}
		err = writeJSON(w, list)
	case transcript:
		err = recorder.WriteTranscript(w, evs)
	default:
		bw := bufio.NewWriter(w)
		for _, e := range evs {
			what := e.CallID
			if tool, conn, dec := e.Intent(); tool != "" {
				what = fmt.Sprintf("%s %s on %s: %s", e.CallID, tool, orDash(conn), orDash(dec))
			}
			fmt.Fprintf(bw, "%d\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339Nano), orDash(e.Subject), e.Type, orDash(what))
		}
		err = bw.Flush()
	}
	if err != nil {
		return fail(err)
	}
	return exitOK
}

func printSessions(w io.Writer, ss []store.Session, asJSON bool, fail func(error) int) int {
	if asJSON {
		type row struct {
			SessionID string    `json:"session_id"`
			Subject   string    `json:"subject"`
			Verified  bool      `json:"verified"`
			First     time.Time `json:"first"`
			Last      time.Time `json:"last"`
			Events    int64     `json:"events"`
			Calls     int64     `json:"calls"`
			Denied    int64     `json:"denied"`
		}
		rows := make([]row, len(ss))
		for i, s := range ss {
			rows[i] = row(s)
		}
		if err := writeJSON(w, rows); err != nil {
			return fail(err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tSUBJECT\tFIRST\tLAST\tEVENTS\tCALLS\tDENIED")
	for _, s := range ss {
		subj := s.Subject
		if !s.Verified {
			subj += " (unverified)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", s.SessionID, subj, s.First.Format(time.RFC3339), s.Last.Format(time.RFC3339), s.Events, s.Calls, s.Denied)
	}
	if err := tw.Flush(); err != nil {
		return fail(err)
	}
	return exitOK
}

func exportEvents(ctx context.Context, st store.Store, since time.Time, after int64, format string, w io.Writer, fail func(error) int) int {
	bw := bufio.NewWriter(w)
	for {
		recs, err := st.Search(ctx, store.Query{Since: since, AfterSeq: after, Limit: 1000})
		if err != nil {
			return fail(err)
		}
		for _, e := range toEvents(recs) {
			if format == "cef" {
				bw.Write(export.CEF(e))
			} else {
				bw.Write(export.JSONLine(e))
			}
		}
		if len(recs) < 1000 {
			break
		}
		after = recs[len(recs)-1].Seq
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	return exitOK
}

func withRecorder(ctx context.Context, st store.Store, c *common, fail func(error) int, fn func(*recorder.Recorder) error) int {
	if c.signingKey == "" {
		return fail(errors.New("--signing-key is required: this command records an event"))
	}
	if c.by == "" {
		return fail(errors.New("--by is required: the audit trail records who did this"))
	}
	key, err := recorder.LoadKey(c.signingKey)
	if err != nil {
		return fail(err)
	}
	r, err := recorder.New(ctx, st, recorder.Options{SigningKey: key})
	if err != nil {
		return fail(err)
	}
	err = fn(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	return exitOK
}

func purgeCut(olderThan, before string) (time.Time, error) {
	switch {
	case olderThan != "" && before != "":
		return time.Time{}, errors.New("give --older-than or --before, not both")
	case olderThan != "":
		return parseWhen(olderThan, time.Now())
	case before != "":
		return time.Parse(time.RFC3339Nano, before)
	}
	return time.Time{}, errors.New("give --older-than DURATION or --before TIME")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
