// Package nitrosim is a SIMULATED AWS Nitro platform: a software stand-in
// for the AWS Nitro Attestation PKI, an enclave's Nitro Secure Module (NSM)
// and the NitroTPM of an EC2 instance, for the no-hardware demo, for
// `cloudra collect --simulate --platform nitro`, and for the verifier's
// tests, which forge malformed documents with the hooks this package
// exports.
//
// Nothing it produces is trusted by default. Its root is
// "cloudra simulated aws.nitro-enclaves", and every certificate carries the
// organisation "cloudra simulator - NOT AWS"; documents verify only where a
// verifier is given the root (internal/simroots) and told to accept test
// roots (cloudra.Options.AllowTestRoots).
//
// What is simulated, and how faithfully:
//
//   - The PKI: root -> regional -> zonal -> instance -> leaf, all ECDSA
//     P-384 signing ecdsa-with-SHA384, with the subjects, basic constraints
//     (path lengths 2, 1, 0 below the root; the leaf not a CA), key usages
//     and criticality of AWS's certificates, and validity windows like
//     AWS's (about 20 days, 5 days, 1 day and 3 hours) around the time a
//     chain is minted for. Go's x509 adds a subject key identifier to every
//     CA and an authority key identifier where the issuer has one, where
//     AWS's instance and leaf certificates carry neither.
//   - The attestation document (aws-nitro-enclaves-nsm-api
//     docs/attestation_process.md §3.2): an untagged COSE_Sign1 (RFC 9052
//     §4.2) with protected header {1: -35} (ES384, RFC 9053 §2.1), an empty
//     unprotected header, and a 96-byte r‖s signature over the
//     Sig_structure (RFC 9052 §4.4); its payload a definite-length CBOR map
//     written in NSM's order (module_id, digest, timestamp, pcrs,
//     certificate, cabundle, public_key, user_data, nonce), byte for byte
//     as NSM writes it.
//   - The NSM request/response protocol (aws-nitro-enclaves-nsm-api
//     src/api/mod.rs): serde's externally tagged CBOR enums, the NSM's
//     input limits, 32 PCRs of which 0–15 are locked, PCR0/1/2/3/4/8 of
//     the enclave image derived from the seed, and debug mode, whose
//     PCR0/1/2/8 are zero (AWS Nitro Enclaves User Guide, "Cryptographic
//     attestation").
//   - NitroTPM attestation documents (AWS EC2 User Guide, "Validate a
//     NitroTPM Attestation Document"): the same document with PCRs 0–23
//     under "nitrotpm_pcrs".
//
// Keys are derived from the seed (HKDF-SHA-384) and every ECDSA signature
// uses RFC 6979 nonces, so the same seed and the same instant yield
// byte-identical chains and documents in any process. The package never
// reads the clock: times are parameters, and the NSM simulator is handed a
// clock by its caller.
package nitrosim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
)

// Organization marks every simulated certificate.
const Organization = "cloudra simulator - NOT AWS"

// RootCN is the simulated root's common name: distinguishable from AWS's
// "aws.nitro-enclaves".
const RootCN = "cloudra simulated aws.nitro-enclaves"

// Region is the AWS region the simulated chain names.
const Region = "us-east-1"

// Digest is the PCR bank's digest, the only one NSM uses.
const Digest = "SHA384"

// PCRSize is the size of a SHA-384 PCR.
const PCRSize = 48

var errEmptySeed = errors.New("nitrosim: empty seed")

// derive fills out from HKDF-SHA-384(seed, label).
func derive(seed []byte, label string, out []byte) error {
	k, err := hkdf.Key(sha512.New384, seed, nil, "cloudra nitrosim "+label, len(out))
	if err != nil {
		return fmt.Errorf("nitrosim: derive %s: %w", label, err)
	}
	copy(out, k)
	return nil
}

// deriveKey derives an ECDSA key on curve: d = (HKDF output mod (n−1)) + 1,
// with 16 extra bytes so the reduction bias is negligible.
func deriveKey(seed []byte, label string, curve elliptic.Curve) (*ecdsa.PrivateKey, error) {
	size := (curve.Params().BitSize + 7) / 8
	buf := make([]byte, size+16)
	if err := derive(seed, "key "+label, buf); err != nil {
		return nil, err
	}
	nm1 := new(big.Int).Sub(curve.Params().N, big.NewInt(1))
	d := new(big.Int).SetBytes(buf)
	d.Mod(d, nm1).Add(d, big.NewInt(1))
	k, err := ecdsa.ParseRawPrivateKey(curve, d.FillBytes(make([]byte, size)))
	if err != nil {
		return nil, fmt.Errorf("nitrosim: key %s: %w", label, err)
	}
	return k, nil
}
