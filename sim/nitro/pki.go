package nitrosim

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Levels of a chain, root first: the index of a certificate in
// [Chain.Certs] and the level a [ChainOptions.Template] hook is called
// with.
const (
	LevelRoot = iota
	LevelRegional
	LevelZonal
	LevelInstance
	LevelLeaf
	Levels // number of levels
)

var levelNames = [Levels]string{"root", "regional", "zonal", "instance", "leaf"}

// Validity of the simulated root, AWS's root's own window.
var (
	RootNotBefore = time.Date(2019, 10, 28, 13, 28, 5, 0, time.UTC)
	RootNotAfter  = time.Date(2049, 10, 28, 14, 28, 5, 0, time.UTC)
)

// Validity of the certificates below the root, relative to the instant a
// chain is minted for (its document time), like the windows of AWS's
// certificates: the regional CA was issued days before and lasts about 20
// days, the zonal CA about 5 days, the instance CA a day, and the leaf,
// issued as the enclave started, 3 hours.
const (
	RegionalBefore = 5 * 24 * time.Hour
	RegionalLife   = 20*24*time.Hour + time.Hour
	ZonalBefore    = 8 * time.Hour
	ZonalLife      = 5*24*time.Hour + 14*time.Hour
	InstanceBefore = 15 * time.Minute
	InstanceLife   = 24 * time.Hour
	LeafBefore     = 3 * time.Second
	LeafLife       = 3 * time.Hour // from the document time
)

// PKI is a simulated AWS Nitro Attestation PKI for one enclave on one
// instance: a root, and the regional, zonal, instance and leaf keys and
// names below it. The same seed always yields the same keys, names and a
// byte-identical root; a chain minted for the same instant is
// byte-identical too.
type PKI struct {
	seed       []byte
	keys       [Levels]*ecdsa.PrivateKey
	root       *x509.Certificate
	regionalID string // 16 hex digits
	zonalID    string // 16 hex digits
	instanceID string // "i-" and 17 hex digits
	enclaveID  [8]byte
}

// NewPKI builds the simulated PKI for seed.
func NewPKI(seed []byte) (*PKI, error) {
	if len(seed) == 0 {
		return nil, errEmptySeed
	}
	p := &PKI{seed: bytes.Clone(seed)}
	for l := range Levels {
		k, err := deriveKey(p.seed, levelNames[l], elliptic.P384())
		if err != nil {
			return nil, err
		}
		p.keys[l] = k
	}
	var ids [8 + 8 + 9]byte
	if err := derive(p.seed, "identifiers", ids[:]); err != nil {
		return nil, err
	}
	p.regionalID = hex.EncodeToString(ids[0:8])
	p.zonalID = hex.EncodeToString(ids[8:16])
	p.instanceID = "i-" + hex.EncodeToString(ids[16:25])[:17]
	if err := derive(p.seed, "enclave", p.enclaveID[:]); err != nil {
		return nil, err
	}
	root, err := p.mint(LevelRoot, p.template(LevelRoot, time.Time{}), nil, p.keys[LevelRoot], p.keys[LevelRoot])
	if err != nil {
		return nil, err
	}
	p.root = root
	return p, nil
}

// Root returns the simulated root: the test root a verifier must be given.
// Callers must not modify it.
func (p *PKI) Root() *x509.Certificate { return p.root }

// InstanceID is the simulated EC2 instance's ID, "i-" and 17 hex digits.
func (p *PKI) InstanceID() string { return p.instanceID }

// ModuleID is the enclave's NSM module ID, as NSM names it:
// "<instance ID>-enc<16 hex digits>".
func (p *PKI) ModuleID() string {
	return p.instanceID + "-enc" + hex.EncodeToString(p.enclaveID[:])
}

// Chain is a minted certificate chain, root first, and the private key of
// each certificate.
type Chain struct {
	Certs [Levels]*x509.Certificate
	Keys  [Levels]crypto.Signer
}

// Root is the chain's root.
func (c *Chain) Root() *x509.Certificate { return c.Certs[LevelRoot] }

// Leaf is the certificate that signs documents.
func (c *Chain) Leaf() *x509.Certificate { return c.Certs[LevelLeaf] }

// LeafKey is the leaf's private key.
func (c *Chain) LeafKey() crypto.Signer { return c.Keys[LevelLeaf] }

// CABundle is the DER of the root, regional, zonal and instance
// certificates, root first: the document's cabundle.
func (c *Chain) CABundle() [][]byte {
	out := make([][]byte, 0, LevelLeaf)
	for _, cert := range c.Certs[:LevelLeaf] {
		out = append(out, bytes.Clone(cert.Raw))
	}
	return out
}

// Chain mints the chain of the PKI's enclave for a document made at at:
// the PKI's root, then regional, zonal, instance and leaf certificates
// whose windows ([RegionalBefore] …) contain at.
func (p *PKI) Chain(at time.Time) (*Chain, error) { return p.ForgeChain(at, ChainOptions{}) }

