package pcs

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly the
// sentinels that describe it, so callers branch with errors.Is.
var (
	// ErrParse: the document or CRL is malformed (REJECT/parse).
	ErrParse = errors.New("malformed collateral")
	// ErrSignature: a collateral or CRL signature does not verify (REJECT/sig).
	ErrSignature = errors.New("collateral signature does not verify")
	// ErrChain: the signer does not chain to the pinned Intel root, or no
	// suitable signer certificate was supplied (REJECT/chain).
	ErrChain = errors.New("collateral signer does not chain to the pinned Intel root")
	// ErrExpired: a document, certificate or CRL is past its nextUpdate /
	// NotAfter at the verification time (REJECT/fresh).
	ErrExpired = errors.New("expired")
	// ErrNotYetValid: a document, certificate or CRL is issued after the
	// verification time (REJECT/fresh).
	ErrNotYetValid = errors.New("not yet valid")
	// ErrMismatch: the collateral does not belong to the evidence (wrong id,
	// TEE, FMSPC, PCE-ID) or an identity field does not match (QE MRSIGNER,
	// ISVPRODID, masked MISCSELECT/ATTRIBUTES, TDX module MRSIGNERSEAM or
	// SEAM_ATTRIBUTES, missing TDX module identity).
	ErrMismatch = errors.New("collateral does not match the evidence")
	// ErrRevoked: a certificate is listed in a verified CRL.
	ErrRevoked = errors.New("certificate revoked")
	// ErrNotFound: no document of the required kind is in the collateral.
	ErrNotFound = errors.New("collateral not found")
)

// ParseError is returned for malformed TCB Info, QE Identity and CRL input.
// It wraps [ErrParse] and the underlying cause.
type ParseError struct {
	What string // "tcb info", "qe identity", "crl"
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("pcs: malformed %s: %v", e.What, e.Err) }

// Unwrap returns ErrParse and the cause.
func (e *ParseError) Unwrap() []error { return []error{ErrParse, e.Err} }

func parseErr(what, format string, args ...any) error {
	return &ParseError{What: what, Err: fmt.Errorf(format, args...)}
}
