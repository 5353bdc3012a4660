// Package sevsnptest is a forge kit for tests: it mints AMD-like
// certificate authorities (RSA-PSS ARK, ASK, ASVK), VCEKs and VLEKs with
// overridable fields, CRLs, and signed ATTESTATION_REPORTs.
//
// Nothing minted here is trusted by a verifier unless the test installs the
// ARK with sevsnp.Roots.WithTestARK and sets Options.AllowTestRoots. Shipped
// code never imports this package.
package sevsnptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"math/big"
	"time"
)

// AMD is a fake AMD PKI for one product line.
type AMD struct {
	Product                 string
	ARK, ASK, ASVK          *x509.Certificate
	ARKKey, ASKKey, ASVKKey *rsa.PrivateKey
	NotBefore, NotAfter     time.Time
}

// CAOptions override fields of the minted CAs.
type CAOptions struct {
	NotBefore, NotAfter time.Time // default: 2020-01-01 .. 2045-01-01
	KeyBits             int       // default 2048 (AMD uses 4096; tests need speed)
	// ASKNotCA mints an ASK without CA:TRUE (BasicConstraints test).
	ASKNotCA bool
	// ASKSignatureAlgorithm overrides RSASSA-PSS SHA-384 for the ASK.
	ASKSignatureAlgorithm x509.SignatureAlgorithm
}

func name(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"cloudra test AMD"}, OrganizationalUnit: []string{"Engineering"}}
}

// NewAMD mints ARK-<product>, SEV-<product> and SEV-VLEK-<product>.
func NewAMD(product string, o CAOptions) (*AMD, error) {
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.KeyBits == 0 {
		o.KeyBits = 2048
	}
	a := &AMD{Product: product, NotBefore: o.NotBefore, NotAfter: o.NotAfter}
	var err error
	for _, k := range []**rsa.PrivateKey{&a.ARKKey, &a.ASKKey, &a.ASVKKey} {
		if *k, err = rsa.GenerateKey(rand.Reader, o.KeyBits); err != nil {
			return nil, err
		}
	}
	ark := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: name("ARK-" + product), NotBefore: o.NotBefore, NotAfter: o.NotAfter,
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm: x509.SHA384WithRSAPSS,
	}
	if a.ARK, err = create(ark, ark, &a.ARKKey.PublicKey, a.ARKKey); err != nil {
		return nil, err
	}
	for i, x := range []struct {
		cn  string
		key *rsa.PrivateKey
		out **x509.Certificate
	}{{"SEV-" + product, a.ASKKey, &a.ASK}, {"SEV-VLEK-" + product, a.ASVKKey, &a.ASVK}} {
		t := &x509.Certificate{
			SerialNumber: big.NewInt(int64(2 + i)), Subject: name(x.cn), NotBefore: o.NotBefore, NotAfter: o.NotAfter,
			BasicConstraintsValid: true, IsCA: true, MaxPathLen: 0, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign,
			SignatureAlgorithm: x509.SHA384WithRSAPSS,
		}
		if i == 0 && o.ASKNotCA {
			t.IsCA, t.MaxPathLenZero, t.KeyUsage = false, false, x509.KeyUsageDigitalSignature
		}
		if i == 0 && o.ASKSignatureAlgorithm != 0 {
			t.SignatureAlgorithm = o.ASKSignatureAlgorithm
		}
		if *x.out, err = create(t, a.ARK, &x.key.PublicKey, a.ARKKey); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func create(tmpl, parent *x509.Certificate, pub any, priv crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// AMD extension OIDs (arc 1.3.6.1.4.1.3704.1).
var (
	OIDStructVersion = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 1}
	OIDProductName   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 2}
	OIDHWID          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 4}
	OIDCSPID         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 5}
)

// OIDSPL returns 1.3.6.1.4.1.3704.1.3.n.
func OIDSPL(n int) asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, n}
}

// TCB is a set of SPLs (Turin adds FMC).
type TCB struct{ FMC, Bootloader, TEE, SNP, Microcode uint8 }

// Bytes encodes t as TCB_VERSION in the product's layout (SEV-SNP ABI spec, TCB_VERSION).
func (t TCB) Bytes(product string) uint64 {
	var b [8]byte
	if product == "Turin" {
		b[0], b[1], b[2], b[3], b[7] = t.FMC, t.Bootloader, t.TEE, t.SNP, t.Microcode
	} else {
		b[0], b[1], b[6], b[7] = t.Bootloader, t.TEE, t.SNP, t.Microcode
	}
	return binary.LittleEndian.Uint64(b[:])
}

