package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra/platform/tpm/device"
)

// newTPMCmd is the tpm verb tree.
func newTPMCmd(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:   "tpm",
		Short: "TPM 2.0 and vTPM: keys, quotes, NV indices, event logs",
		Long: `Work with the TPM 2.0 (or cloud vTPM) of this machine, or check a quote anywhere.

--tpm names the TPM: a device path (default /dev/tpmrm0, else /dev/tpm0),
swtpm:host=H,port=P for swtpm's TCP socket, or mssim:host=H,port=P for the
Microsoft/IBM simulator. Without --tpm, $TPM2TOOLS_TCTI is honoured when it names
one of these, so tpm2-tools and cloudra talk to the same TPM.

Persistent handles the clouds use: 0x81010001 EK RSA, 0x81010002 EK ECC P-256,
0x81010016 EK ECC P-384 (AWS), 0x81000001 Azure EK, 0x81000003 Azure AK (HCLAkPub),
0x81000002 the AK 'cloudra tpm ak' creates. NV 0x01400001 is Azure's HCL report.`,
	}
	c.AddCommand(
		newTPMHandlesCmd(env),
		newTPMEKCmd(env),
		newTPMAKCmd(env),
		newTPMQuoteCmd(env),
		newTPMNVReadCmd(env),
		newTPMCheckQuoteCmd(env),
	)
	return c
}

// addTPMFlag adds --tpm.
func addTPMFlag(c *cobra.Command, spec *string) {
	c.Flags().StringVar(spec, "tpm", "", "TPM to use: device path, swtpm:host=H,port=P or mssim:host=H,port=P (default $TPM2TOOLS_TCTI, else /dev/tpmrm0, /dev/tpm0)")
}

// openTPM opens --tpm, falling back to $TPM2TOOLS_TCTI when it names a
// device or a TCP TPM cloudra speaks.
func openTPM(spec string) (transport.TPMCloser, error) {
	if spec == "" {
		if tcti := os.Getenv("TPM2TOOLS_TCTI"); tcti != "" {
			kind, _, _ := strings.Cut(tcti, ":")
			switch kind {
			case "device", "swtpm", "mssim":
				spec = tcti
			}
		}
	}
	t, err := device.Open(spec)
	if err != nil {
		return nil, undecided(err, "")
	}
	return t, nil
}

// parseHandle reads a TPM handle or NV index ("0x81000002", "81000002").
func parseHandle(name, s string) (uint32, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	v, err := strconv.ParseUint(t, 16, 32)
	if err != nil {
		return 0, undecided(fmt.Errorf("%s %q is not a hex handle", name, s), "write it as 0x81000002")
	}
	return uint32(v), nil
}

// tpmErr maps a device error to an exit code: every failure to act on the
// TPM is "could not decide" (2); errors carry their own hints.
func tpmErr(err error) error {
	if err == nil {
		return nil
	}
	return undecided(err, "")
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeOut writes data to path, or to stdout for "-".
func writeOut(env *Env, path string, data []byte) error {
	if path == "-" {
		_, err := env.Stdout.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return undecided(err, "")
	}
	return nil
}
