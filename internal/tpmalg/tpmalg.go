// Package tpmalg is the one table of the TPM hash algorithms cloudra knows:
// TPM_ALG_ID (TPM 2.0 Part 2, §6.3 "TPM_ALG_ID", Table 9), tpm2-tools name,
// digest size and Go hash. The digest sizes are those of the hash functions,
// which Part 2 §10.12.2 TPMU_HA sizes the digest union by.
package tpmalg

import (
	"crypto"
	"slices"
	"strings"
)

// Hash is one TPM hash algorithm.
type Hash struct {
	ID   uint16
	Name string      // as tpm2-tools names it: "sha256"
	Size int         // digest size in bytes
	Go   crypto.Hash // 0 when the standard library has none (SM3)
	// spellings are the other names Parse accepts.
	spellings []string
}

// hashes is the table. It is read only.
var hashes = [...]Hash{
	{0x0004, "sha1", 20, crypto.SHA1, []string{"0x0004", "0x4"}},
	{0x000B, "sha256", 32, crypto.SHA256, []string{"0x000b", "0xb"}},
	{0x000C, "sha384", 48, crypto.SHA384, []string{"0x000c", "0xc"}},
	{0x000D, "sha512", 64, crypto.SHA512, []string{"0x000d", "0xd"}},
	{0x0012, "sm3_256", 32, 0, []string{"sm3"}},
}

// ByID returns the hash algorithm with TPM_ALG_ID id.
func ByID(id uint16) (Hash, bool) {
	for _, h := range hashes {
		if h.ID == id {
			return h, true
		}
	}
	return Hash{}, false
}

// Parse looks a bank name up as policies and JSON PCR files write it:
// the tpm2-tools name ("sha256"), case-insensitive and with '-' ignored
// ("SHA-256"), "sm3" for SM3, or the TPM_ALG_ID in hex ("0x000b", "0xb").
func Parse(name string) (Hash, bool) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "-", ""))
	for _, h := range hashes {
		if n == h.Name {
			return h, true
		}
		for _, s := range h.spellings {
			if n == s {
				return h, true
			}
		}
	}
	return Hash{}, false
}

// Names returns every name [Parse] accepts in its lowercase form, sorted.
func Names() []string {
	var names []string
	for _, h := range hashes {
		names = append(names, h.Name)
		names = append(names, h.spellings...)
	}
	slices.Sort(names)
	return names
}
