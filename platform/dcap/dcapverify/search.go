package dcapverify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// Caps on the candidates of each kind that one verification tries. The
// collateral of a request may hold anything (a bundle travels with the
// evidence); candidates are chosen by what they are — a CRL by its issuer
// name, TCB Info by the FMSPC and id written in its JSON, a QE Identity by
// its id, a certificate by its subject — never by trying signatures, and at
// most this many of each kind are tried, in collateral order (a server
// merges the operator's collateral before the bundle's). Candidates beyond a
// cap are ignored with a warning in the result; when what a step needs is
// not among those tried, the step fails with class collateral
// ([ErrCandidateCap]). With the caps, the signature work of one
// verification is bounded by a constant whatever the collateral holds
// (docs/collateral.md, "Candidate caps").
const (
	// MaxTCBInfos bounds the TCB Info documents tried for the quote's
	// FMSPC and TEE. PCS serves one per FMSPC; a collateral folder may keep
	// the previous tcbEvaluationDataNumber or an early update beside it.
	MaxTCBInfos = 4
	// MaxQEIdentities bounds the QE Identity documents tried for the
	// quote's quoting enclave ("QE" or "TD_QE"), for the same reason.
	MaxQEIdentities = 4
	// MaxUnreadable bounds the documents of a kind whose FMSPC or id cannot
	// be read without a full parse: they are parsed only so that their
	// errors are reported, and cannot verify.
	MaxUnreadable = 4
	// MaxSigners bounds the "Intel SGX TCB Signing" certificates checked
	// against the root. Intel has issued two (the 2025 renewal kept the key
	// and serial), which must both be tried: the one valid at the
	// verification time is used.
	MaxSigners = 4
	// MaxCRLsPerIssuer bounds the CRLs tried per issuer (the PCK CA and the
	// root). PCS serves one per CA; a folder may keep the previous one.
	MaxCRLsPerIssuer = 4
	// MaxPCKLeaves bounds the PCK certificates with the quote's PCE-ID
	// tried against the QE report signature, for quotes whose
	// certification data names the platform (types 1–3): a platform has one
	// PCK certificate per TCB level that PCS served, usually a few.
	MaxPCKLeaves = 8
	// MaxPCKIssuers bounds the PCK CA certificates tried per PCK leaf.
	MaxPCKIssuers = 4
)

// ErrCandidateCap is wrapped when a step found nothing usable among the
// candidates it tried and more candidates of that kind were ignored (see
// the caps above). Its class is collateral.
var ErrCandidateCap = errors.New("dcapverify: more candidates than are tried")

// sigCounter, when set on an Engine, is called before each signature
// verification the collateral search makes (what is verified, by whom):
// tests count and deduplicate them.
type sigCounter func(kind string, signed, signer []byte)

// pick is the part of a collateral set that one verification of one PCK
// chain may use. Everything the collateral steps decide depends on it only,
// so it is also what the collateral cache is keyed by.
type pick struct {
	pckCRLs, rootCRLs []*x509.RevocationList
	signers           []*x509.Certificate
	tcb, qe           []cloudra.Document
	// tcbOther: the collateral holds TCB Info for the FMSPC and the other
	// TEE only; qeOther: the id of an identity for another enclave.
	tcbOther bool
	qeOther  string
	// capped records which kinds had candidates beyond their cap.
	pckCRLCapped, rootCRLCapped, signerCapped, tcbCapped, qeCapped bool
	// warnings say what was ignored.
	warnings []string
}

