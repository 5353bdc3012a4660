package pcs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/certprofile"
)

// TCBSigningCN is the subject common name of the certificate that signs TCB
// Info and enclave identities (issued directly by the Intel SGX Root CA).
const TCBSigningCN = "Intel SGX TCB Signing"

// Verify checks the TCB Info at time at:
//   - issueDate ≤ at < nextUpdate ([ErrNotYetValid], [ErrExpired]);
//   - an "Intel SGX TCB Signing" certificate taken from col (its Certificates
//     and the IssuerChain of any of its Documents) chains to root and is
//     valid at at ([ErrChain], or [ErrExpired]/[ErrNotYetValid] when the only
//     candidates are outside their validity). Intel renewed this certificate
//     in 2025 with the same key and serial, so every candidate is tried and
//     the one valid at at is used, never simply the first;
//   - the ECDSA P-256/SHA-256 signature r‖s over RawSigned ([ErrSignature]);
//   - if col holds a Root CA CRL that verifies at at, the signing certificate
//     is not listed in it ([ErrRevoked]).
//
// It does not check that the TCB Info belongs to a quote: see [TCBInfo.Match].
func (t *TCBInfo) Verify(col *cloudra.Collateral, root *x509.Certificate, at time.Time) error {
	return verifySigned("tcb info", t.RawSigned, t.Signature, t.IssueDate, t.NextUpdate, col, root, at)
}

// Verify checks the enclave identity exactly as [TCBInfo.Verify] checks TCB
// Info (window, signer chain to root, signature over RawSigned, root CRL).
func (q *QEIdentity) Verify(col *cloudra.Collateral, root *x509.Certificate, at time.Time) error {
	return verifySigned("qe identity", q.RawSigned, q.Signature, q.IssueDate, q.NextUpdate, col, root, at)
}

// Match checks that the TCB Info is for the given TEE (id "TDX" for TDX
// quotes, "SGX" for SGX quotes; docs/pitfalls-dcap.md C4), FMSPC and PCE-ID (both from the
// PCK certificate extension). Errors wrap [ErrMismatch].
func (t *TCBInfo) Match(tee TEE, fmspc [6]byte, pceID [2]byte) error {
	var errs []error
	if t.TEE() != tee {
		errs = append(errs, fmt.Errorf("pcs: tcb info id %q is not for a %s quote: %w", t.ID, tee, ErrMismatch))
	}
	if t.FMSPC != fmspc {
		errs = append(errs, fmt.Errorf("pcs: tcb info fmspc %x, pck certificate fmspc %x: %w", t.FMSPC, fmspc, ErrMismatch))
	}
	if t.PCEID != pceID {
		errs = append(errs, fmt.Errorf("pcs: tcb info pceId %x, pck certificate pceId %x: %w", t.PCEID, pceID, ErrMismatch))
	}
	return errors.Join(errs...)
}

// Match checks that the identity is the one of the quoting enclave for tee:
// "QE" for SGX, "TD_QE" for TDX (docs/pitfalls-dcap.md C4). Errors wrap [ErrMismatch].
func (q *QEIdentity) Match(tee TEE) error {
	if q.TEE() != tee {
		return fmt.Errorf("pcs: enclave identity %q is not the quoting enclave of a %s quote: %w", q.ID, tee, ErrMismatch)
	}
	return nil
}

func checkWindow(what string, issue, next, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("pcs: %s: %w", what, cloudra.ErrNoTime)
	}
	if at.Before(issue) {
		return fmt.Errorf("pcs: %s issued %s, after the verification time %s: %w", what, issue.Format(time.RFC3339), at.Format(time.RFC3339), ErrNotYetValid)
	}
	if !at.Before(next) {
		return fmt.Errorf("pcs: %s nextUpdate %s is not after the verification time %s (hint: fetch fresh collateral): %w", what, next.Format(time.RFC3339), at.Format(time.RFC3339), ErrExpired)
	}
	return nil
}

func verifySigned(what string, signed []byte, sig [64]byte, issue, next time.Time, col *cloudra.Collateral, root *x509.Certificate, at time.Time) error {
	if err := checkWindow(what, issue, next, at); err != nil {
		return err
	}
	signer, err := findSigner(col, root, at)
	if err != nil {
		return fmt.Errorf("pcs: %s: %w", what, err)
	}
	if err := checkSignature(signer, signed, sig); err != nil {
		return fmt.Errorf("pcs: %s: %w", what, err)
	}
	if crl, err := FindCRL(col, root, at); err == nil && IsRevoked(crl, signer) {
		return fmt.Errorf("pcs: %s: signing certificate serial %x is on the Intel Root CA CRL: %w", what, signer.SerialNumber, ErrRevoked)
	}
	return nil
}

