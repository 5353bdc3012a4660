// Package simroots gives the simulated platforms' test roots, which a
// verifier trusts only when it is given them (platform.WithTestRoots, from
// the CLI's demo and --allow-test-roots, and tests) and the verification
// allows test roots.
package simroots

import (
	"fmt"

	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/sim"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// For returns the roots of the simulated platforms of seed: the
// simulated SEV-SNP ARK, the simulated Intel-like root of the TDX and SGX
// platforms, and the simulated AWS Nitro root.
func For(seed string) ([]seam.TestRoot, error) {
	p, err := snpsim.New([]byte(seed))
	if err != nil {
		return nil, fmt.Errorf("simulated sev-snp platform: %w", err)
	}
	pki, err := sgxsim.NewPKI([]byte(seed))
	if err != nil {
		return nil, fmt.Errorf("simulated Intel PKI: %w", err)
	}
	nitro, err := nitrosim.NewPKI([]byte(seed))
	if err != nil {
		return nil, fmt.Errorf("simulated AWS Nitro PKI: %w", err)
	}
	return []seam.TestRoot{
		{Platform: sevsnp.Platform, Product: snpsim.Product, Cert: p.ARK()},
		{Platform: tdx.Platform, Cert: pki.Root()},
		{Platform: sgx.Platform, Cert: pki.Root()},
		// nitro.Platform: the layering rules do not let this package import
		// platform/nitro.
		{Platform: "nitro", Cert: nitro.Root()},
	}, nil
}

// Demo returns the test roots of the demo's seed, sim.DemoSeed, for
// platform.WithTestRoots.
func Demo() ([]seam.TestRoot, error) { return For(sim.DemoSeed) }
