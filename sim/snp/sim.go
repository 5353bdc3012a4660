// Package snpsim is a SIMULATED AMD SEV-SNP platform: a software stand-in
// for the AMD Secure Processor, its key hierarchy and the host's extended
// report, for the no-hardware demo and for end-to-end tests.
//
// Nothing it produces is trusted by default. Its root is "ARK-Milan" with
// organisation "cloudra simulator - NOT AMD"; it verifies only where a
// verifier is told to accept test roots (cloudra.Options.AllowTestRoots)
// and is handed this platform's ARK.
//
// What is simulated, and how faithfully:
//
//   - ATTESTATION_REPORT version 3 of a Milan-like part (CPUID family 0x19,
//     model 0x01, stepping 1), marshalled byte for byte per the SEV-SNP ABI
//     spec (SEV-SNP ABI spec, ATTESTATION_REPORT); signed over [0x000:0x2A0] with the VCEK, ECDSA
//     P-384/SHA-384, r and s little-endian zero-extended to 72 bytes.
//   - VCEK with AMD's KDS extensions (OID arc 1.3.6.1.4.1.3704.1: structure
//     version, product name "Milan", SPLs .3.1–.3.8, 64-byte HWID = CHIP_ID)
//     encoded as KDS encodes them (AMD KDS spec #57230).
//   - The GHCB extended-report certificate table (VCEK, ASK, ARK GUIDs,
//     canonical byte order; GHCB spec, certificate table).
//
// Keys: the ARK and ASK are RSA-4096 and sign RSASSA-PSS/SHA-384 (salt
// 48), as AMD's do; their primes are fixed in rsakeys.go (seeded RSA
// generation costs seconds). The VCEK is an ECDSA P-384 key derived from
// the seed, and reports are signed with it (RFC 6979, deterministic), so
// the same seed yields the same VCEK key, CHIP_ID, measurement and
// byte-identical reports. Certificate DER differs between runs (PSS salts
// are random); the keys, and so every signature check, do not. New costs
// a few RSA-4096 signatures: milliseconds, keeping `cloudra demo` well
// under one second.
package snpsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Product is the simulated product line.
const Product = "Milan"

// Simulated CPUID (report v3+ offsets 0x188–0x18A): Milan B1.
const (
	CPUIDFamily   = 0x19
	CPUIDModel    = 0x01
	CPUIDStepping = 0x01
)

// Organization marks every simulated certificate.
const Organization = "cloudra simulator - NOT AMD"

// Validity of every simulated certificate. Verifiers take time as an input;
// any instant inside this window works.
var (
	NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	NotAfter  = time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TCB is a Milan/Genoa TCB_VERSION (SEV-SNP ABI spec, TCB_VERSION).
type TCB struct {
	Bootloader, TEE, SNP, Microcode uint8
}

// DefaultTCB returns 0300000000000873 in report byte order: bl 3, tee 0,
// snp 8, ucode 0x73, a real Milan value.
func DefaultTCB() TCB { return TCB{Bootloader: 3, TEE: 0, SNP: 8, Microcode: 0x73} }

// Bytes returns the 8 bytes as stored in a report (Milan/Genoa layout:
// byte 0 bootloader, 1 TEE, 6 SNP, 7 microcode).
func (t TCB) Bytes() [8]byte {
	return [8]byte{0: t.Bootloader, 1: t.TEE, 6: t.SNP, 7: t.Microcode}
}

// Uint64 returns the TCB as the little-endian u64 the report stores.
func (t TCB) Uint64() uint64 {
	b := t.Bytes()
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// AMD KDS certificate-extension OIDs (AMD KDS spec #57230).
var (
	oidStructVersion = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 1}
	oidProductName   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 2}
	oidBLSPL         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 1}
	oidTEESPL        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 2}
	oidSNPSPL        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 3}
	oidSPL4          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 4}
	oidSPL5          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 5}
	oidSPL6          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 6}
	oidSPL7          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 7}
	oidUcodeSPL      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 8}
	oidHWID          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 4}
)

