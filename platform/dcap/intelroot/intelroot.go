// Package intelroot embeds the Intel SGX Root CA, the trust anchor of every
// SGX and TDX DCAP quote and of Intel's PCS collateral (TCB Info, QE
// Identity, PCK CRLs).
//
// The certificate is pinned by the SHA-256 of its DER encoding and checked
// each time it is loaded; nothing carried by evidence or collateral is ever
// used as a root.
package intelroot

import (
	"crypto/x509"
	_ "embed"
	"sync"

	"github.com/cloudra/cloudra/internal/pinnedroot"
)

// rootDER is the Intel SGX Root CA (CN=Intel SGX Root CA, O=Intel Corporation,
// serial 22650cd65a9d3489f383b49552bf501b392706ac, 2018-05-21..2049-12-31).
//
// source: Phala-Network/dcap-qvl @9bffe30 src/TrustedRootCA.der, byte-identical
// to automata-dcap-attestation's root.der and to the last certificate of the
// PCK chain embedded in real quotes (Intel publishes it on
// certificates.trustedservices.intel.com).
//
//go:embed Intel_SGX_Root_CA.der
var rootDER []byte

// SHA256 is the pinned SHA-256 fingerprint (lowercase hex) of the DER
// encoding of the Intel SGX Root CA.
const SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

// load parses the embedded certificate after checking its pin. It is run once;
// the result is immutable.
var load = sync.OnceValues(func() (*x509.Certificate, error) {
	return parsePinned(rootDER)
})

func parsePinned(der []byte) (*x509.Certificate, error) {
	return pinnedroot.Parse("intelroot", der, SHA256)
}

// Certificate returns the pinned Intel SGX Root CA. Callers must not modify
// the returned certificate; it is shared.
func Certificate() (*x509.Certificate, error) {
	return load()
}

// DER returns a copy of the DER encoding of the pinned root.
func DER() []byte {
	return append([]byte(nil), rootDER...)
}

// Is reports whether c is byte-identical to the pinned root.
func Is(c *x509.Certificate) bool {
	return c != nil && string(c.Raw) == string(rootDER)
}