// LeafOptions describe a VCEK or VLEK.
type LeafOptions struct {
	VLEK        bool
	ProductName string // default: Product ("Milan-B0" style names allowed)
	HWID        []byte // VCEK: default none (set it); nil for VLEK
	CSPID       string // VLEK: default "CN=test.example"
	TCB         TCB
	NotBefore   time.Time // default: CA NotBefore
	NotAfter    time.Time // default: CA NotAfter
	CommonName  string    // default SEV-VCEK / SEV-VLEK
	// Issuer overrides the issuing CA (default ASK for a VCEK, ASVK for a VLEK).
	Issuer    *x509.Certificate
	IssuerKey *rsa.PrivateKey
	// Key is the leaf key (default: a fresh P-384 key).
	Key *ecdsa.PrivateKey
	// OmitHWID and OmitSPL drop extensions; ExtraExtensions adds more.
	OmitHWID        bool
	ExtraExtensions []pkix.Extension
	Serial          int64
	// CA adds critical basic constraints CA:TRUE (AMD's leaves carry no
	// basic constraints); KeyUsage, when non-zero, adds a key usage
	// extension (AMD's leaves carry none).
	CA       bool
	KeyUsage x509.KeyUsage
}

func derInt(v int) []byte {
	b, _ := asn1.Marshal(v)
	return b
}

func derIA5(s string) []byte {
	b, _ := asn1.MarshalWithParams(s, "ia5")
	return b
}

// Leaf mints a VCEK or VLEK and returns it with its key.
func (a *AMD) Leaf(o LeafOptions) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if o.Key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		o.Key = k
	}
	if o.ProductName == "" {
		o.ProductName = a.Product
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = a.NotBefore
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = a.NotAfter
	}
	cn, issuer, ikey := "SEV-VCEK", a.ASK, a.ASKKey
	if o.VLEK {
		cn, issuer, ikey = "SEV-VLEK", a.ASVK, a.ASVKKey
		if o.CSPID == "" {
			o.CSPID = "CN=test.example"
		}
	}
	if o.CommonName != "" {
		cn = o.CommonName
	}
	if o.Issuer != nil {
		issuer, ikey = o.Issuer, o.IssuerKey
	}
	ext := []pkix.Extension{
		{Id: OIDStructVersion, Value: derInt(0)},
		{Id: OIDProductName, Value: derIA5(o.ProductName)},
		{Id: OIDSPL(1), Value: derInt(int(o.TCB.Bootloader))},
		{Id: OIDSPL(2), Value: derInt(int(o.TCB.TEE))},
		{Id: OIDSPL(3), Value: derInt(int(o.TCB.SNP))},
		{Id: OIDSPL(8), Value: derInt(int(o.TCB.Microcode))},
	}
	if a.Product == "Turin" {
		ext = append(ext, pkix.Extension{Id: OIDSPL(9), Value: derInt(int(o.TCB.FMC))})
	}
	if !o.VLEK && !o.OmitHWID && o.HWID != nil {
		ext = append(ext, pkix.Extension{Id: OIDHWID, Value: o.HWID})
	}
	if o.VLEK {
		ext = append(ext, pkix.Extension{Id: OIDCSPID, Value: derIA5(o.CSPID)})
	}
	ext = append(ext, o.ExtraExtensions...)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(o.Serial), Subject: name(cn), NotBefore: o.NotBefore, NotAfter: o.NotAfter,
		SignatureAlgorithm: x509.SHA384WithRSAPSS, ExtraExtensions: ext,
		BasicConstraintsValid: o.CA, IsCA: o.CA, KeyUsage: o.KeyUsage,
	}
	c, err := create(tmpl, issuer, &o.Key.PublicKey, ikey)
	return c, o.Key, err
}

