package cli

import snpdevice "github.com/cloudra/cloudra/platform/sevsnp/device"

func simulatedSNP(f *collectFlags) (snpdevice.Provider, error) { return nil, errNoSimulator }
