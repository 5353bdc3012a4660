package sevsnp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cloudra/cloudra/internal/certprofile"
	"github.com/cloudra/cloudra/platform/sevsnp/roots"
)

// Roots are the trust anchors of a [Verifier]: AMD's ARKs pinned by
// fingerprint (with their ASK and ASVK), plus optional test ARKs that are
// used only when [cloudra.Options.AllowTestRoots] is set. A Roots value is
// immutable; With… methods return a copy.
type Roots struct {
	pinned map[string]*roots.Set
	test   map[string]*x509.Certificate
}

// DefaultRoots returns AMD's embedded Milan, Genoa and Turin roots, each
// checked against its pinned SHA-256 fingerprint when loaded (their
// signatures are checked by package roots' tests, and every chain checks
// the ASK or ASVK under its ARK).
func DefaultRoots() (*Roots, error) {
	sets, err := roots.Load()
	if err != nil {
		return nil, err
	}
	return &Roots{pinned: sets}, nil
}

// WithTestARK returns a copy of r that also knows a test (simulator) ARK for
// product. The verifier uses it only when Options.AllowTestRoots is true, and
// never for a product line's pinned chain otherwise.
func (r *Roots) WithTestARK(product string, ark *x509.Certificate) *Roots {
	n := &Roots{pinned: r.pinned, test: map[string]*x509.Certificate{}}
	for k, v := range r.test {
		n.test[k] = v
	}
	n.test[product] = ark
	return n
}

// anchor is one usable ARK for a product.
type anchor struct {
	ark   *x509.Certificate
	test  bool
	inter []*x509.Certificate // embedded intermediates (ASK, ASVK)
}

func (r *Roots) anchors(product string, allowTest bool) []anchor {
	var out []anchor
	if s, ok := r.pinned[product]; ok {
		out = append(out, anchor{ark: s.ARK, inter: []*x509.Certificate{s.ASK, s.ASVK}})
	}
	if allowTest {
		if a, ok := r.test[product]; ok {
			out = append(out, anchor{ark: a, test: true})
		}
	}
	return out
}

// Common names of AMD certificates (AMD KDS spec #57230).
const (
	cnVCEK = "SEV-VCEK"
	cnVLEK = "SEV-VLEK"
)

func intermediateCN(product string, vlek bool) string {
	if vlek {
		return "SEV-VLEK-" + product
	}
	return "SEV-" + product
}

// leafEntry is a parsed, cached VCEK or VLEK certificate.
type leafEntry struct {
	hash   [32]byte
	cert   *x509.Certificate
	ext    *Extensions
	extErr error
	pub    *ecdsa.PublicKey
	vlek   bool
	name   string // "VCEK sha256:…" for Result.Signer
}

func newLeafEntry(c *x509.Certificate, h [32]byte) *leafEntry {
	e := &leafEntry{hash: h, cert: c, vlek: c.Subject.CommonName == cnVLEK}
	kind := "VCEK"
	if e.vlek {
		kind = "VLEK"
	}
	e.name = kind + " sha256:" + hex.EncodeToString(h[:8])
	e.ext, e.extErr = ParseExtensions(c.Extensions)
	if pk, ok := c.PublicKey.(*ecdsa.PublicKey); ok && pk.Curve == elliptic.P384() {
		e.pub = pk
	}
	return e
}

// leafProblem returns why a leaf cannot sign reports, or "".
//
// A VCEK or VLEK signs attestation reports and nothing else: it is an end
// entity, never a CA, and never asserts keyCertSign or cRLSign. AMD's KDS
// issues VCEKs and VLEKs with no basic constraints and no key usage
// extension at all (AMD "Versioned Chip Endorsement Key (VCEK) Certificate
// and KDS Interface Specification" #57230, VCEK certificate fields; every
// real VCEK and VLEK observed carries only AMD's 1.3.6.1.4.1.3704.1
// extensions), so an absent key usage is accepted; one that is present must
// assert digitalSignature.
func (e *leafEntry) leafProblem() string {
	if e.extErr != nil {
		return e.extErr.Error()
	}
	if err := certprofile.EndEntity(e.cert, false); err != nil {
		return "leaf is not an end-entity signing certificate: " + err.Error()
	}
	switch {
	case e.pub == nil:
		return "public key is not ECDSA P-384"
	case !e.vlek && len(e.ext.HWID) == 0:
		return "VCEK without hwID extension"
	case !e.vlek && e.ext.CSPID != "":
		return "VCEK carries a csp_id extension"
	case e.vlek && e.ext.CSPID == "":
		return "VLEK without csp_id extension"
	case e.vlek && e.ext.HWID != nil:
		return "VLEK carries a hwID extension"
	}
	return ""
}