// Platform is one simulated machine: a chip with its VCEK at the current
// TCB, the AMD-like CA above it, and one guest's launch measurement.
type Platform struct {
	seed        []byte
	chipID      [64]byte
	tcb         TCB
	measurement [48]byte
	reportID    [32]byte

	arkKey, askKey *rsa.PrivateKey
	vcekKey        *ecdsa.PrivateKey
	ark, ask, vcek *x509.Certificate
	certTable      []byte
}

// New builds the platform for seed. The same seed always yields the same
// keys, CHIP_ID, measurement and (byte-identical) certificates.
func New(seed []byte) (*Platform, error) {
	if len(seed) == 0 {
		return nil, errors.New("snpsim: empty seed")
	}
	p := &Platform{seed: bytes.Clone(seed), tcb: DefaultTCB()}
	var err error
	if p.arkKey, err = rsaKey("ARK", arkP, arkQ); err != nil {
		return nil, err
	}
	if p.askKey, err = rsaKey("ASK", askP, askQ); err != nil {
		return nil, err
	}
	if p.vcekKey, err = p.key("VCEK"); err != nil {
		return nil, err
	}
	if err := p.derive("CHIP_ID", p.chipID[:]); err != nil {
		return nil, err
	}
	if err := p.derive("MEASUREMENT", p.measurement[:]); err != nil {
		return nil, err
	}
	if err := p.derive("REPORT_ID", p.reportID[:]); err != nil {
		return nil, err
	}
	if err := p.mintCerts(); err != nil {
		return nil, err
	}
	p.certTable = buildCertTable(p.vcek.Raw, p.ask.Raw, p.ark.Raw)
	return p, nil
}

func (p *Platform) derive(label string, out []byte) error {
	k, err := hkdf.Key(sha512.New384, p.seed, nil, "cloudra snpsim "+label, len(out))
	if err != nil {
		return fmt.Errorf("snpsim: derive %s: %w", label, err)
	}
	copy(out, k)
	return nil
}

// key derives a P-384 private key: d = (HKDF output mod (n−1)) + 1, with
// 16 extra bytes so the reduction bias is negligible.
func (p *Platform) key(label string) (*ecdsa.PrivateKey, error) {
	var buf [64]byte
	if err := p.derive("key "+label, buf[:]); err != nil {
		return nil, err
	}
	curve := elliptic.P384()
	nm1 := new(big.Int).Sub(curve.Params().N, big.NewInt(1))
	d := new(big.Int).SetBytes(buf[:])
	d.Mod(d, nm1).Add(d, big.NewInt(1))
	k, err := ecdsa.ParseRawPrivateKey(curve, d.FillBytes(make([]byte, 48)))
	if err != nil {
		return nil, fmt.Errorf("snpsim: key %s: %w", label, err)
	}
	return k, nil
}

func subject(cn, ou string) pkix.Name {
	return pkix.Name{
		CommonName:         cn,
		OrganizationalUnit: []string{ou},
		Organization:       []string{Organization},
	}
}

func intExt(oid asn1.ObjectIdentifier, v int) (pkix.Extension, error) {
	b, err := asn1.Marshal(v) // DER INTEGER, minimal two's complement
	return pkix.Extension{Id: oid, Value: b}, err
}

// vcekExtensions encodes the KDS extensions exactly as KDS does
// (AMD KDS spec #57230): INTEGERs, an IA5String product name, raw HWID bytes.
func vcekExtensions(tcb TCB, chipID [64]byte) ([]pkix.Extension, error) {
	name, err := asn1.MarshalWithParams(Product, "ia5")
	if err != nil {
		return nil, err
	}
	exts := []pkix.Extension{{Id: oidProductName, Value: name}}
	for _, iv := range []struct {
		oid asn1.ObjectIdentifier
		v   int
	}{
		{oidStructVersion, 0},
		{oidBLSPL, int(tcb.Bootloader)},
		{oidTEESPL, int(tcb.TEE)},
		{oidSNPSPL, int(tcb.SNP)},
		{oidSPL4, 0}, {oidSPL5, 0}, {oidSPL6, 0}, {oidSPL7, 0},
		{oidUcodeSPL, int(tcb.Microcode)},
	} {
		e, err := intExt(iv.oid, iv.v)
		if err != nil {
			return nil, err
		}
		exts = append(exts, e)
	}
	exts = append(exts, pkix.Extension{Id: oidHWID, Value: chipID[:]})
	return exts, nil
}

