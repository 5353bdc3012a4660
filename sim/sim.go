// Package sim names what cloudra's simulated platforms (sim/snp, sim/tdx,
// sim/sgx, sim/nitro) share. Their roots are test roots: a verifier trusts them only
// when it is given them (internal/simroots, platform.WithTestRoots) and the
// verification allows test roots.
package sim

// DemoSeed is the seed of the simulated platforms that `cloudra demo` and
// `cloudra collect --simulate` use by default.
const DemoSeed = "cloudra-demo"
