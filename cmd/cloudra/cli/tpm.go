package cli

import "github.com/spf13/cobra"

// newTPMCmd is the tpm verb tree.
func newTPMCmd(env *Env) *cobra.Command {
	return &cobra.Command{Use: "tpm", Short: "TPM 2.0 and vTPM: keys, quotes, NV indices, event logs"}
}
