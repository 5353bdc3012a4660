package tdx_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/tdx"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	tdxsim "github.com/cloudra/cloudra/sim/tdx"
)

// A TD quote of a simulated TDX machine, verified with the simulated PCS's
// collateral at a fixed time, then the same quote with one bit of MRTD
// flipped.
//
// The simulator's Intel-like root is trusted only because the verifier is
// given it as a test root and the options allow test roots. Production code
// calls tdx.NewVerifier() without options (Intel's pinned SGX Root CA),
// passes the collateral fetched from Intel PCS (package collateral), and
// never sets AllowTestRoots.
func ExampleVerifier_Verify() {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sim, err := tdxsim.New([]byte("example"))
	if err != nil {
		panic(err)
	}
	quote, err := sim.Quote([64]byte{0: 0x42}, tdxsim.QuoteOptions{})
	if err != nil {
		panic(err)
	}
	col, err := sim.Collateral(at, sgxsim.CollateralOptions{})
	if err != nil {
		panic(err)
	}
	// Production: tdx.NewVerifier() (Intel's pinned root), and no AllowTestRoots.
	v, err := tdx.NewVerifier(tdx.WithTestRoot(sim.Root()))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	opts := cloudra.Options{Time: at, AllowTestRoots: true}

	res, err := v.Verify(ctx, tdx.Evidence{Quote: quote}, col, &tdx.Policy{ReportData: []byte{0x42}}, opts)
	if err != nil {
		panic(err) // rejected, or no decision: never accept the quote
	}
	fmt.Println(res.Verdict, res.TCB.Status)

	// MRTD (TD quote body offset 136, after the 48-byte v4 header; Intel
	// TDX DCAP Quoting Library API, TD quote body) is covered by the
	// attestation key's signature.
	quote[48+136] ^= 1
	_, err = v.Verify(ctx, tdx.Evidence{Quote: quote}, col, nil, opts)
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
	// pass UpToDate
	// true
	// quote.signature sig
}
