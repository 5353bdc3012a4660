package tpm

import (
	"crypto"
	_ "crypto/sha1" // registers SHA-1 for crypto.Hash (legacy banks, policy-gated)
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"

	"github.com/cloudra/cloudra/internal/tpmalg"
)

// Alg is a TPM_ALG_ID (TPM 2.0 Part 2, §6.3 "TPM_ALG_ID").
type Alg uint16

// Algorithm identifiers used by quotes, signatures and keys (Part 2, Table 9).
const (
	AlgRSA       Alg = 0x0001
	AlgSHA1      Alg = 0x0004
	AlgHMAC      Alg = 0x0005
	AlgAES       Alg = 0x0006
	AlgKeyedHash Alg = 0x0008
	AlgSHA256    Alg = 0x000B
	AlgSHA384    Alg = 0x000C
	AlgSHA512    Alg = 0x000D
	AlgNull      Alg = 0x0010
	AlgSM3       Alg = 0x0012
	AlgRSASSA    Alg = 0x0014
	AlgRSAPSS    Alg = 0x0016
	AlgECDSA     Alg = 0x0018
	AlgECDAA     Alg = 0x001A
	AlgSM2       Alg = 0x001B
	AlgECSchnorr Alg = 0x001C
	AlgECC       Alg = 0x0023
	AlgSymCipher Alg = 0x0025
)

var algNames = map[Alg]string{
	AlgRSA: "rsa", AlgSHA1: "sha1", AlgHMAC: "hmac", AlgAES: "aes", AlgKeyedHash: "keyedhash",
	AlgSHA256: "sha256", AlgSHA384: "sha384", AlgSHA512: "sha512", AlgNull: "null", AlgSM3: "sm3_256",
	AlgRSASSA: "rsassa", AlgRSAPSS: "rsapss", AlgECDSA: "ecdsa", AlgECDAA: "ecdaa", AlgSM2: "sm2",
	AlgECSchnorr: "ecschnorr", AlgECC: "ecc", AlgSymCipher: "symcipher",
}

// String returns the tpm2-tools style lowercase name ("sha256"), or hex.
func (a Alg) String() string {
	if n, ok := algNames[a]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", uint16(a))
}

// Hash returns the Go hash for a TPM hash algorithm. Only SHA-1 and the
// SHA-2 family are supported (SM3 has no standard-library implementation).
func (a Alg) Hash() (crypto.Hash, bool) {
	h, ok := tpmalg.ByID(uint16(a))
	return h.Go, ok && h.Go != 0
}

// DigestSize returns the digest size of a hash algorithm, or 0.
func (a Alg) DigestSize() int {
	h, _ := tpmalg.ByID(uint16(a))
	return h.Size
}

// ParseHashAlg parses a bank name as written in policies and JSON PCR files
// ("sha256", "SHA256", "sha-256", "0x000b").
func ParseHashAlg(s string) (Alg, error) {
	if h, ok := tpmalg.Parse(s); ok {
		return Alg(h.ID), nil
	}
	return 0, fmt.Errorf("tpm: unknown hash algorithm %q (hint: use sha1, sha256, sha384 or sha512)", s)
}
