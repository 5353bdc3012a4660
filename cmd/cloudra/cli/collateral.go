package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/policy"
)

func newCollateralCmd(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:   "collateral",
		Short: "Fetch and manage verification collateral (AMD KDS, Intel PCS)",
	}
	c.AddCommand(newCollateralFetchCmd(env))
	return c
}

func newCollateralFetchCmd(env *Env) *cobra.Command {
	var (
		out      string
		at       string
		cacheDir string
		format   formatFlag
		verbose  bool
		kdsURL   string
		pcsURL   string
	)
	c := &cobra.Command{
		Use:   "fetch [flags] EVIDENCE... -o DIR",
		Short: "Fetch every certificate, CRL and collateral document EVIDENCE needs into DIR",
		Long: `Fetch the collateral needed to verify EVIDENCE (VCEK and AMD chain and CRL from AMD KDS;
PCK CRLs, TCB Info and QE Identity from Intel PCS) and write it to DIR, a folder that
'cloudra verify --offline --collateral DIR' reads as it is. Fetches go through the cache.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return undecided(errors.New("no output folder"), "pass -o DIR")
			}
			t, err := verifyTime(env, at)
			if err != nil {
				return err
			}
			bundle, err := loadEvidence(env, args)
			if err != nil {
				return err
			}
			col, err := loadCollateral(env, bundle, nil, verbose)
			if err != nil {
				return err
			}
			vs, err := platform.New()
			if err != nil {
				return undecided(err, "")
			}
			fetcher := newFetcher(env, cacheDir, verbose)
			// The verifiers name what is missing (platform.VerifyFetching
			// fetches it); revocation lists, which a verification only
			// warns about, are fetched below.
			fetched := &cloudra.Collateral{}
			in := platform.Input{Bundle: bundle, Collateral: col, Policy: policy.Default(), Options: cloudra.Options{Time: t, AllowTestRoots: true}}
			o := platform.FetchOptions{MaxRounds: 4,
				Progress: func(ev string) { fmt.Fprintf(env.Stderr, "cloudra: %s\n", ev) },
				Rewrite:  func(u string) string { return rebase(u, kdsURL, pcsURL) },
				Fetched:  func(c *cloudra.Collateral) { fetched.Merge(c) }}
			_, verr := vs.VerifyFetching(cmd.Context(), in, fetcher, o)
			in.Collateral.Merge(fetched)
			if fe := (*platform.FetchError)(nil); errors.As(verr, &fe) {
				if len(fetched.Certificates)+len(fetched.CRLs)+len(fetched.Documents) == 0 {
					return undecided(fmt.Errorf("fetching collateral: %w", errors.Join(fe.Errs...)), "check the network, or fetch on a machine that has it")
				}
				// Some collateral arrived; what is still missing is
				// named so that an offline verification knows.
				for _, e := range fe.Errs {
					fmt.Fprintf(env.Stderr, "cloudra: warning: not fetched: %v\n", e)
				}
			}
			// Revocation lists are optional to a verification (fail-open by
			// default), so the verifier does not ask for them: fetch them
			// here, so that an offline verification can fail closed.
			c, _, ferrs := fetchRefs(cmd.Context(), env, fetcher, platform.RevocationRefs(bundle), kdsURL, pcsURL, false)
			fetched.Merge(c)
			in.Collateral.Merge(c)
			for _, e := range ferrs {
				fmt.Fprintf(env.Stderr, "cloudra: warning: not fetched: %v\n", e)
			}
			all := &cloudra.Collateral{}
			all.Merge(in.Collateral)
			if err := os.MkdirAll(out, 0o755); err != nil {
				return undecided(err, "")
			}
			files, err := collateral.WriteDir(out, all)
			if err != nil {
				return undecided(err, "")
			}
			if format == "json" {
				b, _ := json.MarshalIndent(map[string]any{"schema": "cloudra.collateral/v1", "dir": out, "files": files}, "", "  ")
				fmt.Fprintf(env.Stdout, "%s\n", b)
				return nil
			}
			for _, f := range files {
				fmt.Fprintln(env.Stdout, f)
			}
			fmt.Fprintf(env.Stderr, "cloudra: wrote %d files to %s (%d fetched)\n", len(files), out,
				len(fetched.Certificates)+len(fetched.CRLs)+len(fetched.Documents))
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "output folder")
	c.Flags().StringVar(&at, "at", "", "time the collateral must be valid at (RFC 3339); default: now")
	c.Flags().StringVar(&cacheDir, "cache-dir", defaultCacheDir(), "collateral cache folder")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "say more")
	addSourceFlags(c, &kdsURL, &pcsURL)
	addFormatFlag(c, &format)
	return c
}
