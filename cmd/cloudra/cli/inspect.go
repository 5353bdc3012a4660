package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform"
)

func newInspectCmd(env *Env) *cobra.Command {
	var format formatFlag
	c := &cobra.Command{
		Use:   "inspect [flags] FILE...",
		Short: "Print every field of an artifact, named as in its specification",
		Long: `Print every field of an attestation artifact (SEV-SNP report, DCAP quote, TPM quote,
Azure HCL report, or every artifact of an evidence bundle), named as in the vendor's
specification. Nothing is verified: use 'cloudra verify' for that.

Byte strings are printed in the order the artifact carries them (MRTD, RTMRs and
measurements are never reversed).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			type doc struct {
				File   string          `json:"file"`
				Kind   cloudra.Kind    `json:"kind"`
				Fields json.RawMessage `json:"fields"`
			}
			var docs []doc
			var undecodable []error
			paths, err := expandFolders(args)
			if err != nil {
				return err
			}
			for _, p := range paths {
				ef, err := loadFile(env, p)
				if err != nil {
					return err
				}
				if ef.left != nil {
					return undecided(fmt.Errorf("%s: %w", p, ef.left.err), "")
				}
				b, isBundle := ef.bundle, ef.isBundle
				decoded, skipped := 0, []string(nil)
				for _, a := range b.Collateral {
					if !isBundle {
						skipped = append(skipped, string(a.Kind)) // a certificate or CRL file
					}
				}
				for _, a := range b.Artifacts {
					fields, err := platform.Inspect(a.Kind, a.Data)
					if err != nil {
						if errors.Is(err, platform.ErrUnknownArtifact) {
							skipped = append(skipped, string(a.Kind))
							continue
						}
						return &ExitError{Code: ExitRejected, Err: fmt.Errorf("%s: %w", p, err)}
					}
					decoded++
					if format == "json" {
						raw, err := claimsJSON(fields)
						if err != nil {
							return undecided(err, "")
						}
						docs = append(docs, doc{File: artifactName(p), Kind: a.Kind, Fields: raw})
						continue
					}
					var b bytes.Buffer
					fmt.Fprintf(&b, "%s: %s\n", p, a.Kind)
					printClaims(&b, fields, "  ")
					if _, err := env.Stdout.Write(b.Bytes()); err != nil {
						return undecided(err, "")
					}
				}
				// A raw artifact recognised but not decodable (an MAA
				// token), or a bundle of which nothing
				// decodes, is said so: printing nothing with exit 0 would
				// read as "no fields". A bundle's companions (a TPM
				// signature, an AK key) are skipped when something decodes.
				if (!isBundle || decoded == 0) && len(skipped) > 0 {
					undecodable = append(undecodable, fmt.Errorf("%s: cloudra cannot decode %s artifacts", p, strings.Join(skipped, ", ")))
				}
			}
			if format == "json" && (len(docs) > 0 || len(undecodable) == 0) {
				out, err := json.MarshalIndent(map[string]any{"schema": "cloudra.inspect/v1", "artifacts": docs}, "", "  ")
				if err != nil {
					return undecided(err, "")
				}
				fmt.Fprintf(env.Stdout, "%s\n", out)
			}
			if len(undecodable) > 0 {
				return undecided(errors.Join(undecodable...), "inspect decodes SEV-SNP reports, DCAP quotes, TPM quotes, Azure HCL reports, Nitro attestation documents and event logs")
			}
			return nil
		},
	}
	addFormatFlag(c, &format)
	return c
}

type claimList []cloudra.Claim

func (l claimList) Claims() []cloudra.Claim { return l }

// claimsJSON renders fields as an ordered JSON object through the result
// encoder, so inspect and verify print claims identically.
func claimsJSON(fields []cloudra.Claim) (json.RawMessage, error) {
	r := &cloudra.Result{Claims: claimList(fields)}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var m struct {
		Claims json.RawMessage `json:"claims"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m.Claims == nil {
		return json.RawMessage("{}"), nil
	}
	return m.Claims, nil
}
