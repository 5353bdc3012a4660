package pcs

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
)

// ParseCRL parses a DER CRL (PCS serves ?encoding=der) and rejects trailing
// data (docs/pitfalls-dcap.md C9).
func ParseCRL(der []byte) (*x509.RevocationList, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, &ParseError{What: "crl", Err: err}
	}
	if len(crl.Raw) != len(der) {
		return nil, parseErr("crl", "%d bytes of trailing data", len(der)-len(crl.Raw))
	}
	return crl, nil
}

// VerifyCRL checks that crl is signed by issuer ([ErrSignature]; issuer name
// mismatch is [ErrMismatch]) and that thisUpdate ≤ at < nextUpdate
// ([ErrNotYetValid], [ErrExpired]). A CRL without nextUpdate is rejected
// because its freshness cannot be bounded. Use it with the Intel root for
// the Root CA CRL and with the PCK Platform or Processor CA for the PCK CRL.
func VerifyCRL(crl *x509.RevocationList, issuer *x509.Certificate, at time.Time) error {
	if crl == nil || issuer == nil {
		return fmt.Errorf("pcs: crl: nil CRL or issuer: %w", ErrNotFound)
	}
	if string(crl.RawIssuer) != string(issuer.RawSubject) {
		return fmt.Errorf("pcs: crl issued by %q, not by %q: %w", crl.Issuer.CommonName, issuer.Subject.CommonName, ErrMismatch)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("pcs: crl of %q: %v: %w", issuer.Subject.CommonName, err, ErrSignature)
	}
	if crl.NextUpdate.IsZero() {
		return fmt.Errorf("pcs: crl of %q has no nextUpdate: %w", issuer.Subject.CommonName, ErrParse)
	}
	return checkWindow(fmt.Sprintf("crl of %q", issuer.Subject.CommonName), crl.ThisUpdate, crl.NextUpdate, at)
}

// IsRevoked reports whether cert's serial number is listed in crl. It does not
// verify crl: call [VerifyCRL] first, and only for a CRL whose issuer is
// cert's issuer.
func IsRevoked(crl *x509.RevocationList, cert *x509.Certificate) bool {
	if crl == nil || cert == nil || cert.SerialNumber == nil {
		return false
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return true
		}
	}
	return false
}

// FindCRL returns a CRL of col issued by issuer that verifies at at (see
// [VerifyCRL]); among several, the one with the latest thisUpdate. When none
// verifies it returns the reason ([ErrNotFound] if col has no CRL of that
// issuer). Every CRL of the issuer is verified (see [FindTCBInfo] on cost).
func FindCRL(col *cloudra.Collateral, issuer *x509.Certificate, at time.Time) (*x509.RevocationList, error) {
	if issuer == nil {
		return nil, fmt.Errorf("pcs: crl: nil issuer: %w", ErrNotFound)
	}
	var best *x509.RevocationList
	var firstErr error
	if col != nil {
		for _, crl := range col.CRLs {
			if string(crl.RawIssuer) != string(issuer.RawSubject) {
				continue
			}
			if err := VerifyCRL(crl, issuer, at); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if best == nil || crl.ThisUpdate.After(best.ThisUpdate) {
				best = crl
			}
		}
	}
	if best != nil {
		return best, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("pcs: no CRL of %q in the collateral: %w", issuer.Subject.CommonName, ErrNotFound)
}

// CheckRevocation finds the verified CRL of issuer in col and reports whether
// cert is listed: nil if not, an error wrapping [ErrRevoked] if it is, or
// FindCRL's error when no usable CRL is present.
func CheckRevocation(col *cloudra.Collateral, cert, issuer *x509.Certificate, at time.Time) error {
	crl, err := FindCRL(col, issuer, at)
	if err != nil {
		return err
	}
	if IsRevoked(crl, cert) {
		return fmt.Errorf("pcs: certificate %q serial %x is revoked by the CRL of %q: %w", cert.Subject.CommonName, cert.SerialNumber, issuer.Subject.CommonName, ErrRevoked)
	}
	return nil
}
