package nitro

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/boundedmap"
	"github.com/cloudra/cloudra/internal/certprofile"
)

// MaxCABundle bounds the cabundle. Real chains carry four CA certificates
// (root, regional, zonal, instance); a longer bundle is refused before any
// signature is checked, so that its cost stays bounded.
const MaxCABundle = 8

// Check names of the chain (docs/result.md).
const (
	checkParse     = "document.parse"
	checkRoot      = "chain.root-pinned"
	checkCABundle  = "chain.cabundle"
	checkLeaf      = "chain.leaf"
	checkValidity  = "chain.validity"
	checkSignature = "document.signature"
	checkTimestamp = "document.timestamp"
	checkNonce     = "document.nonce"
)

// chainCacheLimit bounds the cache of verified cabundles.
const chainCacheLimit = 1024

// chainError is a chain that does not verify: the check that failed, its
// class and why.
type chainError struct {
	check string
	class cloudra.Class
	msg   string
}

func chainFail(check string, format string, args ...any) *chainError {
	return &chainError{check: check, class: cloudra.ClassChain, msg: fmt.Sprintf(format, args...)}
}

// bundleKey identifies a cabundle by its exact bytes: each certificate's
// length and DER, in order.
func bundleKey(bundle [][]byte) [32]byte {
	h := sha256.New()
	var n [4]byte
	for _, c := range bundle {
		binary.BigEndian.PutUint32(n[:], uint32(len(c)))
		h.Write(n[:])
		h.Write(c)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// anchor returns the root cabundle[0] is, byte for byte: the pinned AWS
// root or, when allowed, a test root. Nothing the document carries is ever
// a root by itself (attestation_process.md §3.2.3, §3.2.4: the chain ends in
// the root AWS publishes).
func (v *Verifier) anchor(bundle [][]byte, allowTest bool) (*x509.Certificate, bool, *chainError) {
	first := bundle[0]
	if bytes.Equal(first, v.root.Raw) {
		return v.root, false, nil
	}
	if allowTest {
		for _, r := range v.testRoots {
			if bytes.Equal(first, r.Raw) {
				return r, true, nil
			}
		}
	}
	sum := sha256.Sum256(first)
	for i, c := range bundle[1:] {
		if bytes.Equal(c, v.root.Raw) {
			return nil, false, chainFail(checkRoot, "the pinned AWS Nitro Enclaves Root G1 is cabundle[%d], not cabundle[0]: the bundle must be root first (attestation_process.md §3.2.3)", i+1)
		}
	}
	return nil, false, chainFail(checkRoot, "cabundle[0] (%s, sha256 %s) is not the pinned AWS Nitro Enclaves Root G1 (sha256 %s)",
		subjectOf(first), hex.EncodeToString(sum[:]), RootSHA256)
}

// subjectOf names a certificate for a message, parsed or not.
func subjectOf(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "not a certificate"
	}
	return "CN=" + c.Subject.CommonName
}

// cabundle returns the verified CA certificates of bundle, root first:
// every link signed by the one above it with ecdsa-with-SHA384 under a P-384
// key, issuer names chained, each CA's basic constraints, key usage and path
// length holding for the CAs below it (attestation_process.md §3.2.3.2, §3.2.3.3;
// RFC 5280 §4.2.1.9, §4.2.1.3). The result does not depend on time, so it is
// cached by the bundle's bytes; validity is checked on every verification.
func (v *Verifier) cabundle(root *x509.Certificate, bundle [][]byte) ([]*x509.Certificate, *chainError) {
	key := bundleKey(bundle)
	v.mu.Lock()
	cas, ok := v.chains[key]
	v.mu.Unlock()
	if ok {
		return cas, nil
	}
	cas = make([]*x509.Certificate, len(bundle))
	cas[0] = root
	for i := 1; i < len(bundle); i++ {
		c, err := x509.ParseCertificate(bundle[i])
		if err != nil {
			return nil, chainFail(checkCABundle, "cabundle[%d]: %v", i, err)
		}
		if err := link(cas[i-1], c); err != nil {
			return nil, chainFail(checkCABundle, "cabundle[%d] (CN=%s): %v", i, c.Subject.CommonName, err)
		}
		cas[i] = c
	}
	// Each CA issues the CAs below it and, at the bottom, the leaf: the
	// CA at i has len-1-i CA certificates below it in the path.
	for i, c := range cas {
		if !criticalBasicConstraints(c) {
			return nil, chainFail(checkCABundle, "cabundle[%d] (CN=%s) does not mark basic constraints critical (RFC 5280 §4.2.1.9: a CA must)", i, c.Subject.CommonName)
		}
		if err := certprofile.IssuingCA(c, len(cas)-1-i); err != nil {
			return nil, chainFail(checkCABundle, "cabundle[%d] (CN=%s) cannot issue what is below it: %v", i, c.Subject.CommonName, err)
		}
	}
	boundedmap.Store(&v.mu, v.chains, chainCacheLimit, key, cas)
	return cas, nil
}

// oidBasicConstraints is id-ce-basicConstraints (RFC 5280 §4.2.1.9).
var oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}

