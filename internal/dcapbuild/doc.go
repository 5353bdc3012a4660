// Package dcapbuild encodes the Intel DCAP artefacts a DCAP verifier reads:
// the PCK certificate's SGX extension, a quote's signature data, PCS TCB
// Info and enclave identity documents and the envelope that carries their
// signature. It is the writing side of packages dcap and pcs, shared by the
// simulators (sim/sgx, sim/tdx) and the test forge kit (internal/dcaptest).
//
// It holds no keys and draws no randomness: callers sign, and pass the
// signatures in. Every encoder writes exactly the layout the parsers in
// dcap and pcs read (Intel DCAP quote header; Intel DCAP signature data; Intel PCK certificate profile; Intel PCS API v4).
package dcapbuild