// CRL mints an ARK-signed CRL (signer overrides the ARK key when non-nil).
func (a *AMD) CRL(thisUpdate, nextUpdate time.Time, signer *rsa.PrivateKey, revoked ...*big.Int) (*x509.RevocationList, error) {
	if signer == nil {
		signer = a.ARKKey
	}
	t := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: thisUpdate, NextUpdate: nextUpdate, SignatureAlgorithm: x509.SHA384WithRSAPSS}
	for _, s := range revoked {
		t.RevokedCertificateEntries = append(t.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, t, a.ARK, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseRevocationList(der)
}

// Report offsets (SEV-SNP ABI spec, ATTESTATION_REPORT).
const (
	OffVersion      = 0x000
	OffGuestSVN     = 0x004
	OffPolicy       = 0x008
	OffVMPL         = 0x030
	OffSigAlgo      = 0x034
	OffCurrentTCB   = 0x038
	OffPlatformInfo = 0x040
	OffSignerInfo   = 0x048
	OffReportData   = 0x050
	OffMeasurement  = 0x090
	OffHostData     = 0x0C0
	OffIDKeyDigest  = 0x0E0
	OffAuthorKey    = 0x110
	OffReportedTCB  = 0x180
	OffCPUID        = 0x188
	OffChipID       = 0x1A0
	OffCommittedTCB = 0x1E0
	OffCurrentVer   = 0x1E8 // build, minor, major
	OffCommittedVer = 0x1EC
	OffLaunchTCB    = 0x1F0
	OffSignature    = 0x2A0
	ReportSize      = 0x4A0
)

// ReportOptions describe a report to forge.
type ReportOptions struct {
	Version  uint32 // default 3
	Product  string // sets CPUID for v3+: Milan 19/01, Genoa 19/11, Turin 1A/02
	Policy   uint64 // default 0x30000 (SMT, reserved bit 17)
	VMPL     uint32
	ChipID   [64]byte
	TCB      TCB // CURRENT, REPORTED, COMMITTED and LAUNCH
	VLEK     bool
	Data     [64]byte
	Measure  [48]byte
	Firmware [3]uint8 // build, minor, major; default 1.55.29
}

// NewReport returns an unsigned report with the given fields.
func NewReport(o ReportOptions) []byte {
	if o.Version == 0 {
		o.Version = 3
	}
	if o.Policy == 0 {
		o.Policy = 0x30000
	}
	if o.Firmware == ([3]uint8{}) {
		o.Firmware = [3]uint8{29, 55, 1}
	}
	b := make([]byte, ReportSize)
	le := binary.LittleEndian
	le.PutUint32(b[OffVersion:], o.Version)
	le.PutUint64(b[OffPolicy:], o.Policy)
	le.PutUint32(b[OffVMPL:], o.VMPL)
	le.PutUint32(b[OffSigAlgo:], 1)
	tcb := o.TCB.Bytes(o.Product)
	for _, off := range []int{OffCurrentTCB, OffReportedTCB, OffCommittedTCB, OffLaunchTCB} {
		le.PutUint64(b[off:], tcb)
	}
	le.PutUint64(b[OffPlatformInfo:], 1)
	if o.VLEK {
		le.PutUint32(b[OffSignerInfo:], 1<<2)
	}
	copy(b[OffReportData:], o.Data[:])
	copy(b[OffMeasurement:], o.Measure[:])
	if o.Version >= 3 {
		switch o.Product {
		case "Milan":
			b[OffCPUID], b[OffCPUID+1], b[OffCPUID+2] = 0x19, 0x01, 0x01
		case "Genoa":
			b[OffCPUID], b[OffCPUID+1], b[OffCPUID+2] = 0x19, 0x11, 0x01
		case "Turin":
			b[OffCPUID], b[OffCPUID+1], b[OffCPUID+2] = 0x1A, 0x02, 0x00
		}
	}
	copy(b[OffChipID:], o.ChipID[:])
	copy(b[OffCurrentVer:], o.Firmware[:])
	copy(b[OffCommittedVer:], o.Firmware[:])
	return b
}

// Sign signs report[0:0x2A0] with key and writes R and S as 72-byte
// little-endian integers at 0x2A0 and 0x2E8.
func Sign(report []byte, key *ecdsa.PrivateKey) error {
	h := sha512.Sum384(report[:OffSignature])
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return err
	}
	PutLE(report[OffSignature:OffSignature+72], r)
	PutLE(report[OffSignature+72:OffSignature+144], s)
	return nil
}

// PutLE writes v little-endian into dst (zero-extended).
func PutLE(dst []byte, v *big.Int) {
	clear(dst)
	be := v.Bytes()
	for i := range be {
		dst[i] = be[len(be)-1-i]
	}
}

// CertTable builds a GHCB certificate table from (GUID, DER) pairs in order.
func CertTable(entries ...Entry) []byte {
	hdr := (len(entries) + 1) * 24
	out := make([]byte, hdr)
	for i, e := range entries {
		copy(out[i*24:], e.GUID[:])
		binary.LittleEndian.PutUint32(out[i*24+16:], uint32(len(out)))
		binary.LittleEndian.PutUint32(out[i*24+20:], uint32(len(e.Data)))
		out = append(out, e.Data...)
	}
	return out
}

// Entry is one certificate-table entry.
type Entry struct {
	GUID [16]byte
	Data []byte
}
