package tpm

import (
	"crypto"
	_ "crypto/sha1" // registers SHA-1 for crypto.Hash (legacy banks, policy-gated)
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"strings"
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
	switch a {
	case AlgSHA1:
		return crypto.SHA1, true
	case AlgSHA256:
		return crypto.SHA256, true
	case AlgSHA384:
		return crypto.SHA384, true
	case AlgSHA512:
		return crypto.SHA512, true
	}
	return 0, false
}

// DigestSize returns the digest size of a hash algorithm, or 0.
func (a Alg) DigestSize() int {
	switch a {
	case AlgSHA1:
		return 20
	case AlgSHA256, AlgSM3:
		return 32
	case AlgSHA384:
		return 48
	case AlgSHA512:
		return 64
	}
	return 0
}

// ParseHashAlg parses a bank name as written in policies and JSON PCR files
// ("sha256", "SHA256", "sha-256", "0x000b").
func ParseHashAlg(s string) (Alg, error) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	switch n {
	case "sha1":
		return AlgSHA1, nil
	case "sha256":
		return AlgSHA256, nil
	case "sha384":
		return AlgSHA384, nil
	case "sha512":
		return AlgSHA512, nil
	case "sm3_256", "sm3":
		return AlgSM3, nil
	case "0x0004", "0x4":
		return AlgSHA1, nil
	case "0x000b", "0xb":
		return AlgSHA256, nil
	case "0x000c", "0xc":
		return AlgSHA384, nil
	case "0x000d", "0xd":
		return AlgSHA512, nil
	}
	return 0, fmt.Errorf("tpm: unknown hash algorithm %q (hint: use sha1, sha256, sha384 or sha512)", s)
}
