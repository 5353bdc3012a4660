// Package dcapverify is the verification pipeline shared by the TDX and SGX
// verifiers: quote signature, PCK chain, QE report signature and binding,
// CRLs, TCB Info and QE Identity (package pcs), and the TCB-status rules of a
// policy. It keeps caches of verified PCK chains and of evaluated collateral
// inside an [Engine] value, never in package state.
package dcapverify

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/boundedmap"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// maxCacheEntries bounds each cache; a full cache is emptied (entries are
// cheap to rebuild and the working set of a verifier is small).
const maxCacheEntries = 1024

// Engine verifies DCAP quotes and caches what can be reused across quotes:
// PCK chains (keyed by the certification data, reused only at times inside
// the chain's validity) and collateral evaluations (keyed by the SHA-256 of
// the part of the collateral the verification may use — the candidates
// chosen under [MaxTCBInfos] and the other caps — reused only inside an
// interval where none of it changes validity). It is safe for concurrent use. The zero value is not usable;
// call [New].
type Engine struct {
	mu sync.Mutex
	// chains is keyed by the certification data bytes themselves (a Go
	// string key: hashed by the runtime, compared byte for byte).
	chains map[string]*chainEntry
	colls  map[collKey]*collEntry
	// memo holds snapshots of recently seen collateral picks with their
	// SHA-256, so that a repeated pick is recognised by a byte comparison
	// instead of being hashed again.
	memo []colMemo
	// pems caches parsed document issuer chains, keyed by their bytes.
	pems map[string][]*x509.Certificate
	// countSig, when set (by tests), sees every signature verification of
	// the collateral search.
	countSig sigCounter
}

type colMemo struct {
	snapshot []byte
	sum      [32]byte
}

// maxMemo bounds the collateral snapshots kept.
const maxMemo = 8

type collKey struct {
	col   [32]byte
	tee   pcs.TEE
	chain *dcap.PCKChain
}

type chainEntry struct {
	chain *dcap.PCKChain
}

// collEntry is the time-dependent evaluation of one collateral set for one
// PCK chain, valid for verification times strictly inside (lo, hi).
type collEntry struct {
	lo, hi     time.Time
	pckCRL     error
	rootCRL    error
	tcbInfo    *pcs.TCBInfo
	tcbErr     error
	qeIdentity *pcs.QEIdentity
	qeErr      error
}

// New returns an Engine with empty caches.
func New() *Engine {
	return &Engine{chains: map[string]*chainEntry{}, colls: map[collKey]*collEntry{}, pems: map[string][]*x509.Certificate{}}
}

// Request is one quote to verify.
type Request struct {
	Quote dcap.Quote
	TEE   pcs.TEE
	// Collateral holds CRLs, TCB Info, QE Identity and their issuer chains.
	Collateral *cloudra.Collateral
	// Roots are the trusted roots: the pinned Intel SGX Root CA, plus test
	// roots when the caller allows them.
	Roots []*x509.Certificate
	Time  time.Time
	// Platform evaluates the platform TCB against verified TCB Info: SGX
	// calls pcs.EvaluateSGX, TDX pcs.EvaluateTDX or EvaluateTDX15.
	Platform func(info *pcs.TCBInfo, ext *dcap.PCKExtension) (*pcs.TCBEvaluation, error)
	// Module, when set, checks the TDX module identity (MRSIGNERSEAM,
	// SEAM_ATTRIBUTES) against TCB Info.
	Module func(info *pcs.TCBInfo) error
}

// Outcome is what the pipeline established.
type Outcome struct {
	// Authentic is true when the quote signature, PCK chain and QE report
	// signature and binding all verify.
	Authentic  bool
	Chain      *dcap.PCKChain
	TCBInfo    *pcs.TCBInfo
	QEIdentity *pcs.QEIdentity
	Platform   *pcs.TCBEvaluation
	QE         *pcs.QEEvaluation
	// Verdict is set when both TCB Info and QE Identity were evaluated.
	Verdict *pcs.Verdict
}

