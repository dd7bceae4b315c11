package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airlockhq/airlock/internal/cliauth"
	"github.com/airlockhq/airlock/mcp"
)

// argFlag collects --arg k=v.
type argFlag map[string]any

func (a argFlag) String() string { return "" }

// Set keeps values as strings unless they are clearly JSON numbers,
// booleans, arrays or objects, so "--arg max_rows=10" is a number and
// "--arg sql=SELECT 1" a string; --json gives full control.
func (a argFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	var decoded any
	if val != "" && strings.ContainsRune("-0123456789tf[{", rune(val[0])) && json.Unmarshal([]byte(val), &decoded) == nil {
		a[k] = decoded
		return nil
	}
	a[k] = val
	return nil
}

const callUsage = "usage: airlock call TOOL [--gateway URL] [--connection NAME] [--arg key=value]... [--json '{...}'] [--output text|json]\n"

// cmdCall runs one tool through the gateway, as an agent would, with the
// cached login's token (or $AIRLOCK_TOKEN), and prints the result.
func cmdCall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f loginFlags
	f.register(fs)
	gateway := fs.String("gateway", "", "gateway MCP URL (default: $AIRLOCK_GATEWAY, then the one given at login)")
	conn := fs.String("connection", "", "connection to use (the tool's connection argument)")
	rawJSON := fs.String("json", "", "all arguments as one JSON object")
	output := fs.String("output", "text", "text (the readable result) or json (structuredContent)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long (calls held for approval take time)")
	kv := argFlag{}
	fs.Var(kv, "arg", "argument key=value; repeat for more")
	// The tool may come first: flag parsing stops at the first non-flag.
	tool := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		tool, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if tool == "" && fs.NArg() == 1 {
		tool = fs.Arg(0)
	} else if fs.NArg() != 0 {
		tool = ""
	}
	if tool == "" || (*output != "text" && *output != "json") {
		fmt.Fprint(stderr, callUsage)
		return exitUsage
	}
	arguments := map[string]any{}
	if *rawJSON != "" {
		if err := json.Unmarshal([]byte(*rawJSON), &arguments); err != nil {
			fmt.Fprintf(stderr, "airlock call: --json: want a JSON object: %v\n", err)
			return exitUsage
		}
	}
	for k, v := range kv {
		arguments[k] = v
	}
	if *conn != "" {
		arguments["connection"] = *conn
	}

	token, url := os.Getenv("AIRLOCK_TOKEN"), *gateway
	if url == "" {
		url = os.Getenv("AIRLOCK_GATEWAY")
	}
	if token == "" {
		// Without a login the call goes out without a token, which a
		// gateway running with a development identity accepts.
		cache, code := openCache(stderr)
		if cache == nil {
			return code
		}
		e, err := cache.Get(f.issuer, f.clientID)
		switch {
		case err == nil:
			if token, err = cache.Token(ctx, e, nil); err != nil {
				fmt.Fprintf(stderr, "airlock call: %v\n", err)
				return exitFailure
			}
			if url == "" {
				url = e.Gateway
			}
		case !errors.Is(err, cliauth.ErrNotLoggedIn) || f.issuer != "" || f.clientID != "":
			fmt.Fprintf(stderr, "airlock call: %v\n", err)
			return exitFailure
		}
	}
	if url == "" {
		fmt.Fprint(stderr, "airlock call: no gateway: pass --gateway URL, set AIRLOCK_GATEWAY, or log in with --gateway\n")
		return exitUsage
	}
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := mcp.CallTool(cctx, cliauth.GatewayURL(url), token, tool, arguments)
	if errors.Is(err, mcp.ErrUnauthorized) && token == "" {
		fmt.Fprint(stderr, "airlock call: the gateway requires a token: run airlock login --issuer URL --client-id ID (or set AIRLOCK_TOKEN)\n")
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(stderr, "airlock call: %v\n", err)
		return exitFailure
	}
	if res.IsError {
		fmt.Fprintln(stderr, res.Text)
		return exitFailure
	}
	if *output == "json" && res.Structured != nil {
		var pretty any
		_ = json.Unmarshal(res.Structured, &pretty)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(pretty)
		return 0
	}
	if printTable(stdout, res) {
		return 0
	}
	fmt.Fprintln(stdout, strings.TrimRight(res.Text, "\n"))
	return 0
}

// printTable prints a SQL result as aligned columns for people (the text
// content is a compact pipe table meant for models), followed by the
// text's own lines after the rows (row count, truncation, masking notes).
// It reports false when the result is not a table.
func printTable(w io.Writer, res *mcp.ToolResult) bool {
	var t struct {
		Columns []struct {
			Name string `json:"name"`
		} `json:"columns"`
		Rows [][]any `json:"rows"`
	}
	if res.Structured == nil {
		return false
	}
	// Numbers stay as written: bigint ids do not survive float64.
	dec := json.NewDecoder(bytes.NewReader(res.Structured))
	dec.UseNumber()
	if dec.Decode(&t) != nil || len(t.Columns) == 0 {
		return false
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		row[i] = c.Name
	}
	fmt.Fprintln(tw, strings.Join(row, "\t"))
	for i, c := range t.Columns {
		row[i] = strings.Repeat("-", max(len(c.Name), 1))
	}
	fmt.Fprintln(tw, strings.Join(row, "\t"))
	for _, r := range t.Rows {
		for i := range row {
			row[i] = ""
			if i < len(r) {
				row[i] = cellText(r[i])
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
	lines := strings.Split(strings.TrimRight(res.Text, "\n"), "\n")
	if rest := 1 + len(t.Rows); len(lines) > rest {
		fmt.Fprintln(w, strings.Join(lines[rest:], "\n"))
	}
	return true
}

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strings.NewReplacer("\n", "\\n", "\t", "\\t").Replace(x)
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
