package cli

import "github.com/spf13/cobra"

// RebaseForTest exposes rebase to the external tests.
var RebaseForTest = rebase

// RootForTest builds the command tree for convention tests.
func RootForTest() *cobra.Command { return newRootCmd(&Env{}) }
