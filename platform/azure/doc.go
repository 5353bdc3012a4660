// Package azure verifies the evidence of Azure confidential VMs, whose
// attestation comes from the paravisor (HCL, OpenHCL) through the vTPM
// rather than from /dev/sev-guest or /dev/tdx_guest.
//
// The paravisor's HCL report (vTPM NV index 0x01400001, [ParseHCLReport];
// openvmm IGVM attestation report) holds a hardware report — an SEV-SNP report at VMPL 0, or
// a TDX TDREPORT authenticated by a TD quote from IMDS /acc/tdquote — whose
// REPORT_DATA is the hash of the runtime claims stored after it (§13). The
// claims carry HCLAkPub, the public key of the vTPM attestation key
// (0x81000003), and user-data, the 64 bytes last written to NV 0x01400002.
// [Verifier.Verify] checks the chain
//
//	hardware report → Hash(claims) in REPORT_DATA → HCLAkPub → vTPM quote
//	(nonce, PCRs) → user-data echo
//
// delegating the hardware report to platform/sevsnp or platform/tdx and
// the quote to platform/tpm, and records the Azure links as its own checks.
//
// Everything here is pure: no device, no network, no clock. See
// docs/azure.md.
package azure
