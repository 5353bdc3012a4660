// Package pinnedroot loads a vendor root certificate compiled into cloudra:
// the DER is checked against its SHA-256 pin before it is parsed, and the
// certificate must be self-signed. Nothing carried by evidence or collateral
// is ever a root; the embedded ones are the anchors, and a changed byte in
// one is a build that refuses to verify anything, never a silent new root.
package pinnedroot

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
)

// Parse checks der against pin (the lowercase hex SHA-256 of the DER) and
// returns the self-signed certificate it encodes. name prefixes the errors
// ("intelroot", "nitro").
func Parse(name string, der []byte, pin string) (*x509.Certificate, error) {
	sum := sha256.Sum256(der)
	if got := hex.EncodeToString(sum[:]); got != pin {
		return nil, fmt.Errorf("%s: embedded root fingerprint %s does not match pin %s", name, got, pin)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: parse embedded root: %w", name, err)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		return nil, fmt.Errorf("%s: embedded root is not self-signed: %w", name, err)
	}
	return c, nil
}