// Signer names the key behind an authentic quote, for cloudra.Result.Signer:
// the PCK certificate (serial number) and the CA that issued it. It is
// empty when no PCK chain was verified.
func (o *Outcome) Signer() string {
	if o.Chain == nil {
		return ""
	}
	return fmt.Sprintf("PCK certificate %x (%s CA)", o.Chain.Leaf.SerialNumber, o.Chain.CA)
}

// Verify runs the pipeline, recording every step as a named check on res.
//
// When a decision was made it returns the Outcome, and with it a
// [*cloudra.RejectedError] carrying res when res holds a failed check (the
// caller's appraisal may still add more; its own Verify returns the final
// verdict). A caller composing the pipeline treats that error as a result
// (errors.As) and carries on.
//
// When no decision is possible it returns a nil Outcome and the reason: no
// time (cloudra.ErrNoTime), collateral missing
// (*cloudra.MissingCollateralError, with the PCS URLs) for an otherwise
// authentic quote, or ctx done (the error wraps ctx.Err()). ctx is checked
// between stages and between candidate attempts of the collateral search.
func (e *Engine) Verify(ctx context.Context, res *cloudra.Result, r Request) (*Outcome, error) {
	out, err := e.verify(ctx, res, r)
	if err != nil {
		return nil, err
	}
	if res.Failed() {
		return out, &cloudra.RejectedError{Result: res}
	}
	return out, nil
}

