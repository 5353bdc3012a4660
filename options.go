package cloudra

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Options are the inputs of a verification that are neither evidence nor
// collateral nor policy. Verification never reads the clock: Time is required.
type Options struct {
	// Time is the instant at which certificates, CRLs and collateral must be
	// valid. Required (verifiers return ErrNoTime for the zero time).
	Time time.Time
	// AllowTestRoots trusts the roots of cloudra's simulated platforms in
	// addition to the vendors' pinned roots. Never set it in production.
	AllowTestRoots bool
}

// ErrNoTime is returned when Options.Time is zero.
var ErrNoTime = errors.New("no verification time given")

// Collateral is a set of certificates, CRLs and documents that a verifier may
// use, sorted by content rather than by file name. Nothing in it is trusted
// by being there: roots are pinned by each platform.
type Collateral struct {
	Certificates []*x509.Certificate
	CRLs         []*x509.RevocationList
	// Documents are other signed collateral (PCS TCB Info, QE Identity, JWKS)
	// kept as raw bytes for their platform's parser.
	Documents []Document
	// Sources maps a SHA-256 hex of the raw bytes to where the item came from
	// (a file path, a URL, "bundle"), for explanations.
	Sources map[string]string
	// Unreadable lists items that are recognisably collateral (a PEM
	// CERTIFICATE or X509 CRL block, a DER certificate or CRL, PCS JSON)
	// but failed to parse: a corrupt VCEK is reported, not silently
	// ignored. Verification results carry one warning per item.
	Unreadable []UnreadableItem

	// certIdx, crlIdx and unreadableIdx index Certificates, CRLs and
	// Unreadable by their bytes (see addRaw).
	certIdx, crlIdx, unreadableIdx map[string]int
}

// UnreadableItem is one collateral item that could not be read.
type UnreadableItem struct {
	Source string // a file path, "bundle:<name>", a URL
	Reason string
}

// AddUnreadable records an unreadable item unless it is already recorded.
func (c *Collateral) AddUnreadable(it UnreadableItem) {
	key := func(u UnreadableItem) []byte { return []byte(u.Source + "\x00" + u.Reason) }
	if !addRaw(&c.unreadableIdx, "u", key(it), len(c.Unreadable), func(i int) []byte { return key(c.Unreadable[i]) }) {
		return
	}
	c.Unreadable = append(c.Unreadable, it)
}

// Document is a raw collateral document with its detected kind.
type Document struct {
	// Kind is "tcb-info", "qe-identity", "jwks", … (see collateral.Classify).
	Kind string
	Raw  []byte
	// IssuerChain is the PEM issuer chain that came with it (PCS headers).
	IssuerChain []byte
	Source      string
}

// AddCertificate adds c unless a certificate with identical bytes is present.
func (c *Collateral) AddCertificate(cert *x509.Certificate) {
	if !addRaw(&c.certIdx, "c", cert.Raw, len(c.Certificates), func(i int) []byte { return c.Certificates[i].Raw }) {
		return
	}
	c.Certificates = append(c.Certificates, cert)
}

// AddCRL adds a CRL unless identical bytes are present.
func (c *Collateral) AddCRL(crl *x509.RevocationList) {
	if !addRaw(&c.crlIdx, "r", crl.Raw, len(c.CRLs), func(i int) []byte { return c.CRLs[i].Raw }) {
		return
	}
	c.CRLs = append(c.CRLs, crl)
}

// smallSet is the size below which a set is searched directly rather than
// through its index.
const smallSet = 16

// addRaw reports whether raw is new among the n items at(i), recording it
// at position n in the index when it is. The index finds items by their
// exact bytes, so that adding n items costs linear time, not n²
// comparisons (a bundle may carry thousands of certificates); it is built
// once a set passes smallSet items. Each entry remembers its position and
// is checked against the slice on use, and an index whose size differs
// from the slice's is rebuilt, so a set whose slices were changed by hand
// is re-indexed rather than trusted.
func addRaw(idx *map[string]int, tag string, raw []byte, n int, at func(int) []byte) bool {
	if n < smallSet {
		for i := 0; i < n; i++ {
			if string(at(i)) == string(raw) {
				return false
			}
		}
		return true
	}
	m := *idx
	if len(m) != n {
		m = make(map[string]int, 2*n)
		for i := 0; i < n; i++ {
			m[tag+string(at(i))] = i
		}
		*idx = m
	}
	if i, ok := m[tag+string(raw)]; ok && i < n && string(at(i)) == string(raw) {
		return false
	}
	m[tag+string(raw)] = n
	return true
}

// Merge adds every item of o into c.
func (c *Collateral) Merge(o *Collateral) {
	if o == nil {
		return
	}
	for _, x := range o.Certificates {
		c.AddCertificate(x)
	}
	for _, x := range o.CRLs {
		c.AddCRL(x)
	}
	c.Documents = append(c.Documents, o.Documents...)
	for _, x := range o.Unreadable {
		c.AddUnreadable(x)
	}
	for k, v := range o.Sources {
		if c.Sources == nil {
			c.Sources = map[string]string{}
		}
		c.Sources[k] = v
	}
}

// CollateralRef names one missing item of collateral and where it is served.
type CollateralRef struct {
	What string // "VCEK for Milan chip 3ac3…", "TCB Info for FMSPC 00906ed50000"
	URL  string // where the collateral fetcher can get it
}

// MissingCollateralError says which collateral is needed to decide. A caller
// fetches the URLs (collateral.FetchRefs) and verifies again, or reports
// that it could not decide.
type MissingCollateralError struct {
	Items []CollateralRef
	// Unreadable are the collateral items at hand that could not be read;
	// one of them may be the missing item (a corrupt VCEK file).
	Unreadable []UnreadableItem
}

func (e *MissingCollateralError) Error() string {
	var names []string
	for _, it := range e.Items {
		names = append(names, it.What)
	}
	msg := "missing collateral: " + strings.Join(names, "; ")
	if len(e.Unreadable) > 0 {
		var bad []string
		for _, u := range e.Unreadable {
			bad = append(bad, u.Source+": "+u.Reason)
		}
		msg += fmt.Sprintf("; %d unreadable collateral item(s) found, which may be it: %s", len(bad), strings.Join(bad, "; "))
	}
	return msg
}
