package cli

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/policy"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// scenario is one demo case: evidence from a simulated guest and the verdict
// a correct verifier must reach.
type scenario struct {
	Name   string          `json:"name"`
	Expect cloudra.Verdict `json:"expect"`
	Class  cloudra.Class   `json:"expect_class,omitempty"`
	Result *cloudra.Result `json:"result"`
	OK     bool            `json:"ok"`
}

func newDemoCmd(env *Env) *cobra.Command {
	var format formatFlag
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run collect → verify → appraise on simulated platforms (no cloud, no hardware)",
		Long: `Run cloudra's main job on its embedded default: a simulated SEV-SNP platform (its own
test ARK/ASK/VCEK, clearly named, NOT AMD's) produces evidence for a fresh nonce through
the same guest interface as hardware; cloudra verifies it against the simulator's test
root (trusted only here, or with --allow-test-roots) and appraises it with the default
policy. Then it shows that tampered, debug, replayed and untrusted evidence is rejected,
each for the right reason. Exit 0 when every scenario ends as it must.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			scen, err := runDemo(env)
			if err != nil {
				return undecided(err, "")
			}
			allOK := true
			for _, s := range scen {
				allOK = allOK && s.OK
			}
			if format == "json" {
				type sj struct {
					Name   string          `json:"name"`
					Expect cloudra.Verdict `json:"expect"`
					Class  cloudra.Class   `json:"expect_class,omitempty"`
					OK     bool            `json:"ok"`
					Result json.RawMessage `json:"result"`
				}
				var out []sj
				for _, s := range scen {
					raw, err := json.Marshal(s.Result)
					if err != nil {
						return undecided(err, "")
					}
					out = append(out, sj{s.Name, s.Expect, s.Class, s.OK, raw})
				}
				b, _ := json.MarshalIndent(map[string]any{"schema": "cloudra.demo/v1", "ok": allOK, "scenarios": out}, "", "  ")
				fmt.Fprintf(env.Stdout, "%s\n", b)
			} else {
				w := env.Stdout
				fmt.Fprintln(w, "cloudra demo: simulated SEV-SNP platform (test roots, NOT AMD), nonce chosen by the verifier")
				fmt.Fprintln(w)
				printResultText(w, scen[0].Result, "")
				fmt.Fprintln(w)
				fmt.Fprintln(w, "negative scenarios (each must be rejected for the stated reason):")
				for _, s := range scen[1:] {
					mark := "ok  "
					if !s.OK {
						mark = "BAD "
					}
					why := ""
					for _, c := range s.Result.Checks {
						if c.Outcome == cloudra.OutcomeFail {
							why = c.Name + ": " + oneLine(c.Detail)
							break
						}
					}
					if why == "" && len(s.Result.Violations) > 0 {
						why = s.Result.Violations[0].Rule
					}
					fmt.Fprintf(w, "  %s %-34s %s/%s  %s\n", mark, s.Name, verdictWord(s.Result.Verdict), s.Class, why)
				}
			}
			if !allOK {
				return &ExitError{Code: ExitRejected, Err: fmt.Errorf("a demo scenario did not end as it must")}
			}
			return nil
		},
	}
	addFormatFlag(c, &format)
	return c
}

func runDemo(env *Env) ([]scenario, error) {
	p, err := snpsim.New([]byte(platform.DemoSeed))
	if err != nil {
		return nil, err
	}
	vs, err := platform.New()
	if err != nil {
		return nil, err
	}
	var rd [64]byte
	if _, err := rand.Read(rd[:32]); err != nil {
		return nil, err
	}
	now := env.Now().UTC()
	collect := func(o snpsim.ReportOptions, nonce [64]byte) (*cloudra.Bundle, error) {
		o.Extended = true
		raw, err := p.Provider(o).Report(nonce, 0)
		if err != nil {
			return nil, err
		}
		// The simulated ARK's revocation list travels with the evidence,
		// as an extended report's certificate table may carry one.
		crl, err := p.CRL(now.Add(-time.Hour))
		if err != nil {
			return nil, err
		}
		return &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Platform: "sev-snp", Cloud: "simulated", Nonce: nonce[:32],
			Artifacts: []cloudra.Artifact{
				{Kind: cloudra.KindSNPReport, Data: raw.Report, Meta: map[string]string{"vmpl": "0", "interface": raw.Interface}},
				{Kind: cloudra.KindSNPCertTable, Data: raw.CertTable},
			},
			Collateral: []cloudra.Artifact{{Kind: cloudra.KindCRL, Name: "simulated-ark.crl", Data: crl}},
		}, nil
	}
	verify := func(b *cloudra.Bundle, expectRD [64]byte, testRoots bool) (*cloudra.Result, error) {
		pol := policy.Default()
		platform.SetReportData(pol, expectRD[:32])
		return vs.Verify(envContext(), platform.Input{Bundle: b, Policy: pol,
			Options: cloudra.Options{Time: now, AllowTestRoots: testRoots}})
	}
	var other [64]byte
	copy(other[:], "an old nonce, replayed")
	cases := []struct {
		name      string
		opts      snpsim.ReportOptions
		nonce     [64]byte
		testRoots bool
		expect    cloudra.Verdict
		class     cloudra.Class
	}{
		{"genuine report, fresh nonce", snpsim.ReportOptions{}, rd, true, cloudra.Pass, ""},
		{"tampered measurement", snpsim.ReportOptions{TamperSignedBytes: true}, rd, true, cloudra.Fail, cloudra.ClassSig},
		{"debug guest", snpsim.ReportOptions{Debug: true}, rd, true, cloudra.Fail, cloudra.ClassPolicy},
		{"replayed report (other nonce)", snpsim.ReportOptions{}, other, true, cloudra.Fail, cloudra.ClassBinding},
		{"simulator root not allowed", snpsim.ReportOptions{}, rd, false, cloudra.Fail, cloudra.ClassChain},
	}
	var out []scenario
	for _, c := range cases {
		b, err := collect(c.opts, c.nonce)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		res, err := verify(b, rd, c.testRoots)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		ok := res.Verdict == c.expect && (c.class == "" || res.HasFailure(c.class))
		out = append(out, scenario{Name: c.name, Expect: c.expect, Class: c.class, Result: res, OK: ok})
	}
	return out, nil
}
