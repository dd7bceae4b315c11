package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/airlockhq/airlock/policy"
)

const policyUsage = `usage:
  airlock policy test [--replace-default] [-v] [DIR]
        run the Rego tests of the default policy and of DIR's .rego files
  airlock policy eval [--dir DIR] [--replace-default] --input FILE
        print the decision for the policy input in FILE ("-" for stdin)
  airlock policy explain [--dir DIR] [--replace-default] --input FILE
        print which rules fired, the obligations and the decision
`

// cmdPolicy implements `airlock policy`. Exit codes: 0 ok (eval and explain
// also when the decision is a denial), 1 failing tests or a policy that
// does not load or evaluate, 2 bad invocation.
func cmdPolicy(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return exitUsage
	}
	ctx := context.Background()
	switch args[0] {
	case "test":
		return cmdPolicyTest(ctx, args[1:], stdout, stderr)
	case "eval", "explain":
		return cmdPolicyEval(ctx, args[0], args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, policyUsage)
		return 0
	}
	fmt.Fprintf(stderr, "airlock policy: unknown command %q\n\n%s", args[0], policyUsage)
	return exitUsage
}

func cmdPolicyTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	replace := fs.Bool("replace-default", false, "test DIR without the default airlock.authz rules (airlock.lib stays)")
	verbose := fs.Bool("v", false, "list every test, not only failures")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprint(stderr, policyUsage)
		return exitUsage
	}
	passed, failed, err := policy.RunTests(ctx, fs.Arg(0), *replace, stdout, *verbose)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitFailure
	}
	if failed > 0 || passed == 0 {
		if passed == 0 && failed == 0 {
			fmt.Fprintln(stderr, "airlock: no tests found")
		}
		return exitFailure
	}
	return 0
}

func cmdPolicyEval(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory of operator .rego files")
	replace := fs.Bool("replace-default", false, "use DIR instead of the default airlock.authz rules")
	input := fs.String("input", "", "policy input document (JSON), or - for stdin")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *input == "" || fs.NArg() != 0 {
		fmt.Fprint(stderr, policyUsage)
		return exitUsage
	}
	var b []byte
	var err error
	if *input == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(*input)
	}
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitUsage
	}
	e, err := policy.New(ctx, policy.Options{Dir: *dir, ReplaceDefault: *replace})
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitFailure
	}
	if cmd == "explain" {
		if err := policy.Explain(ctx, e, b, stdout); err != nil {
			fmt.Fprintf(stderr, "airlock: %v\n", err)
			return exitFailure
		}
		return 0
	}
	d, err := policy.EvalFile(ctx, e, b)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitFailure
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}
