package dcaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/cloudra/cloudra/internal/dcapbuild"
	"github.com/cloudra/cloudra/platform/dcap"
)

// Config shapes a forged Intel-like PKI and platform.
type Config struct {
	// Now is the centre of every validity window (certificates ±1 year,
	// collateral ±15 days).
	Now time.Time
	// Processor selects "Intel SGX PCK Processor CA" instead of Platform.
	Processor bool
	FMSPC     [6]byte
	PCEID     [2]byte
	CompSVN   [16]byte
	PCESVN    uint16
	// ExtDER, when set, replaces the PCK certificate's SGX extension value.
	ExtDER []byte
	// RootRawSubject, when set, is the root's DER name (e.g. exactly
	// Intel's).
	RootRawSubject []byte
}

// Kit is a forged Intel-like P-256 PKI: root, PCK CA, PCK leaf, TCB signer,
// plus an attestation key. It signs quotes and collateral.
type Kit struct {
	Config
	RootKey, CAKey, PCKKey, TCBKey, AttKey *ecdsa.PrivateKey
	Root, CA, PCK, TCBSigner               *x509.Certificate
}

func must[T any](v T, err error) T {
	if err != nil {
		panic("dcaptest: " + err.Error())
	}
	return v
}

func newKey() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) }

// DefaultConfig is a TDX-like platform at a fixed time.
func DefaultConfig() Config {
	return Config{
		Now:     time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC),
		FMSPC:   [6]byte{0xb0, 0xc0, 0x6f, 0, 0, 0},
		CompSVN: [16]byte{3, 3, 2, 2, 4, 1, 0, 5},
		PCESVN:  11,
	}
}

// New mints a PKI for c.
func New(c Config) *Kit {
	k := &Kit{Config: c, RootKey: newKey(), CAKey: newKey(), PCKKey: newKey(), TCBKey: newKey(), AttKey: newKey()}
	nb, na := c.Now.AddDate(-1, 0, 0), c.Now.AddDate(1, 0, 0)
	k.Root = k.cert(&x509.Certificate{Subject: name("Intel SGX Root CA"), RawSubject: c.RootRawSubject, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, NotBefore: nb.AddDate(-1, 0, 0), NotAfter: na.AddDate(20, 0, 0)}, nil, k.RootKey, k.RootKey)
	caName := dcap.PlatformCACN
	if c.Processor {
		caName = dcap.ProcessorCACN
	}
	k.CA = k.cert(&x509.Certificate{Subject: name(caName), IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, NotBefore: nb, NotAfter: na.AddDate(5, 0, 0)}, k.Root, k.RootKey, k.CAKey)
	ext := c.ExtDER
	if ext == nil {
		ext = k.ExtensionDER()
	}
	k.PCK = k.cert(&x509.Certificate{Subject: name("Intel SGX PCK Certificate"), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: nb, NotAfter: na,
		ExtraExtensions: []pkix.Extension{{Id: dcap.OIDSGXExtension(), Value: ext}}}, k.CA, k.CAKey, k.PCKKey)
	k.TCBSigner = k.cert(&x509.Certificate{Subject: name("Intel SGX TCB Signing"), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: nb, NotAfter: na}, k.Root, k.RootKey, k.TCBKey)
	return k
}

func name(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"Intel Corporation (forged for tests)"}}
}

// Issue mints a certificate from tmpl for key's public key, signed by
// parent (nil: self-signed) with parentKey; the serial is random. Tests use
// it to replace one of the kit's certificates by a variant (another role,
// key usage or validity) under the same key.
func (k *Kit) Issue(tmpl, parent *x509.Certificate, parentKey, key *ecdsa.PrivateKey) *x509.Certificate {
	return k.cert(tmpl, parent, parentKey, key)
}

func (k *Kit) cert(tmpl, parent *x509.Certificate, parentKey, key *ecdsa.PrivateKey) *x509.Certificate {
	tmpl.SerialNumber = must(rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)))
	if parent == nil {
		parent = tmpl
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey))
	return must(x509.ParseCertificate(der))
}

// ChainPEM is certification data type 5: leaf, intermediate, root, with the
// trailing NUL Intel's QE writes.
func (k *Kit) ChainPEM() []byte {
	return append(dcapbuild.PEMChain(k.PCK, k.CA, k.Root), 0)
}

// ExtensionDER encodes the SGX extension for the kit's platform values.
func (k *Kit) ExtensionDER() []byte {
	return ExtensionDER(func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
		Entry(b, []int{arc}, body)
	}, k.CompSVN, k.PCESVN, k.PCEID, k.FMSPC)
}

// Entry appends SEQUENCE { OID sgx-arc.arcs, value }.
func Entry(b *cryptobyte.Builder, arcs []int, value func(*cryptobyte.Builder)) {
	dcapbuild.Entry(b, arcs, value)
}

// ExtensionDER builds an SGX extension (zero PPID, CPUSVN = comps, SGX type
// Scalable); top adds one top-level entry (tests pass a wrapper that drops,
// duplicates or alters entries).
func ExtensionDER(top func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)), comps [16]byte, pcesvn uint16, pceid [2]byte, fmspc [6]byte) []byte {
	return must(dcapbuild.ExtensionDERFunc(&dcap.PCKExtension{
		CompSVN: comps, PCESVN: pcesvn, CPUSVN: comps, PCEID: pceid, FMSPC: fmspc, SGXType: dcap.SGXTypeScalable,
	}, top))
}