// verify is Verify with failures recorded on res only.
func (e *Engine) verify(ctx context.Context, res *cloudra.Result, r Request) (*Outcome, error) {
	if r.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	stopped := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dcapverify: verification stopped: %w", err)
		}
		return nil
	}
	if err := stopped(); err != nil {
		return nil, err
	}
	q := r.Quote
	out := &Outcome{}
	ok := true
	if err := dcap.VerifyQuoteSignature(q); err != nil {
		res.Failf("quote.signature", cloudra.ClassSig, "%v", err)
		ok = false
	} else {
		res.Passf("quote.signature", "attestation key signs header‖body (%d bytes)", len(q.SignedBytes()))
	}
	if err := stopped(); err != nil {
		return nil, err
	}
	var chain *dcap.PCKChain
	var err error
	if cd := q.Signature().QE.Cert; cd.Type == dcap.CertTypePCKChain {
		chain, err = e.chain(cd, r.Roots, r.Time)
	} else {
		// Only PCK certificates with the quote's PCE-ID and their named
		// issuers are tried, at most MaxPCKLeaves and MaxPCKIssuers.
		cands, capped, warns := pckCandidates(cd, r.Collateral)
		for _, w := range warns {
			res.Warn("%s", w)
		}
		chain, err = pckFromCollateral(&q.Signature().QE, cands, r.Roots, r.Time)
		if err != nil && capped {
			err = fmt.Errorf("%w: no PCK chain among the PCK certificates tried: %v", ErrCandidateCap, err)
		}
	}
	if err := stopped(); err != nil {
		return nil, err
	}
	var mc *cloudra.MissingCollateralError
	if errors.As(err, &mc) {
		return nil, err
	}
	if err != nil {
		res.Failf("pck.chain", classOf(err), "%v", err)
		ok = false
	} else {
		res.Passf("pck.chain", "PCK certificate ← %s ← %s (valid %s .. %s)", chain.Intermediate.Subject.CommonName,
			chain.Root.Subject.CommonName, chain.NotBefore.UTC().Format(time.RFC3339), chain.NotAfter.UTC().Format(time.RFC3339))
		out.Chain = chain
		if err := dcap.VerifyQEReportSignature(&q.Signature().QE, chain.LeafKey); err != nil {
			res.Failf("qe-report.signature", cloudra.ClassSig, "%v", err)
			ok = false
		} else {
			res.Passf("qe-report.signature", "PCK key signs the QE report")
		}
	}
	if err := dcap.CheckQEBinding(q.Signature()); err != nil {
		res.Failf("qe-report.binding", cloudra.ClassBinding, "%v", err)
		ok = false
	} else {
		res.Passf("qe-report.binding", "QE REPORT_DATA = SHA-256(attestation key ‖ QE auth data) ‖ zeros")
	}
	if !ok {
		return out, nil
	}
	out.Authentic = true

	ce, err := e.collateral(ctx, res, r, chain)
	if err != nil {
		return nil, err
	}
	var missing []cloudra.CollateralRef
	need := func(err error, what, url string) bool {
		var mc *cloudra.MissingCollateralError
		if errors.As(err, &mc) {
			missing = append(missing, mc.Items...)
			return true
		}
		if errors.Is(err, pcs.ErrNotFound) {
			missing = append(missing, cloudra.CollateralRef{What: what, URL: url})
			return true
		}
		return false
	}
	need(ce.pckCRL, fmt.Sprintf("PCK CRL of the Intel SGX PCK %s CA", chain.CA), pcs.PCKCRLURL("", pcs.CA(chain.CA)))
	need(ce.rootCRL, "Intel SGX Root CA CRL", pcs.RootCACRLURL)
	need(ce.tcbErr, fmt.Sprintf("%s TCB Info for FMSPC %x", r.TEE, chain.Ext.FMSPC), pcs.TCBInfoURL("", r.TEE, chain.Ext.FMSPC))
	need(ce.qeErr, fmt.Sprintf("%s QE Identity", r.TEE), pcs.QEIdentityURL("", r.TEE))
	if len(missing) > 0 {
		return nil, &cloudra.MissingCollateralError{Items: missing}
	}

	check(res, "pck.crl", ce.pckCRL, "PCK certificate serial %x not on the %s CA CRL", chain.Leaf.SerialNumber, chain.CA)
	check(res, "root-ca.crl", ce.rootCRL, "%s not on the Intel SGX Root CA CRL", chain.Intermediate.Subject.CommonName)
	if ce.pckCRL != nil || ce.rootCRL != nil {
		out.Authentic = false
		return out, nil
	}

	if err := stopped(); err != nil {
		return nil, err
	}
	if check(res, "tcb-info.verify", ce.tcbErr, "TCB Info signed by Intel SGX TCB Signing, valid at the verification time") {
		info := ce.tcbInfo
		out.TCBInfo = info
		if check(res, "tcb-info.match", info.Match(r.TEE, chain.Ext.FMSPC, chain.Ext.PCEID), "TCB Info %s v%d for FMSPC %x, PCE-ID %x, evaluation data number %d",
			info.ID, info.Version, info.FMSPC, info.PCEID, info.TCBEvaluationDataNumber) {
			if r.Module != nil {
				if err := r.Module(info); err != nil {
					res.Failf("tdx-module.identity", cloudra.ClassPolicy, "%v", err)
				} else {
					res.Passf("tdx-module.identity", "MRSIGNERSEAM and SEAM_ATTRIBUTES match the TDX module identity")
				}
			}
			p, err := r.Platform(info, chain.Ext)
			if check(res, "tcb.platform", err, "") {
				out.Platform = p
				res.Checks[len(res.Checks)-1].Detail = platformDetail(p)
			}
		}
	}
	if check(res, "qe-identity.verify", ce.qeErr, "QE Identity signed by Intel SGX TCB Signing, valid at the verification time") {
		id := ce.qeIdentity
		out.QEIdentity = id
		qr := &q.Signature().QE.Report
		qe, err := pcs.EvaluateQE(id, qr.ISVSVN, qr.MiscSelect, qr.Attributes, qr.MRSigner, qr.ISVProdID)
		if err != nil {
			res.Failf("qe-identity.match", cloudra.ClassPolicy, "%v", err)
		} else {
			out.QE = qe
			res.Passf("qe-identity.match", "QE %s: MRSIGNER, ISVPRODID %d, MISCSELECT, ATTRIBUTES match; ISVSVN %d → %s", qe.ID, qr.ISVProdID, qr.ISVSVN, qe.Status)
		}
	}
	if out.Platform != nil && out.QE != nil {
		v := pcs.Converge(out.Platform, out.QE)
		out.Verdict = &v
		res.TCB = &cloudra.TCB{Status: v.Status.String(), Advisories: v.Advisories}
		if !v.TCBDate.IsZero() {
			res.TCB.Date = v.TCBDate.UTC().Format(time.RFC3339)
		}
	}
	return out, nil
}

