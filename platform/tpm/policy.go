package tpm

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/cloudra/cloudra/policy"
)

// Policy is the tpm section of a policy file: rules for TPM 2.0 quotes (and
// vTPM quotes inside Azure evidence) and the event logs that explain them.
// A nil section, or a nil field, means the default stated on the field.
//
// Banks and hashes are named as tpm2-tools names them: "sha1", "sha256",
// "sha384", "sha512". Digests are lowercase or uppercase hex.
//
// The hex tags and validate (validate.go) give each digest its size: a PCR
// value the digest size of its bank; an AK pin 32 bytes (SHA-256) or the
// size of a TPM Name, nameAlg (2 bytes) ‖ digest: 22, 34, 50 or 66 (TPM 2.0
// Part 1, §16 "Names"; Part 2, §10.5.3 TPMU_NAME); an AK root fingerprint 32
// (SHA-256); a kernel or EFI application digest 20, 32, 48 or 64 (SHA-1,
// SHA-256, SHA-384 or SHA-512, whichever bank the event log is replayed in).
type Policy struct {
	// Banks lists the PCR banks a quote may select, and the hashes a quote
	// signature may use. Default: sha256, sha384, sha512. Add "sha1" to
	// accept SHA-1 banks and SHA-1 signatures (legacy TPMs, GCE's SHA-1 bank).
	Banks []string `json:"banks,omitempty"`

	// PCRs maps bank → PCR index → allowed values. Each listed PCR must be
	// quoted and hold one of its values.
	PCRs map[string]map[string][]string `json:"pcrs,omitempty"`

	// RequireNonce requires a non-empty expected nonce (extraData).
	// Default true: a quote without a challenge can be replayed.
	RequireNonce *bool `json:"require-nonce,omitempty"`

	// AKPins are SHA-256 digests (hex) of the DER SubjectPublicKeyInfo of
	// trusted attestation keys (`openssl pkey -pubin -outform der | sha256sum`),
	// or TPM Names (hex, nameAlg ‖ digest) of their TPMT_PUBLIC.
	AKPins []string `json:"ak-pins,omitempty" hex:"32|22|34|50|66"`
	// AKRoots are SHA-256 fingerprints (hex) of the DER root certificates an
	// AK certificate may chain to. The certificates themselves come as
	// collateral; only those whose fingerprint is listed become roots.
	AKRoots []string `json:"ak-roots,omitempty" hex:"32"`
	// RequireAKTrust requires the AK to be pinned, certified to a pinned
	// root, or bound by verified hardware evidence. Default true.
	RequireAKTrust *bool `json:"require-ak-trust,omitempty"`
	// RequireAKAttributes requires a known TPMT_PUBLIC with fixedTPM,
	// fixedParent, sensitiveDataOrigin, restricted and sign. Default false
	// (Azure and tpm2-tools PEM keys carry no attributes); when the
	// attributes are known they are always checked.
	RequireAKAttributes *bool `json:"require-ak-attributes,omitempty"`

	// RequireEventLog requires an event log that replays to the quoted PCRs.
	// Default false.
	RequireEventLog *bool `json:"require-event-log,omitempty"`
	// SecureBoot requires the event log to show UEFI Secure Boot enabled.
	// Default false.
	SecureBoot *bool `json:"secure-boot,omitempty"`
	// KernelCmdlines lists allowed kernel command lines (exact, as
	// measured, without the trailing NUL). Empty: any.
	KernelCmdlines []string `json:"kernel-cmdlines,omitempty"`
	// KernelDigests lists allowed digests (hex, any bank) of the booted
	// kernel image (the last EFI application in PCR4). Empty: any.
	KernelDigests []string `json:"kernel-digests,omitempty" hex:"20|32|48|64,0x"`
	// EFIAppDigests lists allowed digests of every EFI boot application
	// (shim, GRUB, kernel) measured into PCR4. Empty: any.
	EFIAppDigests []string `json:"efi-app-digests,omitempty" hex:"20|32|48|64,0x"`
}