// Quote is a quote under construction. Bytes serialises it, computing the
// QE binding and both signatures unless overridden.
type Quote struct {
	Header dcap.Header
	// BodyType is the v5 body type (2 or 3); ignored for v3/v4.
	BodyType uint16
	// Body is the raw report body (384, 584 or 648 bytes).
	Body     []byte
	QEReport dcap.EnclaveReport
	AuthData []byte
	CertType uint16
	CertData []byte
	AttKey   *ecdsa.PrivateKey
	PCKKey   *ecdsa.PrivateKey
	// KeepQEReportData keeps QEReport.ReportData instead of binding it to
	// the attestation key.
	KeepQEReportData bool
	// AttKeyRaw, when set, is written as the attestation key instead of
	// AttKey's public key (the quote is still signed with AttKey).
	AttKeyRaw []byte
}

// TDBody is a default TD report body: SEPT_VE_DISABLE, an XFAM, a module of
// major version 1 and the given report data.
func TDBody(v15 bool) *dcap.TDReport {
	r := &dcap.TDReport{V15: v15}
	r.TEETCBSVN = [16]byte{6, 1, 3}
	binary.LittleEndian.PutUint64(r.TDAttributes[:], dcap.TDAttrSEPTVEDisable)
	r.XFAM = [8]byte{0xe7, 0x02, 0x06}
	for i := range r.MRTD {
		r.MRTD[i] = byte(i)
	}
	if v15 {
		r.TEETCBSVN2 = r.TEETCBSVN
	}
	return r
}

// EnclaveBody is a default production enclave body (INIT|MODE64BIT).
func EnclaveBody() *dcap.EnclaveReport {
	r := &dcap.EnclaveReport{}
	r.Attributes = [16]byte{0x05, 8: 0xe7}
	r.MREnclave[0], r.MRSigner[0] = 0xee, 0x55
	return r
}

// QE report defaults (match QEIdentity's defaults).
var (
	QEMRSigner = [32]byte{0xdc, 0x9e, 0x2a, 0x7c}
	QEAttrs    = [16]byte{0x11}
)

func (k *Kit) quote(version uint16, tee uint32, body []byte, qeProdID uint16) *Quote {
	q := &Quote{
		Header:   dcap.Header{Version: version, AttestationKeyType: dcap.AttestationKeyECDSAP256, TEEType: tee, QEVendorID: dcap.IntelQEVendorID()},
		Body:     body,
		AuthData: make([]byte, 32),
		CertType: dcap.CertTypePCKChain,
		CertData: k.ChainPEM(),
		AttKey:   k.AttKey,
		PCKKey:   k.PCKKey,
	}
	for i := range q.AuthData {
		q.AuthData[i] = byte(i)
	}
	q.QEReport.MRSigner = QEMRSigner
	q.QEReport.Attributes = QEAttrs
	q.QEReport.ISVProdID = qeProdID
	q.QEReport.ISVSVN = 8
	return q
}

// TDQuote returns a TDX quote: v4 (TD 1.0) or v5 with body type 2 or 3.
func (k *Kit) TDQuote(version uint16, v15 bool) *Quote {
	q := k.quote(version, dcap.TEETypeTDX, TDBody(v15).Marshal(), 2)
	q.BodyType = dcap.BodyTypeTD10
	if v15 {
		q.BodyType = dcap.BodyTypeTD15
	}
	return q
}

// SGXQuote returns an SGX quote v3.
func (k *Kit) SGXQuote() *Quote {
	q := k.quote(3, dcap.TEETypeSGX, EnclaveBody().Marshal(), 1)
	q.Header.QESVN, q.Header.PCESVN = 8, k.PCESVN
	return q
}

func sign(key *ecdsa.PrivateKey, msg []byte) []byte {
	h := sha256.Sum256(msg)
	r, s := must2(ecdsa.Sign(rand.Reader, key, h[:]))
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

func must2(r, s *big.Int, err error) (*big.Int, *big.Int) {
	if err != nil {
		panic("dcaptest: " + err.Error())
	}
	return r, s
}

func rawKey(k *ecdsa.PublicKey) []byte {
	b := must(k.Bytes()) // 0x04 ‖ X ‖ Y
	return b[1:]
}

// Bytes serialises and signs the quote.
func (q *Quote) Bytes() []byte {
	h := q.Header
	b := binary.LittleEndian.AppendUint16(nil, h.Version)
	b = binary.LittleEndian.AppendUint16(b, h.AttestationKeyType)
	b = binary.LittleEndian.AppendUint32(b, h.TEEType)
	b = binary.LittleEndian.AppendUint16(b, h.QESVN)
	b = binary.LittleEndian.AppendUint16(b, h.PCESVN)
	b = append(b, h.QEVendorID[:]...)
	b = append(b, h.UserData[:]...)
	if h.Version == 5 {
		b = binary.LittleEndian.AppendUint16(b, q.BodyType)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(q.Body)))
	}
	b = append(b, q.Body...)
	att := q.AttKeyRaw
	if att == nil {
		att = rawKey(&q.AttKey.PublicKey)
	}
	qe := q.QEReport
	if !q.KeepQEReportData {
		d := sha256.Sum256(append(append([]byte{}, att...), q.AuthData...))
		qe.ReportData = [64]byte{}
		copy(qe.ReportData[:], d[:])
	}
	qeRaw := qe.Marshal()
	inner := dcapbuild.QECertData(qeRaw, sign(q.PCKKey, qeRaw), q.AuthData, q.CertType, q.CertData)
	return dcapbuild.AppendSignatureData(b, sign(q.AttKey, b), att, h.Version != 3, inner)
}
