package sgxsim

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cloudra/cloudra/internal/dcapbuild"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// Organization marks every simulated certificate.
const Organization = "cloudra simulator - NOT INTEL"

// RootCN is the simulated root's common name. The PCK CA and the TCB
// signer must carry Intel's common names ([dcap.PlatformCACN],
// [pcs.TCBSigningCN]) because verifiers select certificates by them; their
// organisation and unit say they are simulated.
const RootCN = "cloudra simulated SGX Root CA - NOT INTEL"

// Validity of every simulated certificate. Verifiers take time as an input;
// any instant inside this window works.
var (
	NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	NotAfter  = time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)
)

// PKI is a simulated Intel SGX PKI: a root CA, the PCK Platform CA it
// issues, and the TCB Signing certificate that signs TCB Info and QE
// Identity. The same seed always gives the same keys and byte-identical
// certificates (ECDSA P-256 with RFC 6979 nonces, fixed serials and
// validity), so a verifier in another process that builds the PKI from the
// same seed trusts exactly the root the quotes chain to.
type PKI struct {
	seed                     []byte
	rootKey, caKey, tcbKey   *ecdsa.PrivateKey
	root, ca, tcbSigner      *x509.Certificate
	tcbChainPEM, crlChainPEM []byte
}

// NewPKI builds the simulated PKI for seed.
func NewPKI(seed []byte) (*PKI, error) {
	if len(seed) == 0 {
		return nil, errors.New("sgxsim: empty seed")
	}
	p := &PKI{seed: bytes.Clone(seed)}
	var err error
	if p.rootKey, err = deriveKey(p.seed, "root ca"); err != nil {
		return nil, err
	}
	if p.caKey, err = deriveKey(p.seed, "pck platform ca"); err != nil {
		return nil, err
	}
	if p.tcbKey, err = deriveKey(p.seed, "tcb signing"); err != nil {
		return nil, err
	}
	// Profiles follow Intel's certificates: root pathlen 1, PCK CA pathlen
	// 0, both CertSign|CRLSign; the TCB signer DigitalSignature|
	// NonRepudiation, not a CA.
	rootT := &x509.Certificate{
		SerialNumber:          serial(p.seed, "root ca"),
		Subject:               subject(RootCN, "cloudra simulated SGX Root CA - NOT INTEL"),
		NotBefore:             NotBefore,
		NotAfter:              NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	if p.root, err = mint(rootT, rootT, p.rootKey, p.rootKey); err != nil {
		return nil, fmt.Errorf("sgxsim: root CA: %w", err)
	}
	caT := &x509.Certificate{
		SerialNumber:          serial(p.seed, "pck platform ca"),
		Subject:               subject(dcap.PlatformCACN, "cloudra simulated PCK Platform CA - NOT INTEL"),
		NotBefore:             NotBefore,
		NotAfter:              NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	if p.ca, err = mint(caT, p.root, p.rootKey, p.caKey); err != nil {
		return nil, fmt.Errorf("sgxsim: PCK Platform CA: %w", err)
	}
	tcbT := &x509.Certificate{
		SerialNumber:          serial(p.seed, "tcb signing"),
		Subject:               subject(pcs.TCBSigningCN, "cloudra simulated TCB Signing - NOT INTEL"),
		NotBefore:             NotBefore,
		NotAfter:              NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	if p.tcbSigner, err = mint(tcbT, p.root, p.rootKey, p.tcbKey); err != nil {
		return nil, fmt.Errorf("sgxsim: TCB Signing: %w", err)
	}
	p.tcbChainPEM = dcapbuild.PEMChain(p.tcbSigner, p.root)
	p.crlChainPEM = dcapbuild.PEMChain(p.ca, p.root)
	return p, nil
}

// Root returns the simulated root CA: the test root a verifier must be
// given (tdx.WithTestRoot, sgx.WithTestRoot). Callers must not modify it.
func (p *PKI) Root() *x509.Certificate { return p.root }

// PCKCA returns the simulated "Intel SGX PCK Platform CA". Callers must not
// modify it.
func (p *PKI) PCKCA() *x509.Certificate { return p.ca }

// TCBSigner returns the simulated "Intel SGX TCB Signing" certificate.
// Callers must not modify it.
func (p *PKI) TCBSigner() *x509.Certificate { return p.tcbSigner }

// TCBIssuerChainPEM is the TCB signer and the root in PEM, as PCS sends them
// in the TCB-Info-Issuer-Chain and SGX-Enclave-Identity-Issuer-Chain
// headers (signer first, root last).
func (p *PKI) TCBIssuerChainPEM() []byte { return bytes.Clone(p.tcbChainPEM) }

// PCKCRLIssuerChainPEM is the PCK CA and the root in PEM, as PCS sends them
// in the SGX-PCK-CRL-Issuer-Chain header.
func (p *PKI) PCKCRLIssuerChainPEM() []byte { return bytes.Clone(p.crlChainPEM) }

// RootCACRL returns the root's CRL (DER; empty), valid from thisUpdate for
// 30 days.
func (p *PKI) RootCACRL(thisUpdate time.Time) ([]byte, error) {
	return crl(p.root, p.rootKey, thisUpdate, nil)
}

// PCKCRL returns the PCK Platform CA's CRL (DER) listing revoked, valid from
// thisUpdate for 30 days (PCS serves it at pckcrl?ca=platform).
func (p *PKI) PCKCRL(thisUpdate time.Time, revoked ...*x509.Certificate) ([]byte, error) {
	return crl(p.ca, p.caKey, thisUpdate, revoked)
}

// SignTCBInfo signs the exact bytes of a "tcbInfo" object with the TCB
// signing key and wraps them as PCS serves them:
// {"tcbInfo":<inner>,"signature":"<hex r‖s>"}.
func (p *PKI) SignTCBInfo(inner []byte) ([]byte, error) {
	return p.envelope("tcbInfo", inner)
}

// SignQEIdentity signs the exact bytes of an "enclaveIdentity" object and
// wraps them as PCS serves them.
func (p *PKI) SignQEIdentity(inner []byte) ([]byte, error) {
	return p.envelope("enclaveIdentity", inner)
}

func (p *PKI) envelope(key string, inner []byte) ([]byte, error) {
	sig, err := signRS(p.tcbKey, inner)
	if err != nil {
		return nil, err
	}
	return dcapbuild.Envelope(key, inner, sig[:]), nil
}

// IssuePCK issues a PCK certificate for key carrying the SGX extension ext
// (encoded by [ExtensionDER]). serialLabel makes the serial unique per
// machine and TCB.
func (p *PKI) IssuePCK(key *ecdsa.PublicKey, ext *dcap.PCKExtension, serialLabel string) (*x509.Certificate, error) {
	der, err := ExtensionDER(ext)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial(p.seed, "pck "+serialLabel),
		Subject:               subject("cloudra simulated SGX PCK Certificate - NOT INTEL", "cloudra simulated PCK - NOT INTEL"),
		NotBefore:             NotBefore,
		NotAfter:              NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: dcap.OIDSGXExtension(), Value: der}},
	}
	c, err := x509.CreateCertificate(nil, t, p.ca, key, p.caKey)
	if err != nil {
		return nil, fmt.Errorf("sgxsim: PCK certificate: %w", err)
	}
	return x509.ParseCertificate(c)
}

