// Package certprofile checks the role a certificate plays in a vendor chain:
// a certificate whose key signs evidence or collateral (Intel PCK and TCB
// Signing certificates, AMD VCEK and VLEK) is an end entity and must not be
// able to act as a CA; an intermediate (Intel PCK Platform/Processor CA, AMD
// ASK/ASVK) must be one. Chains in cloudra are checked link by link with
// x509.Certificate.CheckSignatureFrom, which accepts a parent without key
// usage and says nothing about the child's role, so these rules are stated
// here once (RFC 5280 §4.2.1.3 key usage, §4.2.1.9 basic constraints).
package certprofile

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// oidKeyUsage is id-ce-keyUsage (RFC 5280 §4.2.1.3).
var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// HasKeyUsage reports whether c carries the key usage extension (x509
// reports an extension with no bit set and an absent one both as 0).
func HasKeyUsage(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidKeyUsage) {
			return true
		}
	}
	return false
}

// EndEntity returns why c cannot be an end-entity signing certificate, or
// nil. It rejects basic constraints cA TRUE (§4.2.1.9), key usage
// keyCertSign or cRLSign (§4.2.1.3: asserted only by CAs), and a key usage
// extension without digitalSignature (the key signs reports, quotes or
// collateral). requireKeyUsage makes an absent key usage extension an error:
// set it where the vendor's profile sets the extension on every such
// certificate, so that a certificate without it is not the vendor's.
func EndEntity(c *x509.Certificate, requireKeyUsage bool) error {
	switch {
	case c.BasicConstraintsValid && c.IsCA:
		return errors.New("basic constraints say CA:TRUE")
	case c.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0:
		return errors.New("key usage allows keyCertSign or cRLSign")
	case HasKeyUsage(c) && c.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		return errors.New("key usage lacks digitalSignature")
	case requireKeyUsage && !HasKeyUsage(c):
		return errors.New("no key usage extension (want digitalSignature)")
	}
	return nil
}

// IssuingCA returns why c cannot issue a certificate that has cas further
// CA certificates below it in the path (0 when c issues an end entity
// directly), or nil. It requires basic constraints cA TRUE (§4.2.1.9), key
// usage with keyCertSign (§4.2.1.3: a CA "MUST include" the extension) and a
// path length constraint, when present, of at least cas.
func IssuingCA(c *x509.Certificate, cas int) error {
	switch {
	case !c.BasicConstraintsValid || !c.IsCA:
		return errors.New("basic constraints do not say CA:TRUE")
	case c.KeyUsage&x509.KeyUsageCertSign == 0:
		return errors.New("key usage lacks keyCertSign")
	// x509 reports an absent constraint as -1 (parsed certificate) or as
	// 0 without MaxPathLenZero (template).
	case (c.MaxPathLen > 0 || c.MaxPathLenZero) && c.MaxPathLen < cas:
		return fmt.Errorf("path length constraint %d does not allow %d CA certificate(s) below it", c.MaxPathLen, cas)
	}
	return nil
}