// choose indexes col for the verification of a quote of tee under chain c:
// one pass over the certificates, CRLs and documents, reading only names,
// FMSPCs and ids. chainOf parses a document's issuer chain (the Engine
// caches it).
func choose(col *cloudra.Collateral, tee pcs.TEE, c *dcap.PCKChain, chainOf func([]byte) []*x509.Certificate) *pick {
	p := &pick{}
	if col == nil {
		return p
	}
	var pckExtra, rootExtra int
	for _, l := range col.CRLs {
		switch string(l.RawIssuer) {
		case string(c.Intermediate.RawSubject):
			if len(p.pckCRLs) < MaxCRLsPerIssuer {
				p.pckCRLs = append(p.pckCRLs, l)
			} else {
				pckExtra++
			}
		case string(c.Root.RawSubject):
			if len(p.rootCRLs) < MaxCRLsPerIssuer {
				p.rootCRLs = append(p.rootCRLs, l)
			} else {
				rootExtra++
			}
		}
	}
	p.pckCRLCapped, p.rootCRLCapped = pckExtra > 0, rootExtra > 0
	p.warn(pckExtra, MaxCRLsPerIssuer, "CRLs issued by %q", c.Intermediate.Subject.CommonName)
	p.warn(rootExtra, MaxCRLsPerIssuer, "CRLs issued by %q", c.Root.Subject.CommonName)

	var tcbExtra, qeExtra int
	var tcbBad, qeBad []cloudra.Document
	wantQE := qeID(tee)
	for _, d := range col.Documents {
		if d.Kind == "tcb-info" || d.Kind == "" && bytes.Contains(d.Raw, []byte(`"tcbInfo"`)) {
			fmspcs := jsonStrings(d.Raw, "fmspc")
			switch {
			case len(fmspcs) == 0:
				// Documents of no kind are tried only when they read as
				// TCB Info, as before.
				if d.Kind != "" && len(tcbBad) < MaxUnreadable {
					tcbBad = append(tcbBad, d)
				}
			case !hasFMSPC(fmspcs, c.Ext.FMSPC):
			case teeHint(jsonStrings(d.Raw, "id")) == other(tee):
				p.tcbOther = true
			case len(p.tcb) < MaxTCBInfos:
				p.tcb = append(p.tcb, d)
			default:
				tcbExtra++
			}
		}
		if d.Kind == "qe-identity" || d.Kind == "" && bytes.Contains(d.Raw, []byte(`"enclaveIdentity"`)) {
			ids := jsonStrings(d.Raw, "id")
			switch {
			case len(ids) == 0:
				if d.Kind != "" && len(qeBad) < MaxUnreadable {
					qeBad = append(qeBad, d)
				}
			case !contains(ids, wantQE):
				p.qeOther = ids[0]
			case len(p.qe) < MaxQEIdentities:
				p.qe = append(p.qe, d)
			default:
				qeExtra++
			}
		}
	}
	p.tcbCapped, p.qeCapped = tcbExtra > 0, qeExtra > 0
	p.warn(tcbExtra, MaxTCBInfos, "%s TCB Info documents for FMSPC %x", tee, c.Ext.FMSPC)
	p.warn(qeExtra, MaxQEIdentities, "%q QE Identity documents", wantQE)
	p.tcb = append(p.tcb, tcbBad...)
	p.qe = append(p.qe, qeBad...)

	// TCB Signing certificates: the collateral's certificates, then the
	// issuer chains of the chosen documents. Those whose issuer name is the
	// root's come first: only they can chain to it (RFC 5280 §6.1).
	seen := map[string]bool{}
	var named, rest []*x509.Certificate
	var extra int
	add := func(x *x509.Certificate) {
		if x == nil || x.Subject.CommonName != pcs.TCBSigningCN || seen[string(x.Raw)] {
			return
		}
		seen[string(x.Raw)] = true
		switch {
		case len(named)+len(rest) >= MaxSigners:
			extra++
		case string(x.RawIssuer) == string(c.Root.RawSubject):
			named = append(named, x)
		default:
			rest = append(rest, x)
		}
	}
	for _, x := range col.Certificates {
		add(x)
	}
	for _, d := range append(p.tcb[:len(p.tcb):len(p.tcb)], p.qe...) {
		if len(d.IssuerChain) > 0 {
			for _, x := range chainOf(d.IssuerChain) {
				add(x)
			}
		}
	}
	p.signers = append(named, rest...)
	p.signerCapped = extra > 0
	p.warn(extra, MaxSigners, "%q certificates", pcs.TCBSigningCN)
	return p
}

func (p *pick) warn(extra, limit int, format string, args ...any) {
	if extra > 0 {
		p.warnings = append(p.warnings, fmt.Sprintf("collateral: %d more %s than the %d tried were ignored", extra, fmt.Sprintf(format, args...), limit))
	}
}