// ExtensionDER encodes the PCK certificate's SGX extension
// (1.2.840.113741.1.13.1; Intel PCK certificate profile) exactly as Intel's PCK
// certificates carry it ([dcapbuild.ExtensionDER]). Nil optional fields are
// left out.
func ExtensionDER(x *dcap.PCKExtension) ([]byte, error) {
	return dcapbuild.ExtensionDER(x)
}

func subject(cn, ou string) pkix.Name {
	return pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}, Organization: []string{Organization}}
}

// mint creates a certificate. A nil rand makes x509 sign with RFC 6979
// nonces, so the bytes are a function of the template and keys.
func mint(tmpl, parent *x509.Certificate, parentKey, key *ecdsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(nil, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func crl(issuer *x509.Certificate, key *ecdsa.PrivateKey, thisUpdate time.Time, revoked []*x509.Certificate) ([]byte, error) {
	thisUpdate = thisUpdate.UTC().Truncate(time.Second)
	var entries []x509.RevocationListEntry
	for _, c := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(nil, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                thisUpdate,
		NextUpdate:                thisUpdate.Add(CollateralValidity),
		RevokedCertificateEntries: entries,
	}, issuer, key)
	if err != nil {
		return nil, fmt.Errorf("sgxsim: CRL of %q: %w", issuer.Subject.CommonName, err)
	}
	return der, nil
}

// derive fills out from HKDF-SHA-256(seed, label).
func derive(seed []byte, label string, out []byte) error {
	k, err := hkdf.Key(sha256.New, seed, nil, "cloudra sgxsim "+label, len(out))
	if err != nil {
		return fmt.Errorf("sgxsim: derive %s: %w", label, err)
	}
	copy(out, k)
	return nil
}

// deriveKey derives a P-256 private key: d = (HKDF output mod (n−1)) + 1,
// with 16 extra bytes so the reduction bias is negligible.
func deriveKey(seed []byte, label string) (*ecdsa.PrivateKey, error) {
	var buf [48]byte
	if err := derive(seed, "key "+label, buf[:]); err != nil {
		return nil, err
	}
	curve := elliptic.P256()
	nm1 := new(big.Int).Sub(curve.Params().N, big.NewInt(1))
	d := new(big.Int).SetBytes(buf[:])
	d.Mod(d, nm1).Add(d, big.NewInt(1))
	k, err := ecdsa.ParseRawPrivateKey(curve, d.FillBytes(make([]byte, 32)))
	if err != nil {
		return nil, fmt.Errorf("sgxsim: key %s: %w", label, err)
	}
	return k, nil
}

// serial derives a positive 20-byte serial number (Intel's are 20 bytes).
func serial(seed []byte, label string) *big.Int {
	var b [20]byte
	_ = derive(seed, "serial "+label, b[:]) // HKDF-SHA-256 cannot fail for 20 bytes
	b[0] = b[0]&0x7f | 0x01
	return new(big.Int).SetBytes(b[:])
}

// signRS signs SHA-256(msg) with RFC 6979 nonces and returns r‖s, 32 bytes
// each, big-endian: the encoding of every DCAP signature (Intel ECDSA Quote Library API and TDX DCAP Quoting Library API
// §11).
func signRS(key *ecdsa.PrivateKey, msg []byte) ([64]byte, error) {
	var out [64]byte
	h := sha256.Sum256(msg)
	der, err := key.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		return out, fmt.Errorf("sgxsim: sign: %w", err)
	}
	var r, s *big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	r, s = new(big.Int), new(big.Int)
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() {
		return out, errors.New("sgxsim: sign: malformed ECDSA signature")
	}
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// rawPublicKey is the 64-byte X‖Y form of a P-256 key carried in quotes.
func rawPublicKey(k *ecdsa.PublicKey) ([64]byte, error) {
	var out [64]byte
	b, err := k.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil || len(b) != 65 {
		return out, fmt.Errorf("sgxsim: attestation key encoding: %v", err)
	}
	copy(out[:], b[1:])
	return out, nil
}
