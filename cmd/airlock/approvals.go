package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airlockhq/airlock/approvals"
	"github.com/airlockhq/airlock/internal/cliauth"
	"github.com/airlockhq/airlock/internal/cliflag"
)

const approvalsUsage = `usage:
  airlock approvals list [--state pending|approved|denied|expired|cancelled|used|all] [--json]
  airlock approvals show ID [--json]
  airlock approvals approve ID [--reason R]
  airlock approvals deny ID [--reason R]

common flags:
  --gateway URL   the gateway (default $AIRLOCK_GATEWAY, the one given at
                  airlock login, else http://127.0.0.1:8080)
  --token T       bearer token (default $AIRLOCK_TOKEN, else the airlock login)
`

const grantsUsage = `usage:
  airlock grants list [--all] [--json]
  airlock grants revoke ID [--reason R]

common flags:
  --gateway URL   the gateway (default $AIRLOCK_GATEWAY, the one given at
                  airlock login, else http://127.0.0.1:8080)
  --token T       bearer token (default $AIRLOCK_TOKEN, else the airlock login)
`

// adminFlags are the flags every approvals and grants command takes.
type adminFlags struct {
	gateway, token, reason, state string
	json, all                     bool
}

func newAdminFlags(name string, stderr io.Writer) (*flag.FlagSet, *adminFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &adminFlags{}
	fs.StringVar(&f.gateway, "gateway", "", "gateway base URL")
	fs.StringVar(&f.token, "token", "", "bearer token")
	fs.StringVar(&f.reason, "reason", "", "why (recorded with the decision)")
	fs.StringVar(&f.state, "state", "pending", "requests in this state, or all")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.BoolVar(&f.all, "all", false, "include ended grants")
	return fs, f
}

// cmdApprovals implements `airlock approvals`. Exit codes: 0 ok, 1 the
// gateway refused or failed, 2 bad invocation.
func cmdApprovals(args []string, stdout, stderr io.Writer) int {
	pos, f, c, ok := adminCommand("approvals", approvalsUsage, []string{"list", "show", "approve", "deny"}, args, stderr)
	if !ok {
		return exitUsage
	}
	switch cmd := args[0]; {
	case cmd == "list" && len(pos) == 0:
		q := url.Values{}
		if f.state != "all" {
			q.Set("state", f.state)
		}
		var out approvals.ApprovalList
		if err := c.do(http.MethodGet, "/admin/approvals?"+q.Encode(), nil, &out); err != nil {
			return adminFail(stderr, err)
		}
		if f.json {
			return printAdminJSON(stdout, out)
		}
		printApprovals(stdout, out.Approvals)
		return 0
	case cmd == "show" && len(pos) == 1:
		var v approvals.RequestView
		if err := c.do(http.MethodGet, "/admin/approvals/"+url.PathEscape(pos[0]), nil, &v); err != nil {
			return adminFail(stderr, err)
		}
		if f.json {
			return printAdminJSON(stdout, v)
		}
		printApproval(stdout, v)
		return 0
	case (cmd == "approve" || cmd == "deny") && len(pos) == 1:
		var v approvals.RequestView
		if err := c.do(http.MethodPost, "/admin/approvals/"+url.PathEscape(pos[0])+"/"+cmd, map[string]string{"reason": f.reason}, &v); err != nil {
			return adminFail(stderr, err)
		}
		if f.json {
			return printAdminJSON(stdout, v)
		}
		fmt.Fprintf(stdout, "%s %s by %s\n", v.ID, v.State, v.DecidedBy)
		if v.GrantID != "" {
			fmt.Fprintf(stdout, "grant %s created\n", v.GrantID)
		}
		return 0
	}
	fmt.Fprint(stderr, approvalsUsage)
	return exitUsage
}

// cmdGrants implements `airlock grants`.
func cmdGrants(args []string, stdout, stderr io.Writer) int {
	pos, f, c, ok := adminCommand("grants", grantsUsage, []string{"list", "revoke"}, args, stderr)
	if !ok {
		return exitUsage
	}
	switch cmd := args[0]; {
	case cmd == "list" && len(pos) == 0:
		path := "/admin/grants?active=true"
		if f.all {
			path = "/admin/grants"
		}
		var out approvals.GrantList
		if err := c.do(http.MethodGet, path, nil, &out); err != nil {
			return adminFail(stderr, err)
		}
		if f.json {
			return printAdminJSON(stdout, out)
		}
		printGrants(stdout, out.Grants)
		return 0
	case cmd == "revoke" && len(pos) == 1:
		var g approvals.GrantView
		if err := c.do(http.MethodPost, "/admin/grants/"+url.PathEscape(pos[0])+"/revoke", map[string]string{"reason": f.reason}, &g); err != nil {
			return adminFail(stderr, err)
		}
		if f.json {
			return printAdminJSON(stdout, g)
		}
		fmt.Fprintf(stdout, "%s revoked (%s %s for %s)\n", g.ID, g.Access, g.Connection, personOf(g.Email, g.Subject))
		return 0
	}
	fmt.Fprint(stderr, grantsUsage)
	return exitUsage
}

