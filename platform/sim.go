package platform

import "github.com/cloudra/cloudra/platform/sevsnp"

// withSimulatorRoots adds the simulated platforms' roots, which the
// verifiers use only when Options.AllowTestRoots is set.
func withSimulatorRoots(r *sevsnp.Roots) (*sevsnp.Roots, error) { return r, nil }
