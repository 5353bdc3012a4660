package nitro

import (
	"crypto/x509"
	_ "embed"
	"sync"

	"github.com/cloudra/cloudra/internal/pinnedroot"
)

// rootDER is the AWS Nitro Enclaves Root G1 (CN=aws.nitro-enclaves, OU=AWS,
// O=Amazon, C=US; EC P-384; 2019-10-28..2049-10-28; serial
// f93175681b90afe11d46ccb4e4e7f856), the root of the AWS Nitro Attestation
// PKI that signs enclave and NitroTPM attestation documents.
//
// AWS distributes it as AWS_NitroEnclaves_Root-G1.zip
// (https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip)
// and documents its fingerprint (AWS Nitro Enclaves User Guide, "Verifying
// the root of trust"); it is byte-identical to cabundle[0] of real
// documents.
//
//go:embed aws-nitro-enclaves-root-g1.der
var rootDER []byte

// RootSHA256 is the pinned SHA-256 fingerprint (lowercase hex) of the DER
// encoding of the AWS Nitro Enclaves Root G1.
const RootSHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

// loadRoot parses the embedded root after checking its pin; it runs once
// and its result is immutable.
var loadRoot = sync.OnceValues(func() (*x509.Certificate, error) { return parsePinnedRoot(rootDER) })

func parsePinnedRoot(der []byte) (*x509.Certificate, error) {
	return pinnedroot.Parse("nitro", der, RootSHA256)
}

// Root returns the pinned AWS Nitro Enclaves Root G1. Callers must not
// modify it; it is shared.
func Root() (*x509.Certificate, error) { return loadRoot() }
