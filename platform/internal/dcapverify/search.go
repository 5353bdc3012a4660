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
	"slices"
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
	// be read without a full parse (missing, or written with escapes, which
	// Intel never does): they are tried after the others, mostly so that
	// their errors are reported.
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

// errSkip marks a document of no kind that does not parse: skipped
// silently, as a document of no kind that is not of the kind searched.
var errSkip = errors.New("dcapverify: not a document of this kind")

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
	// tcb and qe are in the order tried: see [newest].
	tcb, qe []scanned
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
	// CRLs by issuer name, the latest thisUpdate first (the one a search
	// prefers when several verify).
	var pckCRLs, rootCRLs []*x509.RevocationList
	for _, l := range col.CRLs {
		switch string(l.RawIssuer) {
		case string(c.Intermediate.RawSubject):
			pckCRLs = append(pckCRLs, l)
		case string(c.Root.RawSubject):
			rootCRLs = append(rootCRLs, l)
		}
	}
	var pckExtra, rootExtra int
	p.pckCRLs, pckExtra = latestCRLs(pckCRLs)
	p.rootCRLs, rootExtra = latestCRLs(rootCRLs)
	p.pckCRLCapped, p.rootCRLCapped = pckExtra > 0, rootExtra > 0
	p.warn(pckExtra, MaxCRLsPerIssuer, "CRLs issued by %q", c.Intermediate.Subject.CommonName)
	p.warn(rootExtra, MaxCRLsPerIssuer, "CRLs issued by %q", c.Root.Subject.CommonName)

	// Documents by the FMSPC and id read from their JSON; those that read
	// as newest (tcbEvaluationDataNumber, then issueDate) first, so that a
	// folder that accumulated documents over time has its newest tried.
	var tcb, qe []scanned
	var tcbBad, qeBad []scanned
	wantQE := qeID(tee)
	for _, d := range col.Documents {
		if d.Kind == "tcb-info" || d.Kind == "" && bytes.Contains(d.Raw, []byte(`"tcbInfo"`)) {
			fmspc, ok := jsonString(d.Raw, "fmspc")
			switch {
			case !ok:
				// Documents of no kind are tried only when they read as
				// TCB Info, as before.
				if d.Kind != "" {
					tcbBad = append(tcbBad, scanned{doc: d, eval: -1})
				}
			case !isFMSPC(fmspc, c.Ext.FMSPC):
			case teeHint(d.Raw) == other(tee):
				p.tcbOther = true
			default:
				tcb = append(tcb, scan(d))
			}
		}
		if d.Kind == "qe-identity" || d.Kind == "" && bytes.Contains(d.Raw, []byte(`"enclaveIdentity"`)) {
			id, ok := jsonString(d.Raw, "id")
			switch {
			case !ok:
				if d.Kind != "" {
					qeBad = append(qeBad, scanned{doc: d, eval: -1})
				}
			case id != wantQE:
				p.qeOther = id
			default:
				qe = append(qe, scan(d))
			}
		}
	}
	var tcbExtra, qeExtra int
	p.tcb, tcbExtra = newest(tcb, MaxTCBInfos)
	p.qe, qeExtra = newest(qe, MaxQEIdentities)
	p.tcbCapped, p.qeCapped = tcbExtra > 0, qeExtra > 0
	p.warn(tcbExtra, MaxTCBInfos, "%s TCB Info documents for FMSPC %x", tee, c.Ext.FMSPC)
	p.warn(qeExtra, MaxQEIdentities, "%q QE Identity documents", wantQE)
	if n := len(tcbBad) - MaxUnreadable; n > 0 {
		tcbBad = tcbBad[:MaxUnreadable]
		p.warn(n, MaxUnreadable, "TCB Info documents whose FMSPC cannot be read")
	}
	if n := len(qeBad) - MaxUnreadable; n > 0 {
		qeBad = qeBad[:MaxUnreadable]
		p.warn(n, MaxUnreadable, "QE Identity documents whose id cannot be read")
	}
	p.tcb = append(p.tcb, tcbBad...)
	p.qe = append(p.qe, qeBad...)

	// TCB Signing certificates: the issuer chains of the chosen documents
	// (what PCS sent with them), then the collateral's certificates. Those
	// whose issuer name is the root's are tried first: only they can chain
	// to it (RFC 5280 §6.1).
	var named, rest []*x509.Certificate
	var extra int
	add := func(x *x509.Certificate) {
		if x == nil || x.Subject.CommonName != pcs.TCBSigningCN {
			return
		}
		for _, y := range append(named[:len(named):len(named)], rest...) {
			if string(y.Raw) == string(x.Raw) {
				return
			}
		}
		switch {
		case len(named)+len(rest) >= MaxSigners:
			extra++
		case string(x.RawIssuer) == string(c.Root.RawSubject):
			named = append(named, x)
		default:
			rest = append(rest, x)
		}
	}
	for _, d := range append(p.tcb[:len(p.tcb):len(p.tcb)], p.qe...) {
		if len(d.doc.IssuerChain) > 0 {
			for _, x := range chainOf(d.doc.IssuerChain) {
				add(x)
			}
		}
	}
	for _, x := range col.Certificates {
		add(x)
	}
	p.signers = append(named, rest...)
	p.signerCapped = extra > 0
	p.warn(extra, MaxSigners, "%q certificates", pcs.TCBSigningCN)
	return p
}

