package platform_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/platform/sevsnp"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// An evidence bundle (an SEV-SNP report and its certificate table from a
// simulated machine) verified against a policy file at a fixed time, then
// the same bundle with one bit of the report's MEASUREMENT flipped.
//
// The simulator's ARK is trusted only because the verifiers are given it as
// a test root and the options allow test roots. Production code calls
// platform.New() without options (every vendor's pinned roots), passes the
// collateral it holds or fetches (VerifyFetching), and never sets
// AllowTestRoots.
func ExampleVerifiers_Verify() {
	sim, err := snpsim.New([]byte("example"))
	if err != nil {
		panic(err)
	}
	report, err := sim.Report([64]byte{0: 0x42}, 0, snpsim.ReportOptions{})
	if err != nil {
		panic(err)
	}
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{
		{Kind: cloudra.KindSNPReport, Data: report},
		{Kind: cloudra.KindSNPCertTable, Data: sim.CertTable()},
	}}
	pol, err := platform.ParsePolicy([]byte(`
version: 1
sev-snp:
  report-data: "42" # REPORT_DATA must be 42 00 … 00
`))
	if err != nil {
		panic(err)
	}
	// Production: platform.New() (the vendors' pinned roots), and no AllowTestRoots.
	vs, err := platform.New(platform.WithTestRoots(func() ([]seam.TestRoot, error) {
		return []seam.TestRoot{{Platform: sevsnp.Platform, Product: snpsim.Product, Cert: sim.ARK()}}, nil
	}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	opts := cloudra.Options{Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), AllowTestRoots: true}

	res, err := vs.Verify(ctx, platform.Input{Bundle: b, Policy: pol, Options: opts})
	if err != nil {
		panic(err) // rejected, or no decision: never accept the evidence
	}
	fmt.Println(res.Platform, res.Verdict)

	// MEASUREMENT (offset 0x90, SEV-SNP ABI spec 56860, ATTESTATION_REPORT)
	// is covered by the VCEK's signature.
	b.Artifacts[0].Data[0x90] ^= 1
	_, err = vs.Verify(ctx, platform.Input{Bundle: b, Policy: pol, Options: opts})
	fmt.Println(errors.Is(err, cloudra.ErrRejected))
	var rej *cloudra.RejectedError
	if errors.As(err, &rej) {
		for _, c := range rej.Result.Checks {
			if c.Outcome == cloudra.OutcomeFail {
				fmt.Println(c.Name, c.Class)
			}
		}
	}
	// Output:
	// sev-snp pass
	// true
	// report.signature sig
}
