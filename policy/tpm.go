package policy

// TPM is the tpm section of a policy file: rules for TPM 2.0 quotes (and
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
type TPM struct {
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
func (p *TPM) TPMBanks() []string {
	if p == nil || len(p.Banks) == 0 {
		return []string{"sha256", "sha384", "sha512"}
	}
	return p.Banks
}