// walk feeds the pick's canonical serialisation (every item tagged with
// its role and length prefixed) to f, stopping when f returns false.
func (p *pick) walk(f func([]byte) bool) bool {
	var n [9]byte
	put := func(tag byte, b []byte) bool {
		n[0] = tag
		for i := range 8 {
			n[1+i] = byte(uint64(len(b)) >> (8 * i))
		}
		return f(n[:]) && f(b)
	}
	for _, l := range p.pckCRLs {
		if !put('p', l.Raw) {
			return false
		}
	}
	for _, l := range p.rootCRLs {
		if !put('r', l.Raw) {
			return false
		}
	}
	for _, x := range p.signers {
		if !put('s', x.Raw) {
			return false
		}
	}
	for _, d := range p.tcb {
		if !put('t', []byte(d.Kind)) || !put('d', d.Raw) || !put('o', []byte(d.Source)) {
			return false
		}
	}
	for _, d := range p.qe {
		if !put('q', []byte(d.Kind)) || !put('d', d.Raw) || !put('o', []byte(d.Source)) {
			return false
		}
	}
	flags := []byte{0, 0, 0, 0, 0, 0}
	for i, b := range []bool{p.tcbOther, p.pckCRLCapped, p.rootCRLCapped, p.signerCapped, p.tcbCapped, p.qeCapped} {
		if b {
			flags[i] = 1
		}
	}
	return put('f', flags) && put('x', []byte(p.qeOther))
}

