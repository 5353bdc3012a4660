// Package pcs parses, verifies and evaluates Intel DCAP collateral served by
// the Intel Provisioning Certification Service (PCS) v4 and its caches
// (PCCS, Azure THIM): TCB Info v3 (id "SGX" and "TDX"), enclave identities v2
// (id "QE", "TD_QE", "QVE"), their "Intel SGX TCB Signing" issuer chains, the
// Root CA and PCK CRLs, and the TCB-level evaluation rules of Intel's Quote
// Verification Library (QVL).
//
// The package is pure: no network, no clock, no logging, no global state.
// Quote parsing, the PCK chain and the PCK certificate extension live in the
// parent package dcap; this package only receives the values it needs
// (FMSPC, component SVNs, PCESVN, TEE_TCB_SVN, QE report fields).
//
// # Order of use
//
//	info, err := pcs.FindTCBInfo(col, pcs.TDX, fmspc, root, at)   // parse + verify + match
//	qeid, err := pcs.FindQEIdentity(col, pcs.TDX, root, at)
//	qe, err   := pcs.EvaluateQE(qeid, isvsvn, miscselect, attrs, mrsigner, isvprodid)
//	err        = info.CheckTDXModule(mrSignerSeam, seamAttributes, teeTCBSVN)
//	plat, err := pcs.EvaluateTDX(info, pckComponents, pcesvn, teeTCBSVN)
//	plat, err := pcs.EvaluateTDX15(info, pckComponents, pcesvn, teeTCBSVN, teeTCBSVN2) // TD report 1.5
//	verdict   := pcs.Converge(plat, qe)
//
// # Signed bytes
//
// Intel signs the exact bytes of the inner JSON object ("tcbInfo" or
// "enclaveIdentity") as served. The parser keeps that span ([TCBInfo.RawSigned])
// and the signature is verified over it; the document is never re-serialised,
// so re-ordered keys or changed whitespace fail the signature (docs/pitfalls-dcap.md C9).
//
// # Errors
//
// Errors wrap exported sentinels so that verifiers can map them to result
// classes: [ErrParse] (malformed), [ErrSignature] (sig), [ErrChain] (chain),
// [ErrExpired] and [ErrNotYetValid] (fresh), [ErrMismatch] (collateral of the
// wrong kind, TEE, FMSPC or PCE-ID; QE/module identity mismatch → policy),
// [ErrRevoked] and [ErrNotFound] (collateral missing).
package pcs
