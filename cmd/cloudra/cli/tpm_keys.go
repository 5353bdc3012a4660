package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra/platform/tpm/device"
)

func newTPMHandlesCmd(env *Env) *cobra.Command {
	var spec string
	var format formatFlag
	c := &cobra.Command{
		Use:   "handles",
		Short: "List persistent keys and NV indices, with what each holds",
		Long: `List the TPM's persistent handles (tpm2_getcap handles-persistent) with what
each one holds — key type, attributes, whether it matches a TCG EK template — and
the role the clouds give that handle, then the NV indices.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := openTPM(spec)
			if err != nil {
				return err
			}
			defer t.Close()
			keys, err := device.Handles(t)
			if err != nil {
				return tpmErr(err)
			}
			nvs, err := device.NVIndices(t)
			if err != nil {
				return tpmErr(err)
			}
			if format == "json" {
				return printJSON(env.Stdout, struct {
					Persistent []device.Key     `json:"persistent"`
					NV         []device.NVIndex `json:"nv"`
				}{keys, nvs})
			}
			w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HANDLE\tKIND\tKEY\tATTRIBUTES\tROLE")
			for _, k := range keys {
				fmt.Fprintf(w, "0x%08x\t%s\t%s\t%s\t%s\n", k.Handle, k.Kind, k.Summary(), strings.Join(k.AttrNames, "|"), dash(k.Role))
			}
			if len(keys) == 0 {
				fmt.Fprintln(w, "(no persistent handles)")
			}
			fmt.Fprintln(w)
			fmt.Fprintln(w, "NV INDEX\tSIZE\tATTRIBUTES\tROLE")
			for _, n := range nvs {
				fmt.Fprintf(w, "0x%08x\t%d\t%s\t%s\n", n.Index, n.Size, strings.Join(n.AttrNames, "|"), dash(n.Role))
			}
			if len(nvs) == 0 {
				fmt.Fprintln(w, "(no NV indices)")
			}
			return w.Flush()
		},
	}
	addTPMFlag(c, &spec)
	addFormatFlag(c, &format)
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type keyFlags struct {
	spec, alg, handle, ekHandle, out, pubOut string
	format                                   formatFlag
}

func newTPMEKCmd(env *Env) *cobra.Command {
	var f keyFlags
	c := &cobra.Command{
		Use:   "ek [--alg rsa|ecc|ecc384] [--handle H]",
		Short: "Create or find the endorsement key (TCG default template) at its persistent handle",
		Long: `Return the EK at its TCG handle, creating it from the TCG default template and
persisting it when the handle is empty (tpm2_createek + tpm2_evictcontrol):
rsa = RSA-2048 template L-1 at 0x81010001, ecc = NIST P-256 template L-2 at
0x81010002, ecc384 = NIST P-384 template H-3 at 0x81010016 (where AWS keeps it).
Running it again reuses the key. A handle holding another key is never touched.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEnsureKey(env, &f, true) },
	}
	keyCmdFlags(c, &f, "0 = the TCG handle for --alg")
	return c
}

func newTPMAKCmd(env *Env) *cobra.Command {
	var f keyFlags
	c := &cobra.Command{
		Use:   "ak [--alg rsa|ecc|ecc384] [--handle 0x81000002]",
		Short: "Create or find an attestation key (restricted signing key under the EK)",
		Long: `Return the attestation key at --handle (default 0x81000002), creating it when the
handle is empty: a restricted signing key under the EK of the same algorithm (made
with 'cloudra tpm ek' rules if missing), RSA-2048 RSASSA-SHA256 or ECDSA P-256
SHA-256 (P-384 SHA-384), the defaults of tpm2_createak, persisted with owner
authorization. An existing restricted signing key of that algorithm is reused, so
Azure's 0x81000003 works as --handle. -o writes the public key as PEM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEnsureKey(env, &f, false) },
	}
	keyCmdFlags(c, &f, "default 0x81000002")
	c.Flags().StringVar(&f.ekHandle, "ek-handle", "", "parent EK handle (default: the TCG handle for --alg)")
	return c
}

func keyCmdFlags(c *cobra.Command, f *keyFlags, handleHelp string) {
	fl := c.Flags()
	fl.StringVar(&f.alg, "alg", "rsa", "key algorithm: rsa, ecc (P-256) or ecc384 (P-384)")
	fl.StringVar(&f.handle, "handle", "", "persistent handle ("+handleHelp+")")
	fl.StringVarP(&f.out, "out", "o", "", "write the public key as PEM to this file")
	fl.StringVar(&f.pubOut, "public-out", "", "write the public area (TPM2B_PUBLIC, like tpm2_readpublic -o) to this file")
	addTPMFlag(c, &f.spec)
	addFormatFlag(c, &f.format)
}

func runEnsureKey(env *Env, f *keyFlags, ek bool) error {
	alg, err := device.ParseAlg(f.alg)
	if err != nil {
		return undecided(err, "")
	}
	var h, ekh uint32
	if f.handle != "" {
		if h, err = parseHandle("--handle", f.handle); err != nil {
			return err
		}
	}
	if f.ekHandle != "" {
		if ekh, err = parseHandle("--ek-handle", f.ekHandle); err != nil {
			return err
		}
	}
	t, err := openTPM(f.spec)
	if err != nil {
		return err
	}
	defer t.Close()
	var k *device.Key
	if ek {
		k, err = device.EnsureEK(t, alg, h)
	} else {
		k, err = device.EnsureAK(t, alg, h, ekh)
	}
	if err != nil {
		return tpmErr(err)
	}
	pemb, err := k.PEM()
	if err != nil {
		return tpmErr(err)
	}
	if f.out != "" {
		if err := writeOut(env, f.out, pemb); err != nil {
			return err
		}
	}
	if f.pubOut != "" {
		if err := writeOut(env, f.pubOut, k.Public); err != nil {
			return err
		}
	}
	if f.format == "json" {
		return printJSON(env.Stdout, struct {
			*device.Key
			PEM string `json:"pem"`
		}{k, string(pemb)})
	}
	printKey(env.Stdout, k, ek)
	if f.out != "-" {
		fmt.Fprintf(env.Stdout, "%s", pemb)
	}
	return nil
}

func printKey(w io.Writer, k *device.Key, ek bool) {
	what := "AK"
	if ek {
		what = "EK"
	}
	state := "existing"
	if k.Created {
		state = "created and persisted"
	}
	fmt.Fprintf(w, "%s at 0x%08x (%s): %s\n", what, k.Handle, state, k.Summary())
	fmt.Fprintf(w, "  attributes  0x%08x %s\n", k.Attributes, strings.Join(k.AttrNames, "|"))
	fmt.Fprintf(w, "  name        %x\n", k.Name)
	if k.Role != "" {
		fmt.Fprintf(w, "  role        %s\n", k.Role)
	}
}
