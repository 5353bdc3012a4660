package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/policy"
	"github.com/cloudra/cloudra/sim"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	snpsim "github.com/cloudra/cloudra/sim/snp"
	tdxsim "github.com/cloudra/cloudra/sim/tdx"
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
policy. TDX, SGX and AWS Nitro Enclaves are simulated likewise (Intel's and AWS's PKIs
stood in for by test roots). Then it shows that tampered, debug, replayed and untrusted
evidence is rejected, each for the right reason. Exit 0 when every scenario ends as it must.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			scen, err := runDemo(cmd.Context(), env)
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
				fmt.Fprintln(w, "cloudra demo: simulated SEV-SNP, TDX, SGX and AWS Nitro platforms (test roots, NOT AMD, Intel or AWS); the verifier chooses the nonce")
				fmt.Fprintln(w)
				printResultText(w, scen[0].Result, "")
				fmt.Fprintln(w)
				fmt.Fprintln(w, "scenarios (each must end as stated):")
				for _, s := range scen {
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
					if len(why) > 90 {
						why = why[:87] + "..."
					}
					want := verdictWord(s.Result.Verdict)
					if s.Class != "" {
						want += "/" + string(s.Class)
					}
					fmt.Fprintf(w, "  %s %-38s %-12s %s\n", mark, s.Name, want, why)
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

func runDemo(ctx context.Context, env *Env) ([]scenario, error) {
	vs, err := newVerifiers(true)
	if err != nil {
		return nil, err
	}
	var rd [64]byte
	if _, err := rand.Read(rd[:32]); err != nil {
		return nil, err
	}
	now := env.Now().UTC()
	seed := []byte(sim.DemoSeed)
	snp, err := snpsim.New(seed)
	if err != nil {
		return nil, err
	}
	td, err := tdxsim.New(seed)
	if err != nil {
		return nil, err
	}
	sg, err := sgxsim.New(seed)
	if err != nil {
		return nil, err
	}
	clock := func() time.Time { return now }
	nsm, err := nitrosim.New(seed, clock, nitrosim.Options{})
	if err != nil {
		return nil, err
	}
	nsmDebug, err := nitrosim.New(seed, clock, nitrosim.Options{Debug: true})
	if err != nil {
		return nil, err
	}
	enclavePCRs, err := nitrosim.EnclavePCRs(seed, false)
	if err != nil {
		return nil, err
	}
	// Each simulated platform's collateral travels with its evidence, as an
	// extended report's table or a PCS cache would bring it.
	snpCRL, err := snp.CRL(now.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	tdxCol, err := td.CollateralFiles(now, sgxsim.CollateralOptions{})
	if err != nil {
		return nil, err
	}
	sgxCol, err := sg.CollateralFiles(now, sgxsim.CollateralOptions{})
	if err != nil {
		return nil, err
	}
	bundle := func(platformName string, a cloudra.Artifact, nonce [64]byte, col []cloudra.Artifact) *cloudra.Bundle {
		return &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Platform: platformName, Cloud: "simulated",
			Nonce: nonce[:32], Artifacts: []cloudra.Artifact{a}, Collateral: col}
	}
	snpEvidence := func(o snpsim.ReportOptions, nonce [64]byte) (*cloudra.Bundle, error) {
		o.Extended = true
		raw, err := snp.Provider(o).Report(nonce, 0)
		if err != nil {
			return nil, err
		}
		b := bundle("sev-snp", cloudra.Artifact{Kind: cloudra.KindSNPReport, Data: raw.Report,
			Meta: map[string]string{"vmpl": "0", "interface": raw.Interface}}, nonce,
			[]cloudra.Artifact{{Kind: cloudra.KindCRL, Name: "simulated-ark.crl", Data: snpCRL}})
		b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindSNPCertTable, Data: raw.CertTable})
		return b, nil
	}
	tdxEvidence := func(o tdxsim.QuoteOptions, nonce [64]byte) (*cloudra.Bundle, error) {
		q, err := td.Quote(nonce, o)
		if err != nil {
			return nil, err
		}
		return bundle("tdx", cloudra.Artifact{Kind: cloudra.KindTDXQuote, Data: q}, nonce, simFiles(tdxCol)), nil
	}
	sgxEvidence := func(o sgxsim.QuoteOptions, nonce [64]byte) (*cloudra.Bundle, error) {
		q, err := sg.Quote(nonce, o)
		if err != nil {
			return nil, err
		}
		return bundle("sgx", cloudra.Artifact{Kind: cloudra.KindSGXQuote, Data: q}, nonce, simFiles(sgxCol)), nil
	}
	// A Nitro document carries the nonce in a field of its own, as given;
	// the verifier expects it exactly (the relying party's nonce).
	nitroEvidence := func(n *nitrosim.NSM, nonce [64]byte, tamper bool) (*cloudra.Bundle, error) {
		doc, err := n.Attest(nil, nonce[:32], nil)
		if err != nil {
			return nil, err
		}
		if tamper {
			// One bit of PCR0, inside the signed payload: the CBOR still
			// decodes, the ES384 signature no longer verifies.
			i := bytes.Index(doc, enclavePCRs[0])
			if i < 0 {
				return nil, fmt.Errorf("PCR0 not found in the simulated document")
			}
			doc = bytes.Clone(doc)
			doc[i] ^= 0x01
		}
		return bundle("nitro", cloudra.Artifact{Kind: cloudra.KindNitroDoc, Data: doc}, nonce, nil), nil
	}
	var other [64]byte
	copy(other[:], "an old nonce, replayed")
	type demoCase struct {
		name      string
		make      func() (*cloudra.Bundle, error)
		testRoots bool
		expect    cloudra.Verdict
		class     cloudra.Class
	}
	cases := []demoCase{
		{"sev-snp: genuine report, fresh nonce", func() (*cloudra.Bundle, error) { return snpEvidence(snpsim.ReportOptions{}, rd) }, true, cloudra.Pass, ""},
		{"tdx: genuine quote, fresh nonce", func() (*cloudra.Bundle, error) { return tdxEvidence(tdxsim.QuoteOptions{}, rd) }, true, cloudra.Pass, ""},
		{"sgx: genuine quote, fresh nonce", func() (*cloudra.Bundle, error) { return sgxEvidence(sgxsim.QuoteOptions{}, rd) }, true, cloudra.Pass, ""},
		{"nitro: genuine document, fresh nonce", func() (*cloudra.Bundle, error) { return nitroEvidence(nsm, rd, false) }, true, cloudra.Pass, ""},
		{"sev-snp: tampered measurement", func() (*cloudra.Bundle, error) {
			return snpEvidence(snpsim.ReportOptions{TamperSignedBytes: true}, rd)
		}, true, cloudra.Fail, cloudra.ClassSig},
		{"sev-snp: debug guest", func() (*cloudra.Bundle, error) { return snpEvidence(snpsim.ReportOptions{Debug: true}, rd) }, true, cloudra.Fail, cloudra.ClassPolicy},
		{"sev-snp: replayed report", func() (*cloudra.Bundle, error) { return snpEvidence(snpsim.ReportOptions{}, other) }, true, cloudra.Fail, cloudra.ClassBinding},
		{"sev-snp: simulator root not allowed", func() (*cloudra.Bundle, error) { return snpEvidence(snpsim.ReportOptions{}, rd) }, false, cloudra.Fail, cloudra.ClassChain},
		{"tdx: tampered quote body", func() (*cloudra.Bundle, error) {
			return tdxEvidence(tdxsim.QuoteOptions{TamperSignedBytes: true}, rd)
		}, true, cloudra.Fail, cloudra.ClassSig},
		{"tdx: debug TD", func() (*cloudra.Bundle, error) { return tdxEvidence(tdxsim.QuoteOptions{Debug: true}, rd) }, true, cloudra.Fail, cloudra.ClassPolicy},
		{"tdx: out-of-date TCB", func() (*cloudra.Bundle, error) { return tdxEvidence(tdxsim.QuoteOptions{OutOfDateTCB: true}, rd) }, true, cloudra.Fail, cloudra.ClassPolicy},
		{"tdx: simulator root not allowed", func() (*cloudra.Bundle, error) { return tdxEvidence(tdxsim.QuoteOptions{}, rd) }, false, cloudra.Fail, cloudra.ClassChain},
		{"sgx: debug enclave", func() (*cloudra.Bundle, error) { return sgxEvidence(sgxsim.QuoteOptions{Debug: true}, rd) }, true, cloudra.Fail, cloudra.ClassPolicy},
		{"sgx: replayed quote", func() (*cloudra.Bundle, error) { return sgxEvidence(sgxsim.QuoteOptions{}, other) }, true, cloudra.Fail, cloudra.ClassBinding},
		{"nitro: tampered PCR0", func() (*cloudra.Bundle, error) { return nitroEvidence(nsm, rd, true) }, true, cloudra.Fail, cloudra.ClassSig},
		{"nitro: debug enclave", func() (*cloudra.Bundle, error) { return nitroEvidence(nsmDebug, rd, false) }, true, cloudra.Fail, cloudra.ClassPolicy},
		{"nitro: replayed document", func() (*cloudra.Bundle, error) { return nitroEvidence(nsm, other, false) }, true, cloudra.Fail, cloudra.ClassBinding},
		{"nitro: simulator root not allowed", func() (*cloudra.Bundle, error) { return nitroEvidence(nsm, rd, false) }, false, cloudra.Fail, cloudra.ClassChain},
	}
	var out []scenario
	for _, c := range cases {
		b, err := c.make()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		pol := policy.Default()
		platform.SetReportData(pol, rd[:32])
		in := platform.Input{Bundle: b, Policy: pol, Options: cloudra.Options{Time: now, AllowTestRoots: c.testRoots}}
		if b.Platform == "nitro" {
			// The relying party's nonce, which the document must carry.
			in.Nonce = rd[:32]
		}
		res, err := decided(vs.Verify(ctx, in))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		ok := res.Verdict == c.expect && (c.class == "" || res.HasFailure(c.class))
		out = append(out, scenario{Name: c.name, Expect: c.expect, Class: c.class, Result: res, OK: ok})
	}
	return out, nil
}
