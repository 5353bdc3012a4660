package dcap

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/cloudra/cloudra/internal/certprofile"
)

// Sentinel errors of signature and chain verification, for classification.
var (
	// ErrSignature: the quote or the QE report signature does not verify.
	ErrSignature = errors.New("signature does not verify")
	// ErrBinding: the QE report does not bind the attestation key.
	ErrBinding = errors.New("QE report does not bind the attestation key")
	// ErrChain: the PCK chain does not reach a trusted root.
	ErrChain = errors.New("PCK chain does not reach the pinned Intel SGX Root CA")
	// ErrValidity: a certificate is not valid at the verification time.
	ErrValidity = errors.New("certificate not valid at the verification time")
	// ErrRevoked: a certificate is listed in a verified CRL.
	ErrRevoked = errors.New("certificate revoked")
)

// Intermediate CA common names (Intel "SGX PCK Certificate and CRL Profile").
const (
	PlatformCACN  = "Intel SGX PCK Platform CA"
	ProcessorCACN = "Intel SGX PCK Processor CA"
)

// p256Key decodes a raw X‖Y public key and checks that it is on P-256.
func p256Key(raw []byte) (*ecdsa.PublicKey, error) {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, raw...))
	if err != nil {
		return nil, fmt.Errorf("attestation key is not a P-256 point: %w", err)
	}
	return k, nil
}

// verifyRS checks a raw r‖s (big-endian, 32 bytes each) ECDSA P-256 signature
// over SHA-256(msg). Only this encoding is tried (docs/pitfalls-dcap.md A6).
func verifyRS(pub *ecdsa.PublicKey, msg []byte, sig *[64]byte) bool {
	h := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, h[:], r, s)
}

// VerifyQuoteSignature checks the attestation key's signature over the
// quote's signed bytes (header‖body as received).
func VerifyQuoteSignature(q Quote) error {
	sd := q.Signature()
	k, err := p256Key(sd.AttestationKey[:])
	if err != nil {
		return fmt.Errorf("dcap: %w: %w", ErrSignature, err)
	}
	if !verifyRS(k, q.SignedBytes(), &sd.Signature) {
		return fmt.Errorf("dcap: quote %w under the attestation key in the quote", ErrSignature)
	}
	return nil
}

// VerifyQEReportSignature checks the PCK leaf's signature over the 384-byte
// QE report.
func VerifyQEReportSignature(qe *QECertData, pck *ecdsa.PublicKey) error {
	if !verifyRS(pck, qe.Report.Raw[:], &qe.ReportSignature) {
		return fmt.Errorf("dcap: QE report %w under the PCK certificate key", ErrSignature)
	}
	return nil
}

// CheckQEBinding checks QE REPORT_DATA[0:32] == SHA-256(attestation key ‖
// QE auth data) and REPORT_DATA[32:64] == 0 (Intel DCAP signature data).
func CheckQEBinding(sd *SignatureData) error {
	h := sha256.New()
	h.Write(sd.AttestationKey[:])
	h.Write(sd.QE.AuthData)
	want := h.Sum(nil)
	rd := sd.QE.Report.ReportData
	if !bytes.Equal(rd[:32], want) {
		return fmt.Errorf("dcap: %w: QE REPORT_DATA[0:32] %x != SHA-256(attestation key ‖ QE auth data) %x", ErrBinding, rd[:32], want)
	}
	for _, b := range rd[32:] {
		if b != 0 {
			return fmt.Errorf("dcap: %w: QE REPORT_DATA[32:64] not zero", ErrBinding)
		}
	}
	return nil
}

// PCKChain is a PCK certificate chain verified up to a trusted root.
type PCKChain struct {
	Leaf, Intermediate, Root *x509.Certificate
	// CA is "platform" or "processor": the PCK CRL to use (PCS ?ca=).
	CA  string
	Ext *PCKExtension
	// NotBefore and NotAfter bound the window where all three certificates
	// are valid.
	NotBefore, NotAfter time.Time
	// LeafKey is the PCK public key (P-256).
	LeafKey *ecdsa.PublicKey
}

