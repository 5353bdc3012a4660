package cli_test

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra/cmd/cloudra/cli"
)

// TestConventions walks the command tree: every verb says what it does, and
// every verb that runs has --format (json output with a versioned schema).
func TestConventions(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%s has no short help", c.CommandPath())
		}
		if c.Runnable() && c.Flags().Lookup("format") == nil && c.Name() != "help" && c.Name() != "completion" {
			t.Errorf("%s has no --format flag", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(cli.RootForTest())
}
