package cli

import "github.com/spf13/cobra"

func newDemoCmd(env *Env) *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "Run collect → verify on simulated platforms (no cloud, no hardware)"}
}