// KeyType chooses the key of one level of a forged chain.
type KeyType int

// Key types. The zero value is P-384, the only one AWS uses.
const (
	KeyP384 KeyType = iota
	KeyP256
	KeyP521
	KeyRSA2048
)

// ChainOptions are test aids: they forge chains a verifier must reject.
type ChainOptions struct {
	// Template, when set, is called with each level's template before the
	// certificate is minted (level LevelRoot … LevelLeaf) and may change
	// anything in it: an expired intermediate (NotAfter), a leaf with
	// IsCA, no KeyUsage, a MaxPathLen a longer chain violates, another
	// SignatureAlgorithm. Subjects are in tmpl.Subject.ExtraNames, in AWS's
	// attribute order; replace tmpl.Subject to rename. The root is
	// re-minted (and so differs from [PKI.Root]) only if the hook changes
	// it or Keys or Signers replace its key.
	Template func(level int, tmpl *x509.Certificate)
	// Keys chooses each level's key type. Non-P-384 keys are derived
	// from the seed too, except RSA keys, which are random.
	Keys [Levels]KeyType
	// Signers, where set, replaces a level's key outright.
	Signers [Levels]crypto.Signer
}

// ForgeChain mints a chain for at as Chain does, with the options' changes.
// It is a test aid.
func (p *PKI) ForgeChain(at time.Time, o ChainOptions) (*Chain, error) {
	at = at.UTC().Truncate(time.Second)
	c := &Chain{}
	for l := range Levels {
		k, err := p.levelKey(l, o)
		if err != nil {
			return nil, err
		}
		c.Keys[l] = k
	}
	for l := range Levels {
		tmpl := p.template(l, at)
		if o.Template != nil {
			o.Template(l, tmpl)
		}
		if l == LevelRoot {
			if o.Keys[l] == KeyP384 && o.Signers[l] == nil && o.Template == nil {
				c.Certs[l] = p.root
				continue
			}
			cert, err := p.mint(l, tmpl, nil, c.Keys[l], c.Keys[l])
			if err != nil {
				return nil, err
			}
			c.Certs[l] = cert
			continue
		}
		cert, err := p.mint(l, tmpl, c.Certs[l-1], c.Keys[l-1], c.Keys[l])
		if err != nil {
			return nil, err
		}
		c.Certs[l] = cert
	}
	return c, nil
}