// jsonStrings returns the string values of the members named key anywhere
// in raw, read without parsing it: `"key"`, white space, ':', white space,
// then a string without escapes. It only chooses which documents to parse
// (at most maxScanned values are kept); the strict parser of package pcs
// decides what a chosen document says.
func jsonStrings(raw []byte, key string) []string {
	const maxScanned = 8
	pat := []byte(`"` + key + `"`)
	var out []string
	for len(out) < maxScanned {
		i := bytes.Index(raw, pat)
		if i < 0 {
			break
		}
		raw = raw[i+len(pat):]
		j := skipSpace(raw, 0)
		if j >= len(raw) || raw[j] != ':' {
			continue
		}
		j = skipSpace(raw, j+1)
		if j >= len(raw) || raw[j] != '"' {
			continue
		}
		k := bytes.IndexAny(raw[j+1:], "\"\\")
		if k < 0 || raw[j+1+k] != '"' {
			continue
		}
		out = append(out, string(raw[j+1:j+1+k]))
		raw = raw[j+1+k:]
	}
	return out
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func hasFMSPC(vals []string, fmspc [6]byte) bool {
	for _, v := range vals {
		var b [6]byte
		if len(v) == 12 {
			if _, err := hex.Decode(b[:], []byte(v)); err == nil && b == fmspc {
				return true
			}
		}
	}
	return false
}

// teeHint reads the TEE of a TCB Info from its "id" values: "TDX" or "SGX"
// (module identities have ids like "TDX_03"); 0 when not exactly one.
func teeHint(ids []string) pcs.TEE {
	var t pcs.TEE
	for _, id := range ids {
		var x pcs.TEE
		switch id {
		case "TDX":
			x = pcs.TDX
		case "SGX":
			x = pcs.SGX
		default:
			continue
		}
		if t != 0 && t != x {
			return 0
		}
		t = x
	}
	return t
}

func other(t pcs.TEE) pcs.TEE {
	if t == pcs.TDX {
		return pcs.SGX
	}
	return pcs.TDX
}

func contains(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

func qeID(tee pcs.TEE) string {
	if tee == pcs.TDX {
		return "TD_QE"
	}
	return "QE"
}

// search evaluates the collateral steps over a pick, verifying each
// signature at most once: the TCB signer is chosen once for TCB Info and QE
// Identity, and the root CRL once for the chain and the signer.
type search struct {
	ctx   context.Context
	count sigCounter
	p     *pick
	root  *x509.Certificate
	at    time.Time

	signerDone bool
	signer     *x509.Certificate
	signerErr  error

	rootDone bool
	rootCRL  *x509.RevocationList
	rootErr  error
}

func (s *search) sig(kind string, signed, signer []byte) {
	if s.count != nil {
		s.count(kind, signed, signer)
	}
}

// stopped reports the context's error, wrapped, once it is done.
func (s *search) stopped() error {
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("dcapverify: verification stopped: %w", err)
	}
	return nil
}

// findCRL is [pcs.FindCRL] over the chosen CRLs of one issuer.
func (s *search) findCRL(cands []*x509.RevocationList, capped bool, issuer *x509.Certificate) (*x509.RevocationList, error) {
	var best *x509.RevocationList
	var firstErr error
	for _, crl := range cands {
		if err := s.stopped(); err != nil {
			return nil, err
		}
		s.sig("crl", crl.Raw, issuer.Raw)
		if err := pcs.VerifyCRL(crl, issuer, s.at); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if best == nil || crl.ThisUpdate.After(best.ThisUpdate) {
			best = crl
		}
	}
	switch {
	case best != nil:
		return best, nil
	case capped:
		return nil, fmt.Errorf("%w: no CRL of %q among the first %d verifies (%v)", ErrCandidateCap, issuer.Subject.CommonName, MaxCRLsPerIssuer, firstErr)
	case firstErr != nil:
		return nil, firstErr
	}
	return nil, fmt.Errorf("pcs: no CRL of %q in the collateral: %w", issuer.Subject.CommonName, pcs.ErrNotFound)
}

func (s *search) rootCRLOnce() (*x509.RevocationList, error) {
	if !s.rootDone {
		s.rootCRL, s.rootErr = s.findCRL(s.p.rootCRLs, s.p.rootCRLCapped, s.root)
		s.rootDone = s.ctx.Err() == nil
	}
	return s.rootCRL, s.rootErr
}

// revocation is [pcs.CheckRevocation]: is cert on the verified CRL of issuer.
func revocation(crl *x509.RevocationList, err error, cert, issuer *x509.Certificate) error {
	if err != nil {
		return err
	}
	if pcs.IsRevoked(crl, cert) {
		return fmt.Errorf("pcs: certificate %q serial %x is revoked by the CRL of %q: %w", cert.Subject.CommonName, cert.SerialNumber, issuer.Subject.CommonName, pcs.ErrRevoked)
	}
	return nil
}

// tcbSigner is the TCB Signing certificate that chains to the root and is
// valid at the verification time (as [pcs.TCBInfo.Verify] chooses it),
// chosen once per verification.
func (s *search) tcbSigner() (*x509.Certificate, error) {
	if s.signerDone {
		return s.signer, s.signerErr
	}
	s.signer, s.signerErr = s.findSigner()
	s.signerDone = s.ctx.Err() == nil
	return s.signer, s.signerErr
}

func (s *search) findSigner() (*x509.Certificate, error) {
	const cn = pcs.TCBSigningCN
	root, at := s.root, s.at
	var expired, notYet int
	var chainErr error
	for _, c := range s.p.signers {
		if err := s.stopped(); err != nil {
			return nil, err
		}
		s.sig("certificate", c.Raw, root.Raw)
		if err := c.CheckSignatureFrom(root); err != nil {
			chainErr = err
			continue
		}
		switch {
		case at.Before(c.NotBefore) || at.Before(root.NotBefore):
			notYet++
			continue
		case at.After(c.NotAfter) || at.After(root.NotAfter):
			expired++
			continue
		}
		return c, nil
	}
	switch {
	case len(s.p.signers) == 0:
		return nil, fmt.Errorf("no %q certificate in the collateral (hint: PCS serves it in the TCB-Info-Issuer-Chain / SGX-Enclave-Identity-Issuer-Chain header): %w", cn, pcs.ErrChain)
	case s.p.signerCapped:
		return nil, fmt.Errorf("%w: none of the first %d %q certificates chains to the root and is valid at %s", ErrCandidateCap, MaxSigners, cn, at.Format(time.RFC3339))
	case expired > 0:
		return nil, fmt.Errorf("every %q certificate that chains to the root is expired at %s: %w", cn, at.Format(time.RFC3339), pcs.ErrExpired)
	case notYet > 0:
		return nil, fmt.Errorf("every %q certificate that chains to the root is not yet valid at %s: %w", cn, at.Format(time.RFC3339), pcs.ErrNotYetValid)
	default:
		return nil, fmt.Errorf("%q certificate not signed by the pinned Intel root (%v): %w", cn, chainErr, pcs.ErrChain)
	}
}

// verifySigned is [pcs.TCBInfo.Verify] with the signer and the root CRL
// chosen once: validity window, signature over the signed span, signer not
// on the root CRL.
func (s *search) verifySigned(what string, signed []byte, sig [64]byte, issue, next time.Time) error {
	if err := checkWindow(what, issue, next, s.at); err != nil {
		return err
	}
	signer, err := s.tcbSigner()
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("pcs: %s: %w", what, err)
	}
	s.sig(what, signed, signer.Raw)
	if err := checkSignature(signer, signed, sig); err != nil {
		return fmt.Errorf("pcs: %s: %w", what, err)
	}
	if crl, err := s.rootCRLOnce(); err == nil && pcs.IsRevoked(crl, signer) {
		return fmt.Errorf("pcs: %s: signing certificate serial %x is on the Intel Root CA CRL: %w", what, signer.SerialNumber, pcs.ErrRevoked)
	}
	return nil
}

