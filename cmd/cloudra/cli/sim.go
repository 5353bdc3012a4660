package cli

import (
	snpdevice "github.com/cloudra/cloudra/platform/sevsnp/device"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// simulatedSNP returns the simulated SNP platform's guest interface.
func simulatedSNP(f *collectFlags) (snpdevice.Provider, error) {
	p, err := snpsim.New([]byte(f.simSeed))
	if err != nil {
		return nil, err
	}
	return p.Provider(snpsim.ReportOptions{Extended: f.extended, Debug: f.simDebug}), nil
}
