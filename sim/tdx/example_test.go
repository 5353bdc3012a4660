package tdxsim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/tdx"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	tdxsim "github.com/cloudra/cloudra/sim/tdx"
)

// Example is the collect → verify path of `cloudra demo` for TDX: the
// simulated guest answers through the device interface, the simulated PCS
// supplies collateral, and a verifier that knows the simulator's root as a
// test root verifies and appraises the quote.
func Example() {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	p, err := tdxsim.New([]byte("cloudra-demo"))
	if err != nil {
		panic(err)
	}
	var nonce [64]byte
	copy(nonce[:], "fresh verifier nonce")
	raw, err := p.Provider(tdxsim.QuoteOptions{}).Report(nonce) // a device.Provider
	if err != nil {
		panic(err)
	}
	col, err := p.Collateral(now, sgxsim.CollateralOptions{})
	if err != nil {
		panic(err)
	}
	v, err := tdx.NewVerifier(tdx.WithTestRoot(p.Root()))
	if err != nil {
		panic(err)
	}
	res, err := v.Verify(context.Background(), tdx.Evidence{Quote: raw.Quote}, col, nil, cloudra.Options{Time: now, AllowTestRoots: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Verdict, res.TCB.Status)

	debug, _ := p.Quote(nonce, tdxsim.QuoteOptions{Debug: true})
	res, _ = v.Verify(context.Background(), tdx.Evidence{Quote: debug}, col, nil, cloudra.Options{Time: now, AllowTestRoots: true})
	fmt.Println(res.Verdict, res.Violations[0].Rule)
	// Output:
	// pass UpToDate
	// fail td-attributes.debug
}
