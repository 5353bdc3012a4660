package sevsnp_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/sevsnp"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// An extended report (the report and its certificate table) of a simulated
// SEV-SNP machine, verified at a fixed time, then the same report with one
// bit of MEASUREMENT flipped.
//
// The simulator's ARK is trusted only because the verifier is given it as a
// test root and the options allow test roots. Production code passes
// sevsnp.DefaultRoots() unchanged (AMD's pinned ARKs), the report's VCEK
// from the extended report or AMD KDS, and never sets AllowTestRoots.
func ExampleVerifier_Verify() {
	sim, err := snpsim.New([]byte("example"))
	if err != nil {
		panic(err)
	}
	report, err := sim.Report([64]byte{0: 0x42}, 0, snpsim.ReportOptions{})
	if err != nil {
		panic(err)
	}
	roots, err := sevsnp.DefaultRoots() // AMD's pinned ARKs
	if err != nil {
		panic(err)
	}
	// Production: sevsnp.NewVerifier(roots), and no AllowTestRoots.
	v := sevsnp.NewVerifier(roots.WithTestARK(snpsim.Product, sim.ARK()))
	ctx := context.Background()
	opts := cloudra.Options{Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), AllowTestRoots: true}

	ev := sevsnp.Evidence{Report: report, CertTable: sim.CertTable()}
	res, err := v.Verify(ctx, ev, nil, &sevsnp.Policy{ReportData: []byte{0x42}}, opts)
	if err != nil {
		panic(err) // rejected, or no decision: never accept the report
	}
	fmt.Println(res.Verdict)

	// MEASUREMENT (offset 0x90, SEV-SNP ABI spec 56860, ATTESTATION_REPORT)
	// is covered by the VCEK's signature.
	ev.Report[0x90] ^= 1
	_, err = v.Verify(ctx, ev, nil, nil, opts)
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
	// pass
	// true
	// report.signature sig
}
