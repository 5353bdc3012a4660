// Package sevsnp parses, verifies and appraises AMD SEV-SNP attestation
// reports (AMD SEV-SNP ABI specification; GHCB specification for the
// certificate table; AMD KDS interface specification for VCEK/VLEK
// certificates).
//
// Everything here is pure: no device access, no network, no clock. A report
// is verified with [Verifier.Verify] against collateral the caller supplies
// (VCEK/VLEK, optionally ASK/ASVK and CRLs), AMD roots pinned by fingerprint
// ([DefaultRoots]), a policy section ([policy.SEVSNP]) and a time
// ([cloudra.Options.Time]).
//
// Trust ends at the pinned ARK of the product line. An ARK carried in the
// host's certificate table or in collateral is never a root; ASK and ASVK may
// come from anywhere but must verify under the pinned ARK.
package sevsnp