// checkSignature verifies an ECDSA P-256/SHA-256 signature r‖s (32+32 bytes,
// big-endian) by cert over msg. No other encoding is tried (docs/pitfalls-dcap.md A6).
func checkSignature(cert *x509.Certificate, msg []byte, sig [64]byte) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fmt.Errorf("signer key is not ECDSA P-256: %w", ErrSignature)
	}
	h := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return fmt.Errorf("signature by %q does not verify over the signed bytes: %w", cert.Subject.CommonName, ErrSignature)
	}
	return nil
}

// Certificates returns every certificate col offers: its Certificates, then
// those in the IssuerChain PEM of each Document, without duplicates.
func Certificates(col *cloudra.Collateral) []*x509.Certificate {
	if col == nil {
		return nil
	}
	var out []*x509.Certificate
	seen := map[string]bool{}
	add := func(c *x509.Certificate) {
		if c != nil && !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			out = append(out, c)
		}
	}
	for _, c := range col.Certificates {
		add(c)
	}
	for _, d := range col.Documents {
		for _, c := range ParsePEMChain(d.IssuerChain) {
			add(c)
		}
	}
	return out
}

// ParsePEMChain parses the CERTIFICATE blocks of a PEM issuer chain (as
// served in the TCB-Info-Issuer-Chain, SGX-Enclave-Identity-Issuer-Chain and
// SGX-PCK-CRL-Issuer-Chain headers once URL-decoded). Blocks that do not
// parse are skipped: nothing in a chain is trusted by being there.
func ParsePEMChain(b []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for len(b) > 0 {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// findSigner returns the TCB Signing certificate of col that chains to root
// and is valid at at.
func findSigner(col *cloudra.Collateral, root *x509.Certificate, at time.Time) (*x509.Certificate, error) {
	if err := CheckTCBRoot(root); err != nil {
		return nil, err
	}
	var ss SignerSearch
	for _, c := range Certificates(col) {
		if c.Subject.CommonName != TCBSigningCN {
			continue
		}
		if ss.Try(c, root, at) {
			return c, nil
		}
	}
	return nil, ss.Err(at)
}

// CheckTCBRoot checks that root may issue the TCB Signing certificate: a
// CA with keyCertSign (CheckSignatureFrom alone accepts a parent without
// key usage). The error wraps [ErrChain].
func CheckTCBRoot(root *x509.Certificate) error {
	if root == nil {
		return fmt.Errorf("no trusted root given: %w", ErrChain)
	}
	if err := certprofile.IssuingCA(root, 0); err != nil {
		return fmt.Errorf("root %q cannot issue the %q certificate: %v: %w", root.Subject.CommonName, TCBSigningCN, err, ErrChain)
	}
	return nil
}

// SignerSearch tries candidate TCB Signing certificates one by one and
// explains, when none is usable, why: the one rule for every search of the
// signer (this package's and the verification pipeline's).
type SignerSearch struct {
	found, expired, notYet int
	chainErr               error
}

// Try reports whether c is a usable TCB Signing certificate at at: signed
// by root (checked with [CheckTCBRoot] first), an end entity, and inside
// its own and the root's validity.
func (ss *SignerSearch) Try(c, root *x509.Certificate, at time.Time) bool {
	ss.found++
	if err := c.CheckSignatureFrom(root); err != nil {
		ss.chainErr = fmt.Errorf("%q certificate not signed by the pinned Intel root (%v)", TCBSigningCN, err)
		return false
	}
	// The TCB Signing certificate signs collateral and nothing else: it is
	// an end entity, CA:FALSE with key usage digitalSignature and
	// nonRepudiation (Intel "SGX PCK Certificate and Certificate Revocation
	// List Profile Specification", TCB Signing certificate profile). A
	// CA:TRUE certificate under Intel's name could issue certificates that
	// look like Intel's; one without key usage is not Intel's.
	if err := certprofile.EndEntity(c, true); err != nil {
		ss.chainErr = fmt.Errorf("%q certificate serial %x is not an end-entity signing certificate: %v", TCBSigningCN, c.SerialNumber, err)
		return false
	}
	switch {
	case at.Before(c.NotBefore) || at.Before(root.NotBefore):
		ss.notYet++
		return false
	case at.After(c.NotAfter) || at.After(root.NotAfter):
		ss.expired++
		return false
	}
	return true
}

// Err explains why no candidate tried was usable at at. It wraps
// [ErrChain], [ErrExpired] or [ErrNotYetValid].
func (ss *SignerSearch) Err(at time.Time) error {
	switch {
	case ss.found == 0:
		return fmt.Errorf("no %q certificate in the collateral (hint: PCS serves it in the TCB-Info-Issuer-Chain / SGX-Enclave-Identity-Issuer-Chain header): %w", TCBSigningCN, ErrChain)
	case ss.expired > 0:
		return fmt.Errorf("every %q certificate that chains to the root is expired at %s: %w", TCBSigningCN, at.Format(time.RFC3339), ErrExpired)
	case ss.notYet > 0:
		return fmt.Errorf("every %q certificate that chains to the root is not yet valid at %s: %w", TCBSigningCN, at.Format(time.RFC3339), ErrNotYetValid)
	default:
		return fmt.Errorf("%w: %w", ss.chainErr, ErrChain)
	}
}

// FindTCBInfo returns the TCB Info of col that is for tee and fmspc and that
// verifies at at (see [TCBInfo.Verify]); among several, the one with the
// highest tcbEvaluationDataNumber, then the latest issueDate. Documents of
// Kind "tcb-info" (or of no kind) are considered.
//
// Errors: [ErrNotFound] together with a *cloudra.MissingCollateralError
// naming the PCS URL when no TCB Info for (tee, fmspc) is present;
// [ErrMismatch] when only TCB Info for the other TEE is present; otherwise
// the joined verification errors of the candidates.
//
// Cost: every matching document is parsed and verified against every
// candidate signer, so the work grows with documents × signers. It suits a
// set the caller trusts to be small (a collateral folder); the verifiers
// use dcapverify's search, which indexes candidates by what they are and
// caps how many of each kind it tries, for collateral from untrusted input.
func FindTCBInfo(col *cloudra.Collateral, tee TEE, fmspc [6]byte, root *x509.Certificate, at time.Time) (*TCBInfo, error) {
	var best *TCBInfo
	var errs []error
	otherTEE := false
	for _, d := range documents(col, "tcb-info") {
		t, err := ParseTCBInfo(d.Raw)
		if err != nil {
			if d.Kind != "" {
				errs = append(errs, fmt.Errorf("%s: %w", d.Source, err))
			}
			continue
		}
		if t.FMSPC != fmspc {
			continue
		}
		if t.TEE() != tee {
			otherTEE = true
			continue
		}
		if err := t.Verify(col, root, at); err != nil {
			errs = append(errs, err)
			continue
		}
		if best == nil || t.TCBEvaluationDataNumber > best.TCBEvaluationDataNumber ||
			(t.TCBEvaluationDataNumber == best.TCBEvaluationDataNumber && t.IssueDate.After(best.IssueDate)) {
			best = t
		}
	}
	if best != nil {
		return best, nil
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if otherTEE {
		return nil, fmt.Errorf("pcs: the collateral holds TCB Info for FMSPC %x but not for %s (hint: fetch %s): %w", fmspc, tee, TCBInfoURL("", tee, fmspc), ErrMismatch)
	}
	return nil, notFound(fmt.Sprintf("%s TCB Info for FMSPC %x", tee, fmspc), TCBInfoURL("", tee, fmspc))
}

// FindQEIdentity returns the quoting-enclave identity of col for tee ("QE"
// for SGX, "TD_QE" for TDX) that verifies at at; among several, the highest
// tcbEvaluationDataNumber, then the latest issueDate. Documents of Kind
// "qe-identity" (or of no kind) are considered. Errors and cost as
// [FindTCBInfo].
func FindQEIdentity(col *cloudra.Collateral, tee TEE, root *x509.Certificate, at time.Time) (*QEIdentity, error) {
	var best *QEIdentity
	var errs []error
	other := ""
	for _, d := range documents(col, "qe-identity") {
		q, err := ParseQEIdentity(d.Raw)
		if err != nil {
			if d.Kind != "" {
				errs = append(errs, fmt.Errorf("%s: %w", d.Source, err))
			}
			continue
		}
		if q.TEE() != tee {
			other = q.ID
			continue
		}
		if err := q.Verify(col, root, at); err != nil {
			errs = append(errs, err)
			continue
		}
		if best == nil || q.TCBEvaluationDataNumber > best.TCBEvaluationDataNumber ||
			(q.TCBEvaluationDataNumber == best.TCBEvaluationDataNumber && q.IssueDate.After(best.IssueDate)) {
			best = q
		}
	}
	if best != nil {
		return best, nil
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if other != "" {
		return nil, fmt.Errorf("pcs: the collateral holds the %q identity but a %s quote needs %q (hint: fetch %s): %w", other, tee, qeID(tee), QEIdentityURL("", tee), ErrMismatch)
	}
	return nil, notFound(fmt.Sprintf("%s QE Identity", tee), QEIdentityURL("", tee))
}

// notFound is the error for a document the collateral does not hold: what
// it is and the PCS URL that serves it.
func notFound(what, url string) error {
	return fmt.Errorf("pcs: %w: %w", ErrNotFound, &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{What: what, URL: url}}})
}

func qeID(tee TEE) string {
	if tee == TDX {
		return "TD_QE"
	}
	return "QE"
}

func documents(col *cloudra.Collateral, kind string) []cloudra.Document {
	if col == nil {
		return nil
	}
	var out []cloudra.Document
	for _, d := range col.Documents {
		if d.Kind == kind || d.Kind == "" {
			out = append(out, d)
		}
	}
	return out
}
