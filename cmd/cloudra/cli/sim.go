package cli

import (
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/simroots"
	"github.com/cloudra/cloudra/platform"
	nitrodevice "github.com/cloudra/cloudra/platform/nitro/device"
	snpdevice "github.com/cloudra/cloudra/platform/sevsnp/device"
	sgxdevice "github.com/cloudra/cloudra/platform/sgx/device"
	tdxdevice "github.com/cloudra/cloudra/platform/tdx/device"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	snpsim "github.com/cloudra/cloudra/sim/snp"
	tdxsim "github.com/cloudra/cloudra/sim/tdx"
)

// simSNP, simTDX, simSGX and simNitro give the collectors their simulated platform
// under --simulate, and nil (this machine's interface) without it.
func simSNP(f *collectFlags) func() (snpdevice.Provider, error) {
	if !f.simulate {
		return nil
	}
	return func() (snpdevice.Provider, error) { return simulatedSNP(f) }
}

func simTDX(f *collectFlags, env *Env) func() (tdxdevice.Provider, []cloudra.Artifact, error) {
	if !f.simulate {
		return nil
	}
	return func() (tdxdevice.Provider, []cloudra.Artifact, error) { return simulatedTDX(f, env) }
}

func simSGX(f *collectFlags, env *Env) func() (sgxdevice.Provider, []cloudra.Artifact, error) {
	if !f.simulate {
		return nil
	}
	return func() (sgxdevice.Provider, []cloudra.Artifact, error) { return simulatedSGX(f, env) }
}

func simNitro(f *collectFlags, env *Env) func() (nitrodevice.Provider, []cloudra.Artifact, error) {
	if !f.simulate {
		return nil
	}
	return func() (nitrodevice.Provider, []cloudra.Artifact, error) {
		// The simulated NSM reads env's clock for each document, as the
		// real one stamps a document with the time it signs it; its
		// documents need no collateral (the cabundle travels in them).
		n, err := nitrosim.New([]byte(f.simSeed), env.Now, nitrosim.Options{Debug: f.simDebug})
		if err != nil {
			return nil, nil, err
		}
		return n, nil, nil
	}
}

// simulatedSNP returns the simulated SNP platform's guest interface.
func simulatedSNP(f *collectFlags) (snpdevice.Provider, error) {
	p, err := snpsim.New([]byte(f.simSeed))
	if err != nil {
		return nil, err
	}
	return p.Provider(snpsim.ReportOptions{Extended: f.extended, Debug: f.simDebug}), nil
}

// simulatedTDX returns the simulated TDX platform's guest interface and the
// collateral its quotes need (a PCS stand-in serves it with the evidence).
func simulatedTDX(f *collectFlags, env *Env) (tdxdevice.Provider, []cloudra.Artifact, error) {
	p, err := tdxsim.New([]byte(f.simSeed))
	if err != nil {
		return nil, nil, err
	}
	files, err := p.CollateralFiles(env.Now().UTC(), sgxsim.CollateralOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("simulated collateral: %w", err)
	}
	return p.Provider(tdxsim.QuoteOptions{Debug: f.simDebug}), simFiles(files), nil
}

// simulatedSGX is simulatedTDX for an SGX enclave.
func simulatedSGX(f *collectFlags, env *Env) (sgxdevice.Provider, []cloudra.Artifact, error) {
	p, err := sgxsim.New([]byte(f.simSeed))
	if err != nil {
		return nil, nil, err
	}
	files, err := p.CollateralFiles(env.Now().UTC(), sgxsim.CollateralOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("simulated collateral: %w", err)
	}
	return p.Provider(sgxsim.QuoteOptions{Debug: f.simDebug}), simFiles(files), nil
}

func simFiles(files []sgxsim.File) []cloudra.Artifact {
	out := make([]cloudra.Artifact, 0, len(files))
	for _, f := range files {
		out = append(out, cloudra.Artifact{Kind: f.Kind, Name: f.Name, Data: f.Data})
	}
	return out
}

// newVerifiers returns the platform verifiers; with testRoots (demo,
// --allow-test-roots) they also know the simulated platforms' roots, which
// are minted on the first verification that allows them. This is the only
// place the simulators' roots reach a verifier.
func newVerifiers(testRoots bool) (*platform.Verifiers, error) {
	if !testRoots {
		return platform.New()
	}
	return platform.New(platform.WithTestRoots(simroots.Demo))
}