// TPMBanks returns the allowed banks: p.Banks, or sha256, sha384 and
// sha512 when p is nil or lists none.
func (p *Policy) TPMBanks() []string {
	if p == nil || len(p.Banks) == 0 {
		return []string{"sha256", "sha384", "sha512"}
	}
	return p.Banks
}

// maxPCRIndex is the highest PCR a quote can select: TPMS_PCR_SELECTION
// carries at most PCR_SELECT_MAX = 4 bytes of bitmap (TPM 2.0 Part 2,
// §10.6.1; MaxPCRSelectBytes), 32 PCRs.
const maxPCRIndex = 8*MaxPCRSelectBytes - 1

// policyBank reads a bank name as a quote's banks are matched
// (ParseHashAlg: case-insensitive, '-' ignored, or the TPM_ALG_ID in hex),
// with its digest size (TPM 2.0 Part 2, §10.12.2 TPMU_HA).
func policyBank(name string) (Alg, int, bool) {
	a, err := ParseHashAlg(name)
	if err != nil {
		return 0, 0, false
	}
	return a, a.DigestSize(), a.DigestSize() > 0
}

// Validate checks the pcrs and banks rules: every bank is one the verifier
// knows, no bank is given twice under two spellings ("sha256", "SHA-256"),
// every PCR index is a plain decimal 0–31, and every digest has the bank's
// digest size. It implements policy.Validator.
func (p *Policy) Validate(n policy.Node) *policy.Error {
	for i, b := range p.Banks {
		if _, _, ok := policyBank(b); !ok {
			return &policy.Error{Key: fmt.Sprintf("banks[%d]", i), Line: n.At("banks", i).Line(), Err: policy.Errorf(policy.ErrValue, "unknown bank %q (want sha1, sha256, sha384 or sha512)", b)}
		}
	}
	seen := map[Alg]string{}
	for _, bank := range slices.Sorted(maps.Keys(p.PCRs)) {
		alg, size, ok := policyBank(bank)
		key := "pcrs." + bank
		bn := n.At("pcrs", bank)
		if !ok {
			return &policy.Error{Key: key, Line: bn.Line(), Err: policy.Errorf(policy.ErrValue, "unknown bank %q (want sha1, sha256, sha384 or sha512)", bank)}
		}
		if other, dup := seen[alg]; dup {
			return &policy.Error{Key: key, Line: bn.Line(), Err: policy.Errorf(policy.ErrDuplicateKey, "duplicate key: the same bank as %q", other)}
		}
		seen[alg] = bank
		rules := p.PCRs[bank]
		for _, idx := range slices.Sorted(maps.Keys(rules)) {
			i, err := strconv.Atoi(idx)
			if err != nil || !policy.IsDecimal(idx) || i < 0 || i > maxPCRIndex {
				return &policy.Error{Key: key + "." + idx, Line: bn.At(idx).Line(), Err: policy.Errorf(policy.ErrValue, "%q is not a PCR index (a plain decimal 0 to %d)", idx, maxPCRIndex)}
			}
			for j, d := range rules[idx] {
				if msg := policy.CheckHex(d, true, size); msg != "" {
					return &policy.Error{Key: fmt.Sprintf("%s.%s[%d]", key, idx, j), Line: bn.At(idx, j).Line(), Err: policy.Errorf(policy.ErrValue, "%s (the %s digest size)", msg, bank)}
				}
			}
		}
	}
	return nil
}

// PolicySection is the tpm section of the policy file format, for
// policy.Parse (platform.ParsePolicy gives every platform's).
func PolicySection() policy.Section { return policy.SectionOf[Policy](Platform) }

// PolicyOf returns the tpm section of p, or nil (the defaults).
func PolicyOf(p *policy.Policy) *Policy { return policy.Get[Policy](p, Platform) }
