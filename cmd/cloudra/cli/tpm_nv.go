package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra/platform/tpm/device"
)

func newTPMNVReadCmd(env *Env) *cobra.Command {
	var spec, out string
	var format formatFlag
	c := &cobra.Command{
		Use:   "nvread INDEX [-o FILE]",
		Short: "Read a whole NV index (Azure HCL report: 0x01400001)",
		Long: `Read an NV index completely, in chunks of the TPM's TPM_PT_NV_BUFFER_MAX
(tpm2_nvread reads one chunk unless told the size). The Azure HCL report, with the
SNP or TDX report inside, lives at 0x01400001. Without -o the bytes go to stdout;
--format json prints them as base64 with the index size.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			idx, err := parseHandle("INDEX", args[0])
			if err != nil {
				return err
			}
			t, err := openTPM(spec)
			if err != nil {
				return err
			}
			defer t.Close()
			data, err := device.NVRead(t, idx)
			if err != nil {
				return tpmErr(err)
			}
			if out != "" && out != "-" {
				if err := writeOut(env, out, data); err != nil {
					return err
				}
				if format != "json" {
					fmt.Fprintf(env.Stderr, "cloudra: wrote %s (%d bytes from NV 0x%08x)\n", out, len(data), idx)
					return nil
				}
			}
			if format == "json" {
				return printJSON(env.Stdout, struct {
					Index uint32 `json:"index"`
					Role  string `json:"role,omitempty"`
					Size  int    `json:"size"`
					Data  []byte `json:"data"`
				}{idx, device.RoleOf(idx), len(data), data})
			}
			return writeOut(env, "-", data)
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "-", "output file (- for stdout)")
	addTPMFlag(c, &spec)
	addFormatFlag(c, &format)
	return c
}