func (p *Platform) mintCerts() error {
	// Every certificate is signed RSASSA-PSS/SHA-384 with MGF1-SHA-384 and a
	// 48-byte salt (x509 uses PSSSaltLengthEqualsHash), as AMD signs.
	arkT := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               subject("ARK-"+Product, "cloudra simulated ARK - NOT AMD"),
		NotBefore:             NotBefore,
		NotAfter:              NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    x509.SHA384WithRSAPSS,
	}
	der, err := x509.CreateCertificate(rand.Reader, arkT, arkT, &p.arkKey.PublicKey, p.arkKey)
	if err != nil {
		return fmt.Errorf("snpsim: ARK: %w", err)
	}
	if p.ark, err = x509.ParseCertificate(der); err != nil {
		return err
	}
	askT := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               subject("SEV-"+Product, "cloudra simulated ASK - NOT AMD"),
		NotBefore:             NotBefore,
		NotAfter:              NotAfter,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SignatureAlgorithm:    x509.SHA384WithRSAPSS,
	}
	if der, err = x509.CreateCertificate(rand.Reader, askT, p.ark, &p.askKey.PublicKey, p.arkKey); err != nil {
		return fmt.Errorf("snpsim: ASK: %w", err)
	}
	if p.ask, err = x509.ParseCertificate(der); err != nil {
		return err
	}
	exts, err := vcekExtensions(p.tcb, p.chipID)
	if err != nil {
		return fmt.Errorf("snpsim: VCEK extensions: %w", err)
	}
	vcekT := &x509.Certificate{
		SerialNumber:       big.NewInt(0), // KDS leaves have serial 0
		Subject:            subject("SEV-VCEK", "cloudra simulated VCEK - NOT AMD"),
		NotBefore:          NotBefore,
		NotAfter:           NotAfter,
		ExtraExtensions:    exts,
		SignatureAlgorithm: x509.SHA384WithRSAPSS,
	}
	if der, err = x509.CreateCertificate(rand.Reader, vcekT, p.ask, &p.vcekKey.PublicKey, p.askKey); err != nil {
		return fmt.Errorf("snpsim: VCEK: %w", err)
	}
	if p.vcek, err = x509.ParseCertificate(der); err != nil {
		return err
	}
	return nil
}

// ARK returns the simulated root. Callers must not modify it.
func (p *Platform) ARK() *x509.Certificate { return p.ark }

// ASK returns the simulated intermediate. Callers must not modify it.
func (p *Platform) ASK() *x509.Certificate { return p.ask }

// VCEK returns the simulated chip's VCEK at the platform TCB. Callers must
// not modify it.
func (p *Platform) VCEK() *x509.Certificate { return p.vcek }

// ChipID returns the simulated CHIP_ID (= the VCEK's HWID extension).
func (p *Platform) ChipID() [64]byte { return p.chipID }

// TCB returns the platform TCB (the VCEK's SPLs).
func (p *Platform) TCB() TCB { return p.tcb }

// Measurement returns the simulated guest's launch digest.
func (p *Platform) Measurement() [48]byte { return p.measurement }

// CertTable returns the extended-report certificate table (VCEK, ASK,
// ARK), as a host would supply it.
func (p *Platform) CertTable() []byte { return bytes.Clone(p.certTable) }

// CRL returns an empty ARK-signed CRL for the ASK/VCEK side, as KDS serves
// at /vcek/v1/Milan/crl, valid from thisUpdate for 7 days.
func (p *Platform) CRL(thisUpdate time.Time) ([]byte, error) {
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:             big.NewInt(1),
		ThisUpdate:         thisUpdate,
		NextUpdate:         thisUpdate.Add(7 * 24 * time.Hour),
		SignatureAlgorithm: x509.SHA384WithRSAPSS,
	}, p.ark, p.arkKey)
	if err != nil {
		return nil, fmt.Errorf("snpsim: CRL: %w", err)
	}
	return der, nil
}