func platformDetail(p *pcs.TCBEvaluation) string {
	s := fmt.Sprintf("platform TCB level: %s", p.Status)
	if p.Status == pcs.NotSupported {
		s += " (no TCB level of the TCB Info matches this platform)"
	}
	if p.Module != nil {
		s += fmt.Sprintf("; TDX module %s: %s", p.Module.ID, p.Module.Status)
	}
	if !p.TCBDate.IsZero() {
		s += "; tcbDate " + p.TCBDate.UTC().Format("2006-01-02")
	}
	return s
}

// check records a pass (with the formatted detail) or a failure classified
// from err, and reports whether it passed.
func check(res *cloudra.Result, name string, err error, format string, args ...any) bool {
	if err != nil {
		res.Failf(name, classOf(err), "%v", err)
		return false
	}
	res.Passf(name, format, args...)
	return true
}

// classOf maps dcap and pcs errors to result classes.
func classOf(err error) cloudra.Class {
	var pe *dcap.ParseError
	switch {
	case errors.Is(err, ErrCandidateCap):
		// What was needed may be among the candidates not tried.
		return cloudra.ClassCollateral
	case errors.Is(err, dcap.ErrValidity), errors.Is(err, pcs.ErrExpired), errors.Is(err, pcs.ErrNotYetValid):
		return cloudra.ClassFresh
	case errors.Is(err, dcap.ErrChain), errors.Is(err, pcs.ErrChain), errors.Is(err, pcs.ErrRevoked), errors.Is(err, dcap.ErrRevoked):
		return cloudra.ClassChain
	case errors.Is(err, dcap.ErrSignature), errors.Is(err, pcs.ErrSignature):
		return cloudra.ClassSig
	case errors.Is(err, dcap.ErrBinding):
		return cloudra.ClassBinding
	case errors.As(err, &pe), errors.Is(err, pcs.ErrParse):
		return cloudra.ClassParse
	default: // pcs.ErrMismatch, pcs.ErrNotFound
		return cloudra.ClassCollateral
	}
}

// chain parses and verifies the PCK chain of certification data type 5,
// from the cache when the same bytes were verified before under one of
// roots.
func (e *Engine) chain(cd dcap.CertificationData, roots []*x509.Certificate, t time.Time) (*dcap.PCKChain, error) {
	e.mu.Lock()
	ent := e.chains[string(cd.Data)]
	e.mu.Unlock()
	if ent != nil && trusted(ent.chain.Root, roots) {
		if err := ent.chain.ValidAt(t); err != nil {
			return nil, err
		}
		return ent.chain, nil
	}
	certs, err := dcap.ParsePCKChain(cd.Data)
	if err != nil {
		return nil, err
	}
	c, err := dcap.VerifyPCKChain(certs, roots, t)
	if err != nil {
		return nil, err
	}
	boundedmap.Store(&e.mu, e.chains, maxCacheEntries, string(cd.Data), &chainEntry{chain: c})
	return c, nil
}

func trusted(root *x509.Certificate, roots []*x509.Certificate) bool {
	for _, r := range roots {
		if r == root || (r != nil && string(r.Raw) == string(root.Raw)) {
			return true
		}
	}
	return false
}

