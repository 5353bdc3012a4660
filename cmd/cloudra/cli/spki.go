package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// maxKeyFile bounds a key or certificate file: a PEM certificate with a
// long chain behind it fits many times over.
const maxKeyFile = 64 << 10

// readSPKIFile reads a public key's DER SubjectPublicKeyInfo (RFC 5280
// §4.1.2.7) from a file: a certificate, PEM ("CERTIFICATE") or DER, or,
// when keys is set, a bare public key, PEM ("PUBLIC KEY") or DER. Of a PEM
// file the first block is taken. The bytes returned are the SPKI as the
// file encodes it, which is what a Nitro document's public_key or user_data
// holds (aws-nitro-enclaves-nsm-api docs/attestation_process.md §3.2).
func readSPKIFile(flag, path string, keys bool) ([]byte, error) {
	data, err := readFileLimited(path, maxKeyFile)
	if err != nil {
		return nil, undecided(fmt.Errorf("%s: %w", flag, err), "")
	}
	der, pemType := data, ""
	if blk, _ := pem.Decode(data); blk != nil {
		der, pemType = blk.Bytes, blk.Type
	} else if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		return nil, undecided(fmt.Errorf("%s %s: a PEM file whose block does not decode", flag, path), "")
	}
	want := "a certificate (PEM or DER)"
	if keys {
		want = "a public key or certificate (PEM or DER)"
	}
	switch pemType {
	case "", "CERTIFICATE":
		if c, err := x509.ParseCertificate(der); err == nil {
			return c.RawSubjectPublicKeyInfo, nil
		} else if pemType == "CERTIFICATE" || !keys {
			return nil, undecided(fmt.Errorf("%s %s: not %s: %w", flag, path, want, err), "")
		}
	case "PUBLIC KEY":
		if !keys {
			return nil, undecided(fmt.Errorf("%s %s: a PEM %q block, want %s", flag, path, pemType, want), "")
		}
	default:
		return nil, undecided(fmt.Errorf("%s %s: a PEM %q block, want %s", flag, path, pemType, want), "")
	}
	// A bare SubjectPublicKeyInfo. x509.ParsePKIXPublicKey refuses trailing
	// data, so der is exactly the key's encoding.
	if _, err := x509.ParsePKIXPublicKey(der); err != nil {
		return nil, undecided(fmt.Errorf("%s %s: not %s: %w", flag, path, want, err), "")
	}
	return der, nil
}