func criticalBasicConstraints(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidBasicConstraints) {
			return e.Critical
		}
	}
	return false
}

// link checks that parent signed child, as the Nitro PKI does: the child's
// issuer is the parent's subject, the signature is ecdsa-with-SHA384 and
// verifies, and the child's key is EC P-384.
func link(parent, child *x509.Certificate) error {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return fmt.Errorf("issuer is not CN=%s", parent.Subject.CommonName)
	}
	if child.SignatureAlgorithm != x509.ECDSAWithSHA384 {
		return fmt.Errorf("signed %v; the Nitro PKI signs ecdsa-with-SHA384", child.SignatureAlgorithm)
	}
	if err := p384(child); err != nil {
		return err
	}
	if err := child.CheckSignatureFrom(parent); err != nil {
		return fmt.Errorf("signature by CN=%s: %v", parent.Subject.CommonName, err)
	}
	return nil
}

// p384 requires an EC P-384 key (every key of the Nitro PKI is one; the
// document's ES384 signature needs one).
func p384(c *x509.Certificate) error {
	k, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P384() {
		return fmt.Errorf("key is %s, not EC P-384", keyName(c))
	}
	return nil
}

func keyName(c *x509.Certificate) string {
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); ok {
		return "EC " + k.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
}

// leaf parses and checks the document's certificate under the bottom CA:
// the link, and an end entity (not a CA, key usage digitalSignature:
// attestation_process.md §3.2.3.2, §3.2.3.3).
func leaf(der []byte, issuer *x509.Certificate) (*x509.Certificate, *chainError) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, chainFail(checkLeaf, "certificate: %v", err)
	}
	if err := link(issuer, c); err != nil {
		return nil, chainFail(checkLeaf, "certificate (CN=%s): %v", c.Subject.CommonName, err)
	}
	if err := certprofile.EndEntity(c, true); err != nil {
		return nil, chainFail(checkLeaf, "certificate (CN=%s) is not an end entity: %v", c.Subject.CommonName, err)
	}
	return c, nil
}

// validity requires every certificate, root included, to be valid at t
// (RFC 5280 §4.1.2.5: both bounds inclusive). It returns the chain's
// window, the intersection of all.
func validity(certs []*x509.Certificate, t time.Time) (time.Time, time.Time, *chainError) {
	nb, na := certs[0].NotBefore, certs[0].NotAfter
	for i, c := range certs {
		if t.Before(c.NotBefore) {
			return nb, na, &chainError{check: checkValidity, class: cloudra.ClassFresh,
				msg: fmt.Sprintf("%s (CN=%s) is not valid before %s; verification time %s", role(i, len(certs)), c.Subject.CommonName, stamp(c.NotBefore), stamp(t))}
		}
		if t.After(c.NotAfter) {
			return nb, na, &chainError{check: checkValidity, class: cloudra.ClassFresh,
				msg: fmt.Sprintf("%s (CN=%s) expired at %s; verification time %s", role(i, len(certs)), c.Subject.CommonName, stamp(c.NotAfter), stamp(t))}
		}
		if c.NotBefore.After(nb) {
			nb = c.NotBefore
		}
		if c.NotAfter.Before(na) {
			na = c.NotAfter
		}
	}
	return nb, na, nil
}

func role(i, n int) string {
	switch i {
	case 0:
		return "the root"
	case n - 1:
		return "the leaf"
	}
	return fmt.Sprintf("cabundle[%d]", i)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