// checkWindow is the issueDate ≤ at < nextUpdate rule of package pcs.
func checkWindow(what string, issue, next, at time.Time) error {
	if at.Before(issue) {
		return fmt.Errorf("pcs: %s issued %s, after the verification time %s: %w", what, issue.Format(time.RFC3339), at.Format(time.RFC3339), pcs.ErrNotYetValid)
	}
	if !at.Before(next) {
		return fmt.Errorf("pcs: %s nextUpdate %s is not after the verification time %s (hint: fetch fresh collateral): %w", what, next.Format(time.RFC3339), at.Format(time.RFC3339), pcs.ErrExpired)
	}
	return nil
}

// checkSignature verifies an ECDSA P-256/SHA-256 signature r‖s by cert over
// msg, the only encoding PCS uses (pitfalls A6).
func checkSignature(cert *x509.Certificate, msg []byte, sig [64]byte) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fmt.Errorf("signer key is not ECDSA P-256: %w", pcs.ErrSignature)
	}
	h := sha256.Sum256(msg)
	if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return fmt.Errorf("signature by %q does not verify over the signed bytes: %w", cert.Subject.CommonName, pcs.ErrSignature)
	}
	return nil
}

// tcbInfo is [pcs.FindTCBInfo] over the chosen documents.
func (s *search) tcbInfo(tee pcs.TEE, fmspc [6]byte) (*pcs.TCBInfo, error) {
	var best *pcs.TCBInfo
	var errs []error
	otherTEE := s.p.tcbOther
	for _, d := range s.p.tcb {
		if err := s.stopped(); err != nil {
			return nil, err
		}
		t, err := pcs.ParseTCBInfo(d.Raw)
		if err != nil {
			if d.Kind != "" {
				errs = append(errs, fmt.Errorf("%s: %w", d.Source, err))
			}
			continue
		}
		if t.FMSPC != fmspc {
			continue
		}
		if t.TEE() != tee {
			otherTEE = true
			continue
		}
		if err := s.verifySigned("tcb info", t.RawSigned, t.Signature, t.IssueDate, t.NextUpdate); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		if best == nil || t.TCBEvaluationDataNumber > best.TCBEvaluationDataNumber ||
			(t.TCBEvaluationDataNumber == best.TCBEvaluationDataNumber && t.IssueDate.After(best.IssueDate)) {
			best = t
		}
	}
	switch {
	case best != nil:
		return best, nil
	case s.p.tcbCapped:
		return nil, fmt.Errorf("%w: none of the first %d %s TCB Info documents for FMSPC %x verifies: %w", ErrCandidateCap, MaxTCBInfos, tee, fmspc, errors.Join(errs...))
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	case otherTEE:
		return nil, fmt.Errorf("pcs: the collateral holds TCB Info for FMSPC %x but not for %s (hint: fetch %s): %w", fmspc, tee, pcs.TCBInfoURL("", tee, fmspc), pcs.ErrMismatch)
	}
	return nil, fmt.Errorf("pcs: %w: %w", pcs.ErrNotFound, &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{
		What: fmt.Sprintf("%s TCB Info for FMSPC %x", tee, fmspc),
		URL:  pcs.TCBInfoURL("", tee, fmspc),
	}}})
}