// latestCRLs orders one issuer's CRLs by thisUpdate, latest first (ties
// in collateral order), and keeps MaxCRLsPerIssuer.
func latestCRLs(l []*x509.RevocationList) ([]*x509.RevocationList, int) {
	slices.SortStableFunc(l, func(a, b *x509.RevocationList) int { return b.ThisUpdate.Compare(a.ThisUpdate) })
	if len(l) > MaxCRLsPerIssuer {
		return l[:MaxCRLsPerIssuer], len(l) - MaxCRLsPerIssuer
	}
	return l, 0
}

// scanned is a document with the tcbEvaluationDataNumber and issueDate read
// from its JSON without parsing it. sure: both were read. A document that
// parses strictly has plain keys, each once, so what was read is what the
// strict parser reads.
type scanned struct {
	doc   cloudra.Document
	eval  int
	issue time.Time
	sure  bool
}

func scan(d cloudra.Document) scanned {
	s := scanned{doc: d, eval: jsonInt(d.Raw, "tcbEvaluationDataNumber")}
	if v, ok := jsonString(d.Raw, "issueDate"); ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			s.issue, s.sure = t, s.eval >= 0
		}
	}
	return s
}

// newest orders documents as the search tries them — those not read with
// certainty first, then newest first as the search prefers them
// (tcbEvaluationDataNumber, then issueDate; ties in collateral order) — and
// keeps limit. The search can then stop at the first document that verifies
// and reads as it parses: no later one can be preferred to it.
func newest(docs []scanned, limit int) ([]scanned, int) {
	slices.SortStableFunc(docs, func(a, b scanned) int {
		switch {
		case a.sure != b.sure:
			if !a.sure {
				return -1
			}
			return 1
		case a.eval != b.eval:
			return b.eval - a.eval
		}
		return b.issue.Compare(a.issue)
	})
	if len(docs) > limit {
		return docs[:limit], len(docs) - limit
	}
	return docs, 0
}

