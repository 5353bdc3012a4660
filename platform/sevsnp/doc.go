// Package sevsnp parses, verifies and appraises AMD SEV-SNP attestation
// reports (AMD SEV-SNP ABI specification; GHCB specification for the
// certificate table; AMD KDS interface specification for VCEK/VLEK
// certificates).
//
// Everything here is pure: no device access, no network, no clock. A report
// is verified with [Verifier.Verify] against collateral the caller supplies
// (VCEK/VLEK, optionally ASK/ASVK and CRLs), AMD roots pinned by fingerprint
// ([DefaultRoots]), a policy section ([Policy]) and a time
// ([cloudra.Options.Time]).
//
// Trust ends at the pinned ARK of the product line. An ARK carried in the
// host's certificate table or in collateral is never a root; ASK and ASVK may
// come from anywhere but must verify under the pinned ARK.
package sevsnp

// # Decisions
//
//   - Trailing bytes: [ParseReport] accepts exactly 1184 bytes. Bytes after
//     the report are outside the signed span and outside the structure, so
//     they are a parse error (ErrTrailingData). [Verifier.Verify] still parses
//     and checks the signature of the first 1184 bytes, so a result for a
//     1185-byte file says both REJECT/parse and whether the report is genuine.
//   - REPORT_DATA policy: an expected value of n ≤ 64 bytes must equal the
//     first n bytes and the remaining 64−n bytes must be zero (docs/pitfalls-snp.md B9).
//   - Provisional firmware (CURRENT ≠ COMMITTED) is allowed by default: live
//     microcode updates make it normal on AWS and Azure (docs/pitfalls-snp.md V1).
//     COMMITTED above CURRENT, and REPORTED above CURRENT, are always
//     rejected, component by component.
//   - Revocation fails open by default (a skipped chain.crl check and a
//     warning); policy require-crl fails closed. A CRL that names the ARK as
//     issuer but does not verify, is outside its window or lacks nextUpdate
//     fails verification.
//   - VMPL 0 is required unless the policy pins another level.
//   - The product line comes from CPUID (v3+), a caller hint or the policy,
//     which must agree; for a v2 report without either, from the product-name
//     extension of the candidate VCEK/VLEK — which is safe because the chain
//     must still verify under that product's pinned ARK. Never a default.
//   - Failure classes: report bytes → parse; report signature, unsigned
//     report → sig; certificate path, signer-kind mismatch, revoked
//     intermediate → chain; validity windows and CRL windows → fresh; CHIP_ID
//     vs hwID and REPORT_DATA → binding; leaf SPLs vs REPORTED_TCB and every
//     policy rule → policy; missing CRL under require-crl → collateral.