func (p *PKI) levelKey(l int, o ChainOptions) (crypto.Signer, error) {
	if s := o.Signers[l]; s != nil {
		return s, nil
	}
	switch o.Keys[l] {
	case KeyP384:
		return p.keys[l], nil
	case KeyP256:
		return deriveKey(p.seed, levelNames[l]+" p256", elliptic.P256())
	case KeyP521:
		return deriveKey(p.seed, levelNames[l]+" p521", elliptic.P521())
	case KeyRSA2048:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("nitrosim: %s RSA key: %w", levelNames[l], err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("nitrosim: unknown key type %d", o.Keys[l])
}

// template is level l's certificate profile, mirroring AWS's certificates:
//
//	root      CA (critical, no path length), KU digitalSignature|keyCertSign|cRLSign (critical)
//	regional  CA pathlen 2 (critical), same KU (critical), CRL distribution point
//	zonal     CA pathlen 1 (critical), same KU (critical), CRL distribution point
//	instance  CA pathlen 0 (critical), KU keyCertSign (critical)
//	leaf      not a CA (critical), KU digitalSignature|nonRepudiation (not critical)
func (p *PKI) template(l int, at time.Time) *x509.Certificate {
	t := &x509.Certificate{
		SerialNumber:          p.serial(l, at),
		BasicConstraintsValid: true,
	}
	caKU := x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	crl := "http://crl.nitro.cloudra.invalid/crl/" + levelNames[l] + ".crl"
	switch l {
	case LevelRoot:
		t.Subject = name(attrC, "US", attrO, Organization, attrOU, "AWS", attrCN, RootCN)
		t.NotBefore, t.NotAfter = RootNotBefore, RootNotAfter
		t.IsCA, t.MaxPathLen, t.KeyUsage = true, -1, caKU
	case LevelRegional:
		t.Subject = name(attrC, "US", attrO, Organization, attrOU, "AWS",
			attrCN, p.regionalID+"."+Region+".aws.nitro-enclaves")
		t.NotBefore = at.Add(-RegionalBefore)
		t.NotAfter = t.NotBefore.Add(RegionalLife)
		t.IsCA, t.MaxPathLen, t.KeyUsage = true, 2, caKU
		t.CRLDistributionPoints = []string{crl}
	case LevelZonal:
		t.Subject = name(attrCN, p.zonalID+".zonal."+Region+".aws.nitro-enclaves",
			attrOU, "AWS", attrO, Organization, attrC, "US", attrST, "WA", attrL, "Seattle")
		t.NotBefore = at.Add(-ZonalBefore)
		t.NotAfter = t.NotBefore.Add(ZonalLife)
		t.IsCA, t.MaxPathLen, t.KeyUsage = true, 1, caKU
		t.CRLDistributionPoints = []string{crl}
	case LevelInstance:
		t.Subject = name(attrC, "US", attrST, "Washington", attrL, "Seattle", attrO, Organization,
			attrOU, "AWS", attrCN, p.instanceID+"."+Region+".aws.nitro-enclaves")
		t.NotBefore = at.Add(-InstanceBefore)
		t.NotAfter = t.NotBefore.Add(InstanceLife)
		t.IsCA, t.MaxPathLen, t.MaxPathLenZero, t.KeyUsage = true, 0, true, x509.KeyUsageCertSign
	case LevelLeaf:
		t.Subject = name(attrC, "US", attrST, "Washington", attrL, "Seattle", attrO, Organization,
			attrOU, "AWS", attrCN, p.ModuleID()+"."+Region+".aws")
		t.NotBefore = at.Add(-LeafBefore)
		t.NotAfter = at.Add(LeafLife)
		t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	return t
}

// serial is a level's serial number. The leaf's is AWS's layout: the
// enclave ID, four zero bytes and the issuing time in Unix seconds; the
// others are 16 bytes derived from the seed, the level and the instant.
func (p *PKI) serial(l int, at time.Time) *big.Int {
	var b [16]byte
	if l == LevelLeaf {
		copy(b[:8], p.enclaveID[:])
		binary.BigEndian.PutUint32(b[12:], uint32(at.Unix()))
	} else {
		label := "serial " + levelNames[l]
		if l != LevelRoot {
			label += " " + at.Format(time.RFC3339)
		}
		_ = derive(p.seed, label, b[:]) // HKDF-SHA-384 cannot fail for 16 bytes
	}
	b[0] = b[0]&0x7f | 0x01
	return new(big.Int).SetBytes(b[:])
}

// mint creates a certificate; a nil parent self-signs. A nil rand makes
// x509 sign ECDSA with RFC 6979 nonces, so the bytes are a function of the
// template and keys.
func (p *PKI) mint(l int, tmpl, parent *x509.Certificate, parentKey, key crypto.Signer) (*x509.Certificate, error) {
	if parent == nil {
		parent = tmpl
	}
	if l == LevelLeaf && tmpl.KeyUsage != 0 && !hasExtension(tmpl.ExtraExtensions, oidKeyUsage) {
		// AWS's leaf key usage is not critical; x509 marks the key usage
		// it writes critical, so write the extension here.
		ext, err := keyUsageExtension(tmpl.KeyUsage)
		if err != nil {
			return nil, err
		}
		t := *tmpl
		t.ExtraExtensions = append(slices.Clone(tmpl.ExtraExtensions), ext)
		tmpl = &t
	}
	der, err := x509.CreateCertificate(nil, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("nitrosim: %s certificate: %w", levelNames[l], err)
	}
	return x509.ParseCertificate(der)
}

var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

func hasExtension(exts []pkix.Extension, oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(exts, func(e pkix.Extension) bool { return e.Id.Equal(oid) })
}

// keyUsageExtension encodes a non-critical key usage extension: a BIT
// STRING whose bit i is x509.KeyUsage bit i, without trailing zero bits
// (RFC 5280 §4.2.1.3, X.690 §11.2.2).
func keyUsageExtension(ku x509.KeyUsage) (pkix.Extension, error) {
	var b [2]byte
	n := 0
	for i := range 9 {
		if ku&(1<<i) != 0 {
			b[i/8] |= 0x80 >> (i % 8)
			n = i + 1
		}
	}
	v, err := asn1.Marshal(asn1.BitString{Bytes: b[:(n+7)/8], BitLength: n})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("nitrosim: key usage: %w", err)
	}
	return pkix.Extension{Id: oidKeyUsage, Value: v}, nil
}

// Attribute types of AWS's subjects (RFC 5280 §4.1.2.4).
var (
	attrC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	attrST = asn1.ObjectIdentifier{2, 5, 4, 8}
	attrL  = asn1.ObjectIdentifier{2, 5, 4, 7}
	attrO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	attrOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	attrCN = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// name builds a subject from (type, value) pairs in the given order, as
// AWS orders them (the zonal CA's begins with its CN). Country is a
// PrintableString, every other attribute a UTF8String, as in AWS's.
func name(pairs ...any) pkix.Name {
	var n pkix.Name
	for i := 0; i+1 < len(pairs); i += 2 {
		oid := pairs[i].(asn1.ObjectIdentifier)
		v := pairs[i+1].(string)
		var val any = asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(v)}
		if oid.Equal(attrC) {
			val = asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(v)}
		}
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oid, Value: val})
	}
	return n
}
