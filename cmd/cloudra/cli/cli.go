// Package cli implements the cloudra command line: one file per verb, each
// parsing flags, calling the library and printing. Nothing here decides a
// verdict; it only presents what the platform packages return.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
)

// Version is the cloudra version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Exit codes. They are stable: scripts branch on them.
const (
	ExitPass      = 0 // evidence verified and the policy is met
	ExitRejected  = 1 // evidence is invalid or violates the policy
	ExitUndecided = 2 // could not decide: usage, unreadable input, missing collateral
)

// Env is what every verb gets: output streams and injectable hooks, so that
// tests run the real command tree in-process.
type Env struct {
	// Stdin is what an EVIDENCE argument "-" reads; nil reads as empty.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock used when --at is not given.
	Now func() time.Time
}

// ExitError carries an exit code and an optional hint through cobra.
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// rejected signals exit 1 after the result has been printed.
var errRejected = errors.New("evidence rejected")

// decided takes a verification's rejection as its result: the verdict is
// printed and the exit code is 1, as for any result. Only an error that
// leaves no result means "could not decide".
func decided(res *cloudra.Result, err error) (*cloudra.Result, error) {
	if errors.Is(err, cloudra.ErrRejected) && res != nil {
		return res, nil
	}
	return res, err
}

// undecided wraps err as an exit-2 error.
func undecided(err error, hint string) error {
	return &ExitError{Code: ExitUndecided, Err: err, Hint: hint}
}

// Run executes the command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Now: time.Now}
	return RunEnv(ctx, env, args)
}

// RunEnv is Run with an explicit environment (tests inject a clock).
func RunEnv(ctx context.Context, env *Env, args []string) int {
	root := newRootCmd(env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitPass
	}
	if errors.Is(err, errRejected) {
		return ExitRejected
	}
	code, hint := ExitUndecided, ""
	var ee *ExitError
	if errors.As(err, &ee) {
		code, hint = ee.Code, ee.Hint
	}
	msg := err.Error()
	// Hints embedded in library errors ("… (hint: …)") are printed on their own line.
	if i := strings.Index(msg, " (hint: "); i >= 0 && strings.HasSuffix(msg, ")") && hint == "" {
		hint = msg[i+len(" (hint: ") : len(msg)-1]
		msg = msg[:i]
	}
	// The library's errors name no flag: the flag or command that supplies
	// what is missing comes from hintFor.
	if h := hintFor(err); h != "" && (ee == nil || ee.Hint == "") {
		if hint != "" {
			hint += "; "
		}
		hint += h
	}
	fmt.Fprintf(env.Stderr, "cloudra: error: %s\n", msg)
	if hint != "" {
		fmt.Fprintf(env.Stderr, "cloudra: hint: %s\n", hint)
	}
	return code
}

func newRootCmd(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "cloudra",
		Short: "Remote attestation for confidential computing on every cloud",
		Long: `cloudra collects attestation evidence on a confidential guest, verifies it anywhere
(offline too, with pinned roots and cached collateral), appraises it against one
policy format, and explains what each cloud lets you attest.

Exit codes: 0 pass, 1 rejected, 2 could not decide.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUndecided, Err: err, Hint: "run '" + c.CommandPath() + " --help'"}
	})
	root.AddCommand(
		newDemoCmd(env),
		newVerifyCmd(env),
		newInspectCmd(env),
		newCollectCmd(env),
		newCollateralCmd(env),
		newTPMCmd(env),
		newServeCmd(env),
	)
	// Cobra adds help and completion at Execute; add them now so that
	// requireSubcommands covers them too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	requireSubcommands(root)
	return root
}

// requireSubcommands makes every parent command (one that only groups
// subcommands) reject an unknown subcommand as a usage error (exit 2).
// Cobra's default for a parent without a Run is to print its help and
// succeed, so "cloudra tpm bogus" would exit 0 as if it had done something;
// only the root gets an "unknown command" error by default. Without
// arguments a parent still prints its help.
func requireSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		requireSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		hint := "run '" + cmd.CommandPath() + " --help' for its subcommands"
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			hint = "did you mean '" + cmd.CommandPath() + " " + s[0] + "'?"
		}
		return &ExitError{Code: ExitUndecided, Err: fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()), Hint: hint}
	}
	c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
}

// formatFlag validates --format.
type formatFlag string

func (f *formatFlag) String() string { return string(*f) }
func (f *formatFlag) Type() string   { return "text|json" }
func (f *formatFlag) Set(s string) error {
	switch s {
	case "text", "json":
		*f = formatFlag(s)
		return nil
	}
	return fmt.Errorf("unknown format %q (want text or json)", s)
}

func addFormatFlag(c *cobra.Command, f *formatFlag) {
	*f = "text"
	c.Flags().Var(f, "format", "output format: text or json")
}