// VerifyPCKChain verifies leaf ← intermediate ← root where the root is one of
// roots (compared by bytes: a root certificate carried inside the quote is
// ignored, never trusted), checks the intermediate's name, and that every
// certificate is valid at t. The PCK extension of the leaf is parsed.
func VerifyPCKChain(certs []*x509.Certificate, roots []*x509.Certificate, t time.Time) (*PCKChain, error) {
	if len(certs) < 2 {
		return nil, fmt.Errorf("dcap: %w: chain has %d certificates", ErrChain, len(certs))
	}
	leaf, inter := certs[0], certs[1]
	// The root is the trusted root whose name and key issued the
	// intermediate (a test root may share the Intel root's name).
	var root *x509.Certificate
	var sigErr error
	for _, r := range roots {
		if r == nil || !bytes.Equal(inter.RawIssuer, r.RawSubject) {
			continue
		}
		// CheckSignatureFrom also requires the parent to be a CA (basic
		// constraints) allowed to sign certificates (key usage).
		if err := inter.CheckSignatureFrom(r); err != nil {
			sigErr = err
			continue
		}
		root = r
		break
	}
	if root == nil {
		if sigErr != nil {
			return nil, fmt.Errorf("dcap: %w: intermediate: %w", ErrChain, sigErr)
		}
		return nil, fmt.Errorf("dcap: %w: intermediate issued by %q, not a pinned root", ErrChain, inter.Issuer.String())
	}
	// A third certificate, when present, must be the pinned root itself.
	if len(certs) > 2 && !bytes.Equal(certs[2].Raw, root.Raw) {
		return nil, fmt.Errorf("dcap: %w: the chain's root certificate differs from the pinned root", ErrChain)
	}
	if len(certs) > 3 {
		return nil, fmt.Errorf("dcap: %w: chain has %d certificates", ErrChain, len(certs))
	}
	var ca string
	switch inter.Subject.CommonName {
	case PlatformCACN:
		ca = "platform"
	case ProcessorCACN:
		ca = "processor"
	default:
		return nil, fmt.Errorf("dcap: %w: intermediate %q is neither %q nor %q", ErrChain, inter.Subject.CommonName, PlatformCACN, ProcessorCACN)
	}
	// The Root CA issues the PCK CA, which issues only PCK certificates:
	// the root's path length constraint must allow one CA below it (Intel
	// sets pathlen:1), and the PCK CA must be CA:TRUE with keyCertSign and
	// pathlen:0 (Intel "SGX PCK Certificate and Certificate Revocation List
	// Profile Specification", Root CA and PCK Platform/Processor CA
	// profiles). CheckSignatureFrom accepts a parent without key usage.
	if err := certprofile.IssuingCA(root, 1); err != nil {
		return nil, fmt.Errorf("dcap: %w: root %q cannot issue the PCK CA: %v", ErrChain, root.Subject.CommonName, err)
	}
	if err := certprofile.IssuingCA(inter, 0); err != nil {
		return nil, fmt.Errorf("dcap: %w: %q is not an issuing CA: %v", ErrChain, inter.Subject.CommonName, err)
	}
	if inter.MaxPathLen > 0 {
		return nil, fmt.Errorf("dcap: %w: %q has path length constraint %d, Intel's PCK CAs have 0", ErrChain, inter.Subject.CommonName, inter.MaxPathLen)
	}
	if !bytes.Equal(leaf.RawIssuer, inter.RawSubject) {
		return nil, fmt.Errorf("dcap: %w: PCK certificate not issued by the intermediate", ErrChain)
	}
	if err := leaf.CheckSignatureFrom(inter); err != nil {
		return nil, fmt.Errorf("dcap: %w: PCK certificate: %w", ErrChain, err)
	}
	// The PCK certificate signs QE reports and nothing else: an end
	// entity, CA:FALSE with key usage digitalSignature and nonRepudiation
	// (same specification, PCK certificate profile). Intel sets key usage
	// on every PCK certificate, so one without it is not Intel's.
	if err := certprofile.EndEntity(leaf, true); err != nil {
		return nil, fmt.Errorf("dcap: %w: PCK certificate is not an end-entity signing certificate: %v", ErrChain, err)
	}
	k, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("dcap: %w: PCK key is not ECDSA P-256", ErrChain)
	}
	ext, err := PCKExtensionOf(leaf)
	if err != nil {
		return nil, err
	}
	c := &PCKChain{Leaf: leaf, Intermediate: inter, Root: root, CA: ca, Ext: ext, LeafKey: k}
	c.NotBefore, c.NotAfter = root.NotBefore, root.NotAfter
	for _, x := range []*x509.Certificate{inter, leaf} {
		if x.NotBefore.After(c.NotBefore) {
			c.NotBefore = x.NotBefore
		}
		if x.NotAfter.Before(c.NotAfter) {
			c.NotAfter = x.NotAfter
		}
	}
	if err := c.ValidAt(t); err != nil {
		return nil, err
	}
	return c, nil
}

// ValidAt checks that every certificate of the chain is valid at t.
func (c *PCKChain) ValidAt(t time.Time) error {
	for _, x := range []*x509.Certificate{c.Leaf, c.Intermediate, c.Root} {
		if t.Before(x.NotBefore) || t.After(x.NotAfter) {
			return fmt.Errorf("dcap: %w: %q is valid %s .. %s, verification time %s",
				ErrValidity, x.Subject.CommonName, x.NotBefore.UTC().Format(time.RFC3339), x.NotAfter.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
