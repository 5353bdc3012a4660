package nitro

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cloudra/cloudra"
)

// Inspect parses an attestation document and returns every field: the
// envelope (RFC 9052 §4.2), the payload (attestation_process.md §2.2), and
// each certificate of cabundle and the leaf. Nothing is verified.
func Inspect(data []byte) ([]cloudra.Claim, error) {
	d, err := ParseDocument(data)
	if err != nil {
		return nil, err
	}
	a := d.Attestation
	kind := DocumentEnclave
	pcrKey := keyPCRs
	if a.TPM {
		kind, pcrKey = DocumentNitroTPM, keyTPMPCRs
	}
	out := []cloudra.Claim{
		{Name: "document", Value: kind},
		{Name: "cose.tagged", Value: d.Tagged},
		{Name: "cose.protected", Value: hex.EncodeToString(d.Protected)},
		{Name: "cose.alg", Value: "ES384 (-35)"},
		{Name: "cose.payload_size", Value: len(d.Payload)},
		{Name: "cose.signature", Value: hex.EncodeToString(d.Signature)},
		{Name: keyModuleID, Value: a.ModuleID},
		{Name: keyDigest, Value: a.Digest},
		{Name: keyTimestamp, Value: fmt.Sprintf("%d (%s)", a.Timestamp, stampMillis(a.Timestamp))},
	}
	if !a.TPM {
		out = append(out, cloudra.Claim{Name: "debug", Value: Debug(a)})
	}
	for _, p := range a.PCRs {
		out = append(out, cloudra.Claim{Name: fmt.Sprintf("%s.%d", pcrKey, p.Index), Value: hex.EncodeToString(p.Value)})
	}
	out = append(out,
		cloudra.Claim{Name: keyPublicKey, Value: a.PublicKey.String()},
		cloudra.Claim{Name: keyUserData, Value: a.UserData.String()},
		cloudra.Claim{Name: keyNonce, Value: a.Nonce.String()},
	)
	for i, der := range a.CABundle {
		out = append(out, certFields(fmt.Sprintf("%s[%d]", keyCABundle, i), der)...)
	}
	return append(out, certFields(keyCertificate, a.Certificate)...), nil
}

// certFields are the fields of one certificate, or why it does not parse.
func certFields(name string, der []byte) []cloudra.Claim {
	sum := sha256.Sum256(der)
	out := []cloudra.Claim{{Name: name + ".sha256", Value: hex.EncodeToString(sum[:])}}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return append(out, cloudra.Claim{Name: name + ".error", Value: err.Error()})
	}
	bc := "absent"
	if c.BasicConstraintsValid {
		bc = fmt.Sprintf("CA:%t", c.IsCA)
		if c.MaxPathLen >= 0 && (c.MaxPathLen > 0 || c.MaxPathLenZero) {
			bc += fmt.Sprintf(", pathlen:%d", c.MaxPathLen)
		}
		if criticalBasicConstraints(c) {
			bc += " (critical)"
		}
	}
	return append(out,
		cloudra.Claim{Name: name + ".subject", Value: c.Subject.String()},
		cloudra.Claim{Name: name + ".issuer", Value: c.Issuer.String()},
		cloudra.Claim{Name: name + ".serial", Value: hex.EncodeToString(c.SerialNumber.Bytes())},
		cloudra.Claim{Name: name + ".not_before", Value: stamp(c.NotBefore)},
		cloudra.Claim{Name: name + ".not_after", Value: stamp(c.NotAfter)},
		cloudra.Claim{Name: name + ".key", Value: keyName(c)},
		cloudra.Claim{Name: name + ".signature_algorithm", Value: c.SignatureAlgorithm.String()},
		cloudra.Claim{Name: name + ".basic_constraints", Value: bc},
		cloudra.Claim{Name: name + ".key_usage", Value: keyUsage(c.KeyUsage)},
	)
}

func keyUsage(u x509.KeyUsage) string {
	var names []string
	for _, k := range []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "digitalSignature"}, {x509.KeyUsageContentCommitment, "nonRepudiation"},
		{x509.KeyUsageKeyEncipherment, "keyEncipherment"}, {x509.KeyUsageDataEncipherment, "dataEncipherment"},
		{x509.KeyUsageKeyAgreement, "keyAgreement"}, {x509.KeyUsageCertSign, "keyCertSign"},
		{x509.KeyUsageCRLSign, "cRLSign"}, {x509.KeyUsageEncipherOnly, "encipherOnly"}, {x509.KeyUsageDecipherOnly, "decipherOnly"},
	} {
		if u&k.bit != 0 {
			names = append(names, k.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