// adminCommand checks that args name one of group's commands, parses its
// flags and finds the gateway. When ok is false it has said why (or shown
// usage) on stderr, and the caller exits with exitUsage.
func adminCommand(group, usage string, commands, args []string, stderr io.Writer) (pos []string, f *adminFlags, c *adminClient, ok bool) {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		return nil, nil, nil, false
	}
	if !slices.Contains(commands, args[0]) {
		fmt.Fprintf(stderr, "airlock %s: unknown command %q\n\n%s", group, args[0], usage)
		return nil, nil, nil, false
	}
	fs, f := newAdminFlags(group+" "+args[0], stderr)
	pos, err := cliflag.Parse(fs, args[1:])
	if err != nil {
		return nil, nil, nil, false
	}
	c, err = newAdminClient(f)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return nil, nil, nil, false
	}
	return pos, f, c, true
}

type adminClient struct {
	base  string
	token string
	http  *http.Client
}

// newAdminClient finds the gateway and the token: flags, then
// $AIRLOCK_GATEWAY and $AIRLOCK_TOKEN, then the cached `airlock login`
// (its token, refreshed, and the gateway given at login).
func newAdminClient(f *adminFlags) (*adminClient, error) {
	base, tok := f.gateway, f.token
	if base == "" {
		base = os.Getenv("AIRLOCK_GATEWAY")
	}
	if tok == "" {
		tok = os.Getenv("AIRLOCK_TOKEN")
	}
	if tok == "" {
		t, gw, err := loginToken()
		if err != nil {
			return nil, fmt.Errorf("no token: pass --token, set AIRLOCK_TOKEN, or run airlock login (%w)", err)
		}
		tok = t
		if base == "" {
			base = gw
		}
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	// The login remembers the MCP endpoint; the admin API is beside it.
	base = strings.TrimSuffix(strings.TrimSuffix(base, "/"), "/mcp")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--gateway %q: want an http(s) URL", base)
	}
	return &adminClient{base: base, token: tok, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

func loginToken() (token, gateway string, err error) {
	path, err := cliauth.DefaultPath()
	if err != nil {
		return "", "", err
	}
	cache, err := cliauth.Load(path)
	if err != nil {
		return "", "", err
	}
	e, err := cache.Get("", "")
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	token, err = cache.Token(ctx, e, nil)
	return token, e.Gateway, err
}

// adminAPIError is the admin API's error body.
type adminAPIError struct {
	Status int
	Msg    string `json:"error"`
	Code   string `json:"code"`
}

func (e *adminAPIError) Error() string { return e.Msg }

func (c *adminClient) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("gateway unreachable: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading the gateway's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &adminAPIError{Status: resp.StatusCode}
		if json.Unmarshal(b, ae) != nil || ae.Msg == "" {
			ae.Msg = fmt.Sprintf("gateway answered %s", resp.Status)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			ae.Msg += " (is the token valid for this gateway?)"
		}
		return ae
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the gateway's answer is not what this airlock expects: %w", err)
	}
	return nil
}

func adminFail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "airlock: %v\n", err)
	return exitFailure
}

func printAdminJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailure
	}
	return 0
}

func personOf(email, subject string) string {
	if email != "" {
		return email
	}
	return subject
}

func agoText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	if d < 0 {
		return "in " + (-d).Round(time.Second).String()
	}
	return d.Round(time.Second).String() + " ago"
}

func printApprovals(w io.Writer, vs []approvals.RequestView) {
	if len(vs) == 0 {
		fmt.Fprintln(w, "no requests")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tREQUESTER\tTOOL\tCONNECTION\tCREATED\tDECIDED BY\tWHY")
	for _, v := range vs {
		decided := v.DecidedBy
		if decided == "" {
			decided = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.State, personOf(v.Email, v.Subject), v.Tool, orDash(v.Connection),
			agoText(v.CreatedAt), decided, oneLineCut(strings.Join(v.Reasons, "; "), 60))
	}
	tw.Flush()
}

func printApproval(w io.Writer, v approvals.RequestView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, val)
		}
	}
	row("id", v.ID)
	row("state", v.State)
	row("requester", personOf(v.Email, v.Subject))
	row("client", v.ClientName)
	row("tool", v.Tool)
	row("connection", v.Connection)
	if v.Grant != nil {
		row("access", fmt.Sprintf("%s for %s", v.Grant.Access, v.Grant.Duration))
	}
	row("reasons", strings.Join(v.Reasons, "; "))
	row("approvers", strings.Join(v.Approvers, ", "))
	row("created", v.CreatedAt.Format(time.RFC3339))
	row("expires", v.ExpiresAt.Format(time.RFC3339))
	row("decided by", v.DecidedBy)
	row("reason", v.DecisionReason)
	row("grant", v.GrantID)
	tw.Flush()
	if v.ArgsText != "" {
		fmt.Fprintf(w, "arguments (masked):\n%s\n", v.ArgsText)
	}
}

func printGrants(w io.Writer, gs []approvals.GrantView) {
	if len(gs) == 0 {
		fmt.Fprintln(w, "no grants")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSUBJECT\tCONNECTION\tACCESS\tEXPIRES\tACTIVE\tGRANTED BY\tREQUEST")
	for _, g := range gs {
		active := "yes"
		if !g.Active {
			active = "no"
			if g.RevokedAt != nil {
				active = "revoked by " + g.RevokedBy
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, personOf(g.Email, g.Subject), g.Connection, g.Access,
			g.ExpiresAt.Format(time.RFC3339), active, g.GrantedBy, g.RequestID)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLineCut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}
