package cli_test

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra/cmd/cloudra/cli"
)

// TestConventions walks the command tree: every verb says what it does, and
// every verb that runs has --format (json output with a versioned schema).
// Parents only print their help and cobra's completion scripts are shell
// code, so neither has --format.
func TestConventions(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%s has no short help", c.CommandPath())
		}
		if c.Name() == "completion" && c.Parent() == c.Root() {
			return
		}
		if c.Runnable() && !c.HasSubCommands() && c.Flags().Lookup("format") == nil && c.Name() != "help" && c.Name() != "completion" {
			t.Errorf("%s has no --format flag", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(cli.RootForTest())
}

// TestUnknownSubcommandIsUsageError walks every parent command: an unknown
// subcommand is a usage error (exit 2) with a message naming it, never
// the parent's help with exit 0; the parent alone still prints its help.
func TestUnknownSubcommandIsUsageError(t *testing.T) {
	var parents []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			parents = append(parents, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(cli.RootForTest())
	seen := map[string]bool{}
	for _, p := range parents {
		path := strings.Fields(p.CommandPath())[1:]
		seen[strings.Join(path, " ")] = true
		t.Run(p.CommandPath(), func(t *testing.T) {
			code, out, errs := run(t, append(append([]string(nil), path...), "bogus")...)
			if code != cli.ExitUndecided || !strings.Contains(errs, `unknown command "bogus"`) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, cli.ExitUndecided, out, errs)
			}
			if code, out, _ := run(t, path...); code != 0 || !strings.Contains(out, "Usage:") {
				t.Errorf("alone: exit %d, want its help with exit 0\n%s", code, out)
			}
		})
	}
	for _, want := range []string{"", "tpm", "collateral"} {
		if !seen[want] {
			t.Errorf("parent %q not walked", want)
		}
	}
}