// chainEntry caches a verified path leaf → intermediate → ARK.
type chainEntry struct {
	inter     *x509.Certificate
	ark       *x509.Certificate
	test      bool
	notBefore time.Time // intersection of the three validity windows
	notAfter  time.Time
	detail    string // for the chain.ark-pinned check
}

func (c *chainEntry) validAt(t time.Time) bool {
	return !t.Before(c.notBefore) && !t.After(c.notAfter)
}

type chainKey struct {
	leaf    [32]byte
	product string
}

// chainError is a chain failure with its check name and class.
type chainError struct {
	check string
	fresh bool
	depth int // how far along the path the failure occurred
	msg   string
}

func (e *chainError) Error() string { return e.msg }

func chainErr(check string, fresh bool, format string, args ...any) *chainError {
	return &chainError{check: check, fresh: fresh, msg: fmt.Sprintf(format, args...)}
}

// errNoIntermediate means no ASK/ASVK candidate names the leaf's issuer.
var errNoIntermediate = errors.New("no intermediate")

// verifyChain checks leaf → intermediate → ARK at t against the anchors of
// product. Trust ends at the anchor ARK: an ARK among the candidates is
// never used as a root (and the pinned one is byte-identical anyway).
func verifyChain(leaf *leafEntry, product string, anchors []anchor, cands []*x509.Certificate, t time.Time) (*chainEntry, error) {
	wantCN := intermediateCN(product, leaf.vlek)
	// Keep the failure that got furthest along a path: an intermediate of
	// another ARK is less telling than a verified path that has expired.
	var firstErr *chainError
	found := false
	for _, a := range anchors {
		all := append(append([]*x509.Certificate(nil), a.inter...), cands...)
		tries := 0
		for _, in := range all {
			if in == nil || !bytes.Equal(in.RawSubject, leaf.cert.RawIssuer) {
				continue
			}
			if tries == maxIntermediateTries {
				break // the failures noted so far explain the verdict
			}
			tries++
			found = true
			ce, e := verifyPath(leaf, a, in, wantCN, t)
			if e == nil {
				return ce, nil
			}
			if firstErr == nil || e.depth > firstErr.depth {
				firstErr = e
			}
		}
	}
	if !found {
		return nil, errNoIntermediate
	}
	return nil, firstErr
}