// qeIdentity is [pcs.FindQEIdentity] over the chosen documents.
func (s *search) qeIdentity(tee pcs.TEE) (*pcs.QEIdentity, error) {
	var best *pcs.QEIdentity
	var errs []error
	otherID := s.p.qeOther
	for _, d := range s.p.qe {
		if err := s.stopped(); err != nil {
			return nil, err
		}
		q, err := pcs.ParseQEIdentity(d.Raw)
		if err != nil {
			if d.Kind != "" {
				errs = append(errs, fmt.Errorf("%s: %w", d.Source, err))
			}
			continue
		}
		if q.TEE() != tee {
			otherID = q.ID
			continue
		}
		if err := s.verifySigned("qe identity", q.RawSigned, q.Signature, q.IssueDate, q.NextUpdate); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		if best == nil || q.TCBEvaluationDataNumber > best.TCBEvaluationDataNumber ||
			(q.TCBEvaluationDataNumber == best.TCBEvaluationDataNumber && q.IssueDate.After(best.IssueDate)) {
			best = q
		}
	}
	switch {
	case best != nil:
		return best, nil
	case s.p.qeCapped:
		return nil, fmt.Errorf("%w: none of the first %d %q QE Identity documents verifies: %w", ErrCandidateCap, MaxQEIdentities, qeID(tee), errors.Join(errs...))
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	case otherID != "":
		return nil, fmt.Errorf("pcs: the collateral holds the %q identity but a %s quote needs %q (hint: fetch %s): %w", otherID, tee, qeID(tee), pcs.QEIdentityURL("", tee), pcs.ErrMismatch)
	}
	return nil, fmt.Errorf("pcs: %w: %w", pcs.ErrNotFound, &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{
		What: fmt.Sprintf("%s QE Identity", tee),
		URL:  pcs.QEIdentityURL("", tee),
	}}})
}

// pckCandidates reduces col to the certificates that can form the PCK chain
// of a quote whose certification data names the platform (types 1–3): PCK
// certificates carrying its PCE-ID (at most MaxPCKLeaves) and, for each, the
// certificates named as its issuer (at most MaxPCKIssuers). It reports
// whether candidates were ignored, with warnings.
func pckCandidates(cd dcap.CertificationData, col *cloudra.Collateral) (*cloudra.Collateral, bool, []string) {
	out := &cloudra.Collateral{}
	info, err := parsePlatformInfo(cd)
	if err != nil || col == nil {
		return out, false, nil
	}
	bySubject := map[string][]*x509.Certificate{}
	seen := map[string]bool{}
	var leaves []*x509.Certificate
	leafExtra, issuerExtra := 0, 0
	for _, x := range col.Certificates {
		if seen[string(x.Raw)] {
			continue
		}
		seen[string(x.Raw)] = true
		bySubject[string(x.RawSubject)] = append(bySubject[string(x.RawSubject)], x)
		if ext, err := dcap.PCKExtensionOf(x); err == nil && (ext.PCEID == info.pceid || ext.PCEID == [2]byte{info.pceid[1], info.pceid[0]}) {
			if len(leaves) < MaxPCKLeaves {
				leaves = append(leaves, x)
			} else {
				leafExtra++
			}
		}
	}
	added := map[string]bool{}
	for _, l := range leaves {
		if !added[string(l.Raw)] {
			added[string(l.Raw)] = true
			out.Certificates = append(out.Certificates, l)
		}
		n := 0
		for _, x := range bySubject[string(l.RawIssuer)] {
			if x == l || added[string(x.Raw)] {
				continue
			}
			if n++; n > MaxPCKIssuers {
				issuerExtra++
				continue
			}
			added[string(x.Raw)] = true
			out.Certificates = append(out.Certificates, x)
		}
	}
	p := &pick{}
	p.warn(leafExtra, MaxPCKLeaves, "PCK certificates with PCE-ID %x", info.pceid)
	p.warn(issuerExtra, MaxPCKIssuers, "issuer certificates of a PCK certificate")
	return out, leafExtra+issuerExtra > 0, p.warnings
}