// jsonInt reads the first member named key whose value is a small
// non-negative integer, as [jsonString] reads a string; -1 if none.
func jsonInt(raw []byte, key string) int {
	pat := []byte(`"` + key + `"`)
	i := bytes.Index(raw, pat)
	if i < 0 {
		return -1
	}
	j := skipSpace(raw, i+len(pat))
	if j >= len(raw) || raw[j] != ':' {
		return -1
	}
	j = skipSpace(raw, j+1)
	n, digits := 0, 0
	for ; j < len(raw) && '0' <= raw[j] && raw[j] <= '9' && digits < 9; j++ {
		n = n*10 + int(raw[j]-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	return n
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
		if !put('t', []byte(d.doc.Kind)) || !put('d', d.doc.Raw) || !put('o', []byte(d.doc.Source)) {
			return false
		}
	}
	for _, d := range p.qe {
		if !put('q', []byte(d.doc.Kind)) || !put('d', d.doc.Raw) || !put('o', []byte(d.doc.Source)) {
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

// jsonString returns the string value of the first member named key in raw,
// read without parsing it: `"key"`, white space, ':', white space, then a
// string without escapes. In a document that parses strictly (unique keys,
// no unknown fields) the first such member is the one member of that name;
// the value only chooses which documents to parse, and the strict parser of
// package pcs decides what a chosen document says. The scan stops at the
// member, so it costs the document's prefix up to it.
func jsonString(raw []byte, key string) (string, bool) {
	pat := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(raw, pat)
		if i < 0 {
			return "", false
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
		return string(raw[j+1 : j+1+k]), true
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func isFMSPC(v string, fmspc [6]byte) bool {
	var b [6]byte
	if len(v) != 12 {
		return false
	}
	_, err := hex.Decode(b[:], []byte(v))
	return err == nil && b == fmspc
}

// teeHint reads the TEE of a TCB Info from its first "id": "TDX" or "SGX"
// (Intel writes the document's id first; a module identity's id, like
// "TDX_03", or none gives 0: either TEE).
func teeHint(raw []byte) pcs.TEE {
	switch id, _ := jsonString(raw, "id"); id {
	case "TDX":
		return pcs.TDX
	case "SGX":
		return pcs.SGX
	}
	return 0
}

func other(t pcs.TEE) pcs.TEE {
	if t == pcs.TDX {
		return pcs.SGX
	}
	return pcs.TDX
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

	// bounds are the issueDate and nextUpdate of every document parsed:
	// with the pick's certificates and CRLs, the only times the outcome
	// depends on (a signature that fails, fails at any time).
	bounds []time.Time
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
		// The candidates come latest thisUpdate first (ties in collateral
		// order): the first that verifies is the one pcs.FindCRL picks.
		best = crl
		break
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
	root, at := s.root, s.at
	if err := pcs.CheckTCBRoot(root); err != nil {
		return nil, err
	}
	var ss pcs.SignerSearch
	for _, c := range s.p.signers {
		if err := s.stopped(); err != nil {
			return nil, err
		}
		s.sig("certificate", c.Raw, root.Raw)
		if ss.Try(c, root, at) {
			return c, nil
		}
	}
	if len(s.p.signers) > 0 && s.p.signerCapped {
		return nil, fmt.Errorf("%w: none of the first %d %q certificates chains to the root and is valid at %s", ErrCandidateCap, MaxSigners, pcs.TCBSigningCN, at.Format(time.RFC3339))
	}
	return nil, ss.Err(at)
}

// signature checks a document's signature over its signed span by the
// TCB signer — before the document is parsed strictly, so that junk costs
// one signature verification, not a parse. A context error is returned
// as is; other errors are the document's.
func (s *search) signature(what string, span []byte, sig [64]byte) (*x509.Certificate, error) {
	signer, err := s.tcbSigner()
	if err != nil {
		if isStop(err) {
			return nil, err
		}
		return nil, fmt.Errorf("pcs: %s: %w", what, err)
	}
	if err := s.stopped(); err != nil {
		return nil, err
	}
	if s.count != nil {
		s.count(what, append(span[:len(span):len(span)], sig[:]...), signer.Raw)
	}
	if err := checkSignature(signer, span, sig); err != nil {
		return nil, fmt.Errorf("pcs: %s: %w", what, err)
	}
	return signer, nil
}

// afterParse is the rest of [pcs.TCBInfo.Verify] once the signature
// verified: the validity window, and the signer not on the root CRL.
func (s *search) afterParse(what string, signer *x509.Certificate, issue, next time.Time) error {
	s.bounds = append(s.bounds, issue, next)
	if err := checkWindow(what, issue, next, s.at); err != nil {
		return err
	}
	if crl, err := s.rootCRLOnce(); err == nil && pcs.IsRevoked(crl, signer) {
		return fmt.Errorf("pcs: %s: signing certificate serial %x is on the Intel Root CA CRL: %w", what, signer.SerialNumber, pcs.ErrRevoked)
	}
	return nil
}

func isStop(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// envelope finds, without parsing strictly, the span of the value of key
// and the signature of a PCS body {"<key>": {…}, "signature": "<128 hex
// digits>"}: each member once, plain keys, nothing else. ok is false when
// raw is not plainly of that form, which the strict parser of package pcs
// would refuse too. The span serves only to check the signature before the
// strict parse, whose signed span must then be the same bytes.
func envelope(raw []byte, key string) (span []byte, sig [64]byte, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, sig, false
	}
	haveSig := false
	for {
		i = skipSpace(raw, i+1)
		if i >= len(raw) || raw[i] != '"' {
			return nil, sig, false
		}
		k := bytes.IndexAny(raw[i+1:], "\\\"")
		if k < 0 || raw[i+1+k] != '"' {
			return nil, sig, false
		}
		name := string(raw[i+1 : i+1+k])
		i = skipSpace(raw, i+2+k)
		if i >= len(raw) || raw[i] != ':' {
			return nil, sig, false
		}
		v := skipSpace(raw, i+1)
		end, good := skipValue(raw, v)
		if !good {
			return nil, sig, false
		}
		switch name {
		case key:
			if span != nil || raw[v] != '{' {
				return nil, sig, false
			}
			span = raw[v:end]
		case "signature":
			if haveSig || raw[v] != '"' || end-v != 130 {
				return nil, sig, false
			}
			if _, err := hex.Decode(sig[:], raw[v+1:end-1]); err != nil {
				return nil, sig, false
			}
			haveSig = true
		default:
			return nil, sig, false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, sig, false
		}
		if raw[i] == '}' {
			break
		}
		if raw[i] != ',' {
			return nil, sig, false
		}
	}
	if skipSpace(raw, i+1) != len(raw) || span == nil || !haveSig {
		return nil, sig, false
	}
	return span, sig, true
}

// skipValue returns the end of the JSON value starting at raw[i]: a string,
// an object or array (brackets counted, strings skipped; the contents are
// left to the strict parser), or a scalar.
func skipValue(raw []byte, i int) (int, bool) {
	if i >= len(raw) {
		return 0, false
	}
	str := func(j int) (int, bool) { // raw[j] == '"'
		for j++; j < len(raw); j++ {
			switch raw[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return 0, false
	}
	switch raw[i] {
	case '"':
		return str(i)
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); {
			switch raw[j] {
			case '"':
				e, ok := str(j)
				if !ok {
					return 0, false
				}
				j = e
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
			j++
		}
		return 0, false
	}
	j := i
	for j < len(raw) && bytes.IndexByte([]byte(",}] \t\n\r"), raw[j]) < 0 {
		j++
	}
	return j, j > i
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
// msg, the only encoding PCS uses (docs/pitfalls-dcap.md A6).
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

// signedFirst checks the signature of a chosen document before it is
// parsed strictly, and returns its signer. A document that is not plainly a
// PCS envelope is refused as malformed without the strict parse (which
// would refuse it too, at a cost in its size); one of no kind is skipped
// (errSkip), as a document of no kind that does not parse always was.
func (s *search) signedFirst(what, key string, d cloudra.Document) (*signedDoc, error) {
	span, sig, ok := envelope(d.Raw, key)
	if !ok {
		if d.Kind == "" {
			return nil, errSkip
		}
		return nil, fmt.Errorf("%s: pcs: malformed %s: not {%q: {…}, \"signature\": \"<128 hex digits>\"} (%w)", d.Source, what, key, pcs.ErrParse)
	}
	signer, err := s.signature(what, span, sig)
	if err != nil {
		return nil, err
	}
	return &signedDoc{signer: signer, span: span, sig: sig}, nil
}

// signedDoc is what signedFirst verified: the signer, the span and the
// signature.
type signedDoc struct {
	signer *x509.Certificate
	span   []byte
	sig    [64]byte
}

// same checks that the strict parser read the span and signature that were
// verified: the parsed fields come from its span, so they must be the bytes
// whose signature verified.
func (v *signedDoc) same(d cloudra.Document, what string, signed []byte, sig [64]byte) error {
	if !bytes.Equal(signed, v.span) || sig != v.sig {
		return fmt.Errorf("%s: pcs: malformed %s: the signed span is not the one whose signature was checked (%w)", d.Source, what, pcs.ErrParse)
	}
	return nil
}

// signedFacts are the parts of a strictly parsed PCS document that the
// search compares and checks.
type signedFacts struct {
	rawSigned   []byte
	signature   [64]byte
	issue, next time.Time
	eval        int
}

// pickDocument is the one search over chosen PCS documents of one kind
// (TCB Info, QE Identity), as pcs.FindTCBInfo and pcs.FindQEIdentity
// choose: each document's signature over its exact span before the strict
// parse, the span re-read by the parser, match (the caller's FMSPC and TEE
// rule: false skips the document), the validity window; among those left,
// the highest tcbEvaluationDataNumber, then the latest issueDate. It stops
// at the newest document the one-pass scan promised.
func pickDocument[T any](s *search, cands []scanned, what, key string, parse func([]byte) (T, error),
	facts func(T) signedFacts, match func(T) bool) (best T, found bool, errs []error, err error) {
	var bestFacts signedFacts
	for _, sd := range cands {
		d := sd.doc
		if err := s.stopped(); err != nil {
			return best, false, nil, err
		}
		v, err := s.signedFirst(what, key, d)
		if isStop(err) {
			return best, false, nil, err
		}
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		doc, err := parse(d.Raw)
		if err != nil {
			if d.Kind != "" {
				errs = append(errs, fmt.Errorf("%s: %w", d.Source, err))
			}
			continue
		}
		f := facts(doc)
		if err := v.same(d, what, f.rawSigned, f.signature); err != nil {
			errs = append(errs, err)
			continue
		}
		if !match(doc) {
			continue
		}
		if err := s.afterParse(what, v.signer, f.issue, f.next); err != nil {
			errs = append(errs, err)
			continue
		}
		if !found || f.eval > bestFacts.eval || (f.eval == bestFacts.eval && f.issue.After(bestFacts.issue)) {
			best, bestFacts, found = doc, f, true
			if sd.sure && sd.eval == f.eval && sd.issue.Equal(f.issue) {
				break // see newest
			}
		}
	}
	return best, found, errs, nil
}

// tcbInfo is [pcs.FindTCBInfo] over the chosen documents.
func (s *search) tcbInfo(tee pcs.TEE, fmspc [6]byte) (*pcs.TCBInfo, error) {
	otherTEE := s.p.tcbOther
	best, found, errs, err := pickDocument(s, s.p.tcb, "tcb info", "tcbInfo", pcs.ParseTCBInfo,
		func(t *pcs.TCBInfo) signedFacts {
			return signedFacts{t.RawSigned, t.Signature, t.IssueDate, t.NextUpdate, t.TCBEvaluationDataNumber}
		},
		func(t *pcs.TCBInfo) bool {
			if t.FMSPC != fmspc {
				return false
			}
			if t.TEE() != tee {
				otherTEE = true
				return false
			}
			return true
		})
	switch {
	case err != nil:
		return nil, err
	case found:
		return best, nil
	case s.p.tcbCapped:
		return nil, fmt.Errorf("%w: none of the first %d %s TCB Info documents for FMSPC %x verifies: %w", ErrCandidateCap, MaxTCBInfos, tee, fmspc, errors.Join(errs...))
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	case otherTEE:
		return nil, fmt.Errorf("pcs: the collateral holds TCB Info for FMSPC %x but not for %s (hint: fetch %s): %w", fmspc, tee, pcs.TCBInfoURL("", tee, fmspc), pcs.ErrMismatch)
	}
	return nil, notFound(fmt.Sprintf("%s TCB Info for FMSPC %x", tee, fmspc), pcs.TCBInfoURL("", tee, fmspc))
}

// qeIdentity is [pcs.FindQEIdentity] over the chosen documents.
func (s *search) qeIdentity(tee pcs.TEE) (*pcs.QEIdentity, error) {
	otherID := s.p.qeOther
	best, found, errs, err := pickDocument(s, s.p.qe, "qe identity", "enclaveIdentity", pcs.ParseQEIdentity,
		func(q *pcs.QEIdentity) signedFacts {
			return signedFacts{q.RawSigned, q.Signature, q.IssueDate, q.NextUpdate, q.TCBEvaluationDataNumber}
		},
		func(q *pcs.QEIdentity) bool {
			if q.TEE() != tee {
				otherID = q.ID
				return false
			}
			return true
		})
	switch {
	case err != nil:
		return nil, err
	case found:
		return best, nil
	case s.p.qeCapped:
		return nil, fmt.Errorf("%w: none of the first %d %q QE Identity documents verifies: %w", ErrCandidateCap, MaxQEIdentities, qeID(tee), errors.Join(errs...))
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	case otherID != "":
		return nil, fmt.Errorf("pcs: the collateral holds the %q identity but a %s quote needs %q (hint: fetch %s): %w", otherID, tee, qeID(tee), pcs.QEIdentityURL("", tee), pcs.ErrMismatch)
	}
	return nil, notFound(fmt.Sprintf("%s QE Identity", tee), pcs.QEIdentityURL("", tee))
}

// notFound is the error for a PCS document the collateral does not hold:
// what it is and the PCS URL that serves it.
func notFound(what, url string) error {
	return fmt.Errorf("pcs: %w: %w", pcs.ErrNotFound, &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{What: what, URL: url}}})
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