// collateral evaluates the time-dependent collateral steps over the
// candidates chosen from the collateral (see [choose]), from the cache when
// the same candidates were evaluated for the same chain at a time in the
// same validity interval. Warnings about ignored candidates go on res.
func (e *Engine) collateral(ctx context.Context, res *cloudra.Result, r Request, c *dcap.PCKChain) (*collEntry, error) {
	p := choose(r.Collateral, r.TEE, c, e.pemChain)
	for _, w := range p.warnings {
		res.Warn("%s", w)
	}
	// The chain pointer stands for its certificates: equal certification
	// data maps to the same cached chain.
	key := collKey{col: e.pickSum(p), tee: r.TEE, chain: c}
	e.mu.Lock()
	ent := e.colls[key]
	e.mu.Unlock()
	if ent != nil && r.Time.After(ent.lo) && r.Time.Before(ent.hi) {
		return ent, nil
	}
	t := r.Time
	s := &search{ctx: ctx, count: e.countSig, p: p, root: c.Root, at: t}
	ent = &collEntry{}
	var crl *x509.RevocationList
	crl, ent.pckCRL = s.findCRL(p.pckCRLs, p.pckCRLCapped, c.Intermediate)
	ent.pckCRL = revocation(crl, ent.pckCRL, c.Leaf, c.Intermediate)
	crl, ent.rootCRL = s.rootCRLOnce()
	ent.rootCRL = revocation(crl, ent.rootCRL, c.Intermediate, c.Root)
	ent.tcbInfo, ent.tcbErr = s.tcbInfo(r.TEE, c.Ext.FMSPC)
	ent.qeIdentity, ent.qeErr = s.qeIdentity(r.TEE)
	// A search cut short by ctx decided nothing: it is neither used nor
	// cached.
	if err := s.stopped(); err != nil {
		return nil, err
	}
	ent.lo, ent.hi = interval(p, c, t, s.bounds)
	if ent.lo.Before(t) && t.Before(ent.hi) {
		boundedmap.Store(&e.mu, e.colls, maxCacheEntries, key, ent)
	}
	return ent, nil
}

// pemChain parses a document's PEM issuer chain, from the cache when the
// same bytes were parsed before.
func (e *Engine) pemChain(b []byte) []*x509.Certificate {
	e.mu.Lock()
	certs, ok := e.pems[string(b)]
	e.mu.Unlock()
	if ok {
		return certs
	}
	certs = pcs.ParsePEMChain(b)
	boundedmap.Store(&e.mu, e.pems, maxCacheEntries, string(b), certs)
	return certs
}

// pickSum returns the SHA-256 of the pick's canonical serialisation,
// recognising recently seen picks by comparing bytes.
func (e *Engine) pickSum(p *pick) [32]byte {
	e.mu.Lock()
	for _, m := range e.memo {
		if p.walk(func(b []byte) bool {
			if len(m.snapshot) < len(b) || string(m.snapshot[:len(b)]) != string(b) {
				return false
			}
			m.snapshot = m.snapshot[len(b):]
			return true
		}) && len(m.snapshot) == 0 {
			e.mu.Unlock()
			return m.sum
		}
	}
	e.mu.Unlock()
	var snap []byte
	p.walk(func(b []byte) bool { snap = append(snap, b...); return true })
	m := colMemo{snapshot: snap, sum: sha256.Sum256(snap)}
	e.mu.Lock()
	if len(e.memo) >= maxMemo {
		e.memo = e.memo[1:]
	}
	e.memo = append(e.memo, m)
	e.mu.Unlock()
	return m.sum
}

// interval returns the widest open interval around t in which no
// certificate or CRL of the pick (or the PCK chain) starts or stops being
// valid and none of bounds (the windows of the documents parsed) lies:
// every time comparison made by the collateral steps has the same outcome
// anywhere inside it (nothing outside the pick is looked at).
func interval(p *pick, c *dcap.PCKChain, t time.Time, bounds []time.Time) (lo, hi time.Time) {
	lo, hi = time.Unix(0, 0), time.Unix(1<<40, 0)
	add := func(b time.Time) {
		if !b.After(t) && b.After(lo) {
			lo = b
		}
		if !b.Before(t) && b.Before(hi) {
			hi = b
		}
	}
	for _, x := range append(p.signers[:len(p.signers):len(p.signers)], c.Leaf, c.Intermediate, c.Root) {
		add(x.NotBefore)
		add(x.NotAfter)
	}
	for _, l := range append(p.pckCRLs[:len(p.pckCRLs):len(p.pckCRLs)], p.rootCRLs...) {
		add(l.ThisUpdate)
		add(l.NextUpdate)
	}
	for _, b := range bounds {
		add(b)
	}
	return lo, hi
}