// verifyPath checks the path leaf → in → a.ark at t. A failure says how far
// along the path it occurred: 1 the intermediate's names, 2 the
// intermediate, 3 the leaf, 4 the validity windows.
func verifyPath(leaf *leafEntry, a anchor, in *x509.Certificate, wantCN string, t time.Time) (*chainEntry, *chainError) {
	at := func(depth int, e *chainError) *chainError {
		e.depth = depth
		return e
	}
	if in.Subject.CommonName != wantCN {
		return nil, at(1, chainErr("chain.ask", false, "issuer %q of the %s is not %q (signer kind and intermediate disagree)", in.Subject.CommonName, leafKind(leaf), wantCN))
	}
	if !bytes.Equal(in.RawIssuer, a.ark.RawSubject) {
		return nil, at(1, chainErr("chain.ask", false, "%s is not issued by %s", in.Subject.CommonName, a.ark.Subject.CommonName))
	}
	// The ARK issues the ASK/ASVK, a CA: it must be a CA with keyCertSign
	// whose path length constraint, if any, allows one CA below it (AMD's
	// ARKs: CA:TRUE, no pathlen).
	if err := certprofile.IssuingCA(a.ark, 1); err != nil {
		return nil, at(2, chainErr("chain.ark-pinned", false, "%s cannot issue %s: %v", a.ark.Subject.CommonName, in.Subject.CommonName, err))
	}
	if in.SignatureAlgorithm != x509.SHA384WithRSAPSS {
		return nil, at(2, chainErr("chain.ask", false, "%s signed with %v, want RSASSA-PSS SHA-384", in.Subject.CommonName, in.SignatureAlgorithm))
	}
	if err := in.CheckSignatureFrom(a.ark); err != nil {
		return nil, at(2, chainErr("chain.ask", false, "%s does not verify under the pinned %s: %v", in.Subject.CommonName, a.ark.Subject.CommonName, err))
	}
	if !in.BasicConstraintsValid || !in.IsCA || in.KeyUsage&x509.KeyUsageCertSign == 0 || in.MaxPathLen > 0 {
		return nil, at(2, chainErr("chain.ask", false, "%s lacks CA:TRUE, pathlen 0 and keyCertSign", in.Subject.CommonName))
	}
	if leaf.cert.SignatureAlgorithm != x509.SHA384WithRSAPSS {
		return nil, at(3, chainErr("chain.leaf", false, "%s signed with %v, want RSASSA-PSS SHA-384", leafKind(leaf), leaf.cert.SignatureAlgorithm))
	}
	if err := leaf.cert.CheckSignatureFrom(in); err != nil {
		return nil, at(3, chainErr("chain.leaf", false, "%s does not verify under %s: %v", leafKind(leaf), in.Subject.CommonName, err))
	}
	ce := newChainEntry(a, in, leaf.cert)
	if !ce.validAt(t) {
		return nil, at(4, windowError(t, a.ark, in, leaf.cert))
	}
	return ce, nil
}

// newChainEntry is the verified path leaf → in → a.ark, valid in the
// intersection of the three validity windows.
func newChainEntry(a anchor, in, leaf *x509.Certificate) *chainEntry {
	ce := &chainEntry{inter: in, ark: a.ark, test: a.test, notBefore: a.ark.NotBefore, notAfter: a.ark.NotAfter,
		detail: a.ark.Subject.CommonName + " pinned by SHA-256"}
	if a.test {
		ce.detail = "TEST root " + a.ark.Subject.CommonName + " (allowed by AllowTestRoots)"
	}
	for _, c := range []*x509.Certificate{in, leaf} {
		if c.NotBefore.After(ce.notBefore) {
			ce.notBefore = c.NotBefore
		}
		if c.NotAfter.Before(ce.notAfter) {
			ce.notAfter = c.NotAfter
		}
	}
	return ce
}

// windowError names the first certificate of the path, from the ARK down,
// that is not valid at t.
func windowError(t time.Time, ark, in, leaf *x509.Certificate) *chainError {
	for _, c := range []struct {
		name string
		c    *x509.Certificate
	}{{"chain.ark-pinned", ark}, {"chain.ask", in}, {"chain.leaf", leaf}} {
		if t.Before(c.c.NotBefore) {
			return chainErr(c.name, true, "%s not yet valid at %s (notBefore %s)", c.c.Subject.CommonName, t.Format(time.RFC3339), c.c.NotBefore.Format(time.RFC3339))
		}
		if t.After(c.c.NotAfter) {
			return chainErr(c.name, true, "%s expired at %s (notAfter %s)", c.c.Subject.CommonName, t.Format(time.RFC3339), c.c.NotAfter.Format(time.RFC3339))
		}
	}
	return nil
}

func leafKind(l *leafEntry) string {
	if l.vlek {
		return cnVLEK
	}
	return cnVCEK
}

// crlEntry caches the signature check of a CRL under an ARK.
type crlKey struct {
	crl [32]byte
	ark [32]byte
}

func certHash(c *x509.Certificate) [32]byte { return sha256.Sum256(c.Raw) }
