package platform

import (
	"fmt"

	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// DemoSeed is the seed of the simulated platforms that `cloudra demo` and
// `cloudra collect --simulate` use by default; verifiers know its roots as
// test roots.
const DemoSeed = "cloudra-demo"

// withSimulatorRoots adds the simulated platforms' roots. The verifiers use
// them only when Options.AllowTestRoots is set (--allow-test-roots); they
// are never trusted otherwise.
func withSimulatorRoots(r *sevsnp.Roots) (*sevsnp.Roots, error) {
	p, err := snpsim.New([]byte(DemoSeed))
	if err != nil {
		return nil, fmt.Errorf("simulated sev-snp platform: %w", err)
	}
	return r.WithTestARK(snpsim.Product, p.ARK()), nil
}

// dcapSimulatorRoots returns the options that make the TDX and SGX verifiers
// know the simulated Intel-like root as a test root.
func dcapSimulatorRoots() ([]tdx.Option, []sgx.Option, error) {
	pki, err := sgxsim.NewPKI([]byte(DemoSeed))
	if err != nil {
		return nil, nil, fmt.Errorf("simulated Intel PKI: %w", err)
	}
	root := pki.Root()
	return []tdx.Option{tdx.WithTestRoot(root)}, []sgx.Option{sgx.WithTestRoot(root)}, nil
}
