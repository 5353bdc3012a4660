package sevsnp

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/boundedmap"
	"github.com/cloudra/cloudra/internal/lebytes"
)

// Platform is the platform name in results.
const Platform = "sev-snp"

// Evidence is what a guest produces: the report, optionally the extended
// report's certificate table, and an optional product hint ("Milan", …) for
// v2 reports, which carry no CPUID.
type Evidence struct {
	Report    []byte
	CertTable []byte
	Product   string
}

// maxCache bounds each cache of a Verifier. When full, a cache is emptied
// rather than growing: entries are cheap to rebuild.
const maxCache = 512

// maxLeafSignatureTries bounds the report-signature checks one verification
// makes over candidate VCEK/VLEK certificates (ordered by hwID and TCB
// match): a real extended report or collateral set offers one or two, and a
// bundle of junk certificates must not buy unbounded P-384 work.
const maxLeafSignatureTries = 4

// maxIntermediateTries bounds the ASK/ASVK signature checks per pinned ARK
// over candidate intermediates (the compiled-in one is tried first).
const maxIntermediateTries = 4

// Verifier verifies SEV-SNP evidence. It is safe for concurrent use. It
// caches parsed VCEK/VLEK certificates and verified chains keyed by the
// SHA-256 of the DER bytes (a cached chain is used only inside the
// intersection of its certificates' validity windows at Options.Time), and CRL
// signatures keyed by CRL and ARK; so a warm verification costs about one
// P-384 signature check. The caches hold only facts derived from the bytes,
// never decisions that depend on policy.
type Verifier struct {
	roots *Roots

	mu     sync.Mutex
	leaves map[[32]byte]*leafEntry
	chains map[chainKey]*chainEntry
	crls   map[crlKey]error
}

// NewVerifier returns a verifier trusting roots.
func NewVerifier(r *Roots) *Verifier {
	return &Verifier{roots: r, leaves: map[[32]byte]*leafEntry{}, chains: map[chainKey]*chainEntry{}, crls: map[crlKey]error{}}
}

func (v *Verifier) leaf(h [32]byte, parsed *x509.Certificate, der []byte) (*leafEntry, error) {
	v.mu.Lock()
	e, ok := v.leaves[h]
	v.mu.Unlock()
	if ok {
		return e, nil
	}
	if parsed == nil {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		parsed = c
	}
	e = newLeafEntry(parsed, h)
	boundedmap.Store(&v.mu, v.leaves, maxCache, h, e)
	return e, nil
}

// Check names used in results.
const (
	checkParse     = "report.parse"
	checkSize      = "report.size"
	checkProduct   = "report.product"
	checkSigner    = "report.signer"
	checkSignature = "report.signature"
	checkCertTable = "certtable.parse"
	checkARK       = "chain.ark-pinned"
	checkASK       = "chain.ask"
	checkLeaf      = "chain.leaf"
	checkCRL       = "chain.crl"
	checkHWID      = "leaf.hwid"
	checkLeafTCB   = "leaf.tcb"
)

// Verify verifies ev against col, pol and opts.Time. pol may be nil (the
// default policy).
//
// When a decision was made it returns the finished Result, and with it a
// [*cloudra.RejectedError] (errors.Is [cloudra.ErrRejected]) unless the
// verdict is pass: an error-only check never accepts rejected evidence.
// Claims are present only when signature and chain verify.
//
// When no decision is possible it returns a nil Result and the reason:
// opts.Time is zero ([cloudra.ErrNoTime]), the verifier has no roots, or the
// VCEK/VLEK (or, for a test root, the ASK) is missing
// ([*cloudra.MissingCollateralError] with the KDS URLs).
func (v *Verifier) Verify(ctx context.Context, ev Evidence, col *cloudra.Collateral, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	return cloudra.Decide(v.verify(ctx, ev, col, pol, opts))
}

// verify is Verify with the verdict in the result only.
func (v *Verifier) verify(ctx context.Context, ev Evidence, col *cloudra.Collateral, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	if opts.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	if v == nil || v.roots == nil {
		return nil, errors.New("sevsnp: verifier has no roots (hint: use NewVerifier(DefaultRoots()))")
	}
	if pol == nil {
		pol = &Policy{}
	}
	if col == nil {
		col = &cloudra.Collateral{}
	}
	s := verification{v: v, ev: ev, opts: opts,
		res: &cloudra.Result{Platform: Platform, Checks: make([]cloudra.Check, 0, 40)}}
	var candBuf [4]*leafEntry // a real report has one or two candidates
	s.cands = candBuf[:0]
	var interBuf [4]*x509.Certificate // candidate intermediates
	inters := interBuf[:0]
	// The steps in the order of the checks they record; each returns
	// errDecided when the result is final, or an error when no decision is
	// possible. Policy, collateral and intermediates go to the steps that
	// read them rather than into s, so that they stay on the stack.
	err := s.parse()
	if err == nil {
		err = s.signerKind()
	}
	if err == nil {
		err = s.product(pol.Product)
	}
	if err == nil {
		inters, err = s.candidates(col, inters)
	}
	if err == nil {
		err = s.signature(ctx, inters)
	}
	if err == nil {
		err = s.chainToARK(inters)
	}
	if err == nil {
		err = s.revocation(col, pol.RequireCRL)
	}
	if err == nil {
		s.binding(pol.AllowMaskedChipID)
		appraise(s.res, s.r, s.prod, s.vlek, pol)
		s.res.Claims = &claims{r: s.r, product: s.prod, signer: s.signer.name}
		s.res.TCB = &cloudra.TCB{Status: "reported", Components: s.reported.Components()}
	}
	if s.ahead != nil {
		<-s.ahead.done // never outlives the call
	}
	if err != nil && !errors.Is(err, errDecided) {
		return nil, err
	}
	return s.res.Finish(), nil
}

// errDecided ends the steps of a verification whose result is final.
var errDecided = errors.New("sevsnp: decided")

// verification is the state one Verify call carries from step to step.
type verification struct {
	v    *Verifier
	ev   Evidence
	opts cloudra.Options
	res  *cloudra.Result

	r     *Report
	table *CertTable
	vlek  bool
	prod  string // product line, "" until known

	// Candidate leaves from collateral and the certificate table,
	// deduplicated by pointer (leaf entries are cached by certificate hash);
	// past a few, through a set, so that a folder or bundle of thousands of
	// certificates costs linear time.
	cands     []*leafEntry
	seen      map[*leafEntry]bool
	wrongKind int

	reported TCBParts
	signer   *leafEntry
	chain    *chainEntry
	// ahead is the chain of the first candidate, verified while its
	// report signature is checked when it is not cached (see signature).
	ahead *chainAhead
}

// fail records a failed check and ends the verification.
func (s *verification) fail(check string, class cloudra.Class, format string, args ...any) error {
	s.res.Failf(check, class, format, args...)
	return errDecided
}

// parse parses the report and the certificate table. Bytes after the
// 1184-byte report are a parse failure, but the report itself is still
// parsed and its signature still checked, so the result says both what is
// wrong with the file and whether the report is genuine (LIT's
// guest_report_bad_sig.bin).
func (s *verification) parse() error {
	raw := s.ev.Report
	if len(raw) > ReportSize {
		s.res.Failf(checkSize, cloudra.ClassParse, "%d bytes after the %d-byte report (trailing data is not accepted)", len(raw)-ReportSize, ReportSize)
		raw = raw[:ReportSize]
	}
	r, err := ParseReport(raw)
	if err != nil {
		return s.fail(checkParse, cloudra.ClassParse, "%v", err)
	}
	s.r = r
	s.res.Add(checkParse, cloudra.OutcomePass, "", "")
	if len(s.ev.CertTable) > 0 {
		s.table, err = ParseCertTable(s.ev.CertTable)
		if err != nil {
			return s.fail(checkCertTable, cloudra.ClassParse, "%v", err)
		}
		s.res.Add(checkCertTable, cloudra.OutcomePass, "", "")
	}
	return nil
}

// signerKind reads which key signed the report: VCEK, VLEK or none.
func (s *verification) signerKind() error {
	switch {
	case s.r.MaskChipKey():
		return s.fail(checkSigner, cloudra.ClassSig, "MASK_CHIP_KEY is set: the report is not signed")
	case s.r.SigningKey() == SigningKeyNone:
		return s.fail(checkSigner, cloudra.ClassSig, "SIGNING_KEY is 7 (none): the report is not signed")
	case s.r.SigningKey() == SigningKeyVLEK:
		s.vlek = true
	}
	return nil
}

// product resolves the product line: CPUID (v3+), the caller's hint, the
// policy. They must agree; with none of them the leaf's product-name
// extension decides in candidates. Never a silent default.
func (s *verification) product(pinned string) error {
	p, ok := s.v.resolveProduct(s.res, s.r, s.ev.Product, pinned)
	if !ok {
		return errDecided
	}
	s.prod = p
	return nil
}

// addLeaf adds e to the candidates unless it is there already or is of the
// other kind (VCEK for a VLEK-signed report or the reverse).
func (s *verification) addLeaf(e *leafEntry) {
	if s.seen == nil && len(s.cands) >= 8 {
		s.seen = make(map[*leafEntry]bool, 2*len(s.cands))
		for _, c := range s.cands {
			s.seen[c] = true
		}
	}
	if s.seen != nil {
		if s.seen[e] {
			return
		}
		s.seen[e] = true
	} else {
		for _, c := range s.cands {
			if c == e {
				return
			}
		}
	}
	if e.vlek != s.vlek {
		s.wrongKind++
		return
	}
	s.cands = append(s.cands, e)
}

// candidates gathers the candidate leaves and, appended to inters, the
// intermediates from the collateral and the certificate table, and takes the
// product line from a leaf when nothing else named it.
func (s *verification) candidates(col *cloudra.Collateral, inters []*x509.Certificate) ([]*x509.Certificate, error) {
	for _, c := range col.Certificates {
		switch cn := c.Subject.CommonName; {
		case cn == cnVCEK || cn == cnVLEK:
			e, _ := s.v.leaf(certHash(c), c, nil)
			s.addLeaf(e)
		case len(cn) > 4 && cn[:4] == "SEV-":
			inters = append(inters, c)
		}
	}
	inters, err := s.tableCandidates(inters)
	if err != nil {
		return nil, err
	}
	if len(s.cands) == 0 {
		if s.wrongKind > 0 {
			return nil, s.fail(checkSigner, cloudra.ClassChain, "report SIGNING_KEY is %s but only %s certificates were supplied", kindName(s.vlek), kindName(!s.vlek))
		}
		return nil, decided(s.res, missingLeaf(s.r, s.prod, s.vlek))
	}
	if s.prod != "" {
		return inters, nil
	}
	for _, c := range s.cands {
		if c.ext != nil {
			if p := ProductFromName(c.ext.ProductName); p != "" {
				s.prod = p
				break
			}
		}
	}
	if s.prod == "" {
		return nil, s.fail(checkProduct, cloudra.ClassParse, "product line unknown: v2 report without a hint and no certificate names one (hint: pass the product, e.g. Milan)")
	}
	s.res.Add(checkProduct, cloudra.OutcomePass, "", "from the certificate's product-name extension: "+s.prod)
	return inters, nil
}

// tableCandidates adds the leaves and intermediates of the certificate
// table. A host-supplied ARK is never a root (go-sev-guest #185).
func (s *verification) tableCandidates(inters []*x509.Certificate) ([]*x509.Certificate, error) {
	if s.table == nil {
		return inters, nil
	}
	for _, ent := range s.table.Entries {
		switch ent.GUID {
		case GUIDVCEK(), GUIDVLEK():
			e, err := s.v.leaf(sha256.Sum256(ent.Data), nil, ent.Data)
			if err != nil {
				return nil, s.fail(checkCertTable, cloudra.ClassParse, "certificate %s: %v", ent.GUID, err)
			}
			s.addLeaf(e)
		case GUIDASK():
			c, err := x509.ParseCertificate(ent.Data)
			if err != nil {
				return nil, s.fail(checkCertTable, cloudra.ClassParse, "ASK entry: %v", err)
			}
			inters = append(inters, c)
		case GUIDARK():
			s.res.Add("certtable.ark", cloudra.OutcomeSkip, "", "host-supplied ARK ignored: trust ends at the pinned ARK")
		}
	}
	return inters, nil
}

// signature checks the report signature under the candidates, those whose
// hwID and TCB match first, so a warm verification costs one P-384 check.
func (s *verification) signature(ctx context.Context, inters []*x509.Certificate) error {
	r := s.r
	digest := sha512.Sum384(r.Signed())
	s.reported = r.ReportedTCB.Parts(s.prod)
	orderCandidates(s.cands, r, s.prod, s.reported)
	// A cold verification checks one P-384 signature (with Go's one-time
	// generator tables) and a chain of two RSA-4096 signatures: independent
	// work, done side by side. The chain's result is used only if that
	// candidate signed the report.
	for _, c := range s.cands {
		if c.leafProblem() == "" {
			s.ahead = s.v.chainAhead(c, s.prod, inters, s.opts)
			break
		}
	}
	var problems, tried int
	for _, c := range s.cands {
		if c.leafProblem() != "" {
			problems++
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if tried == maxLeafSignatureTries {
			break
		}
		tried++
		if verifyReportSig(c.pub, digest[:], &r.R, &r.S) {
			s.signer = c
			break
		}
	}
	if s.signer != nil {
		s.res.Add(checkSignature, cloudra.OutcomePass, "", "")
		s.res.Signer = s.signer.name
		return nil
	}
	if untried := len(s.cands) - problems - tried; untried > 0 {
		s.res.Warn("%d further candidate %s certificate(s) not tried: at most %d signature checks per report, best hwID/TCB match first", untried, kindName(s.vlek), maxLeafSignatureTries)
	}
	if problems == len(s.cands) {
		return s.fail(checkLeaf, cloudra.ClassChain, "no usable %s: %s", kindName(s.vlek), s.cands[0].leafProblem())
	}
	return s.fail(checkSignature, cloudra.ClassSig, "ECDSA P-384 signature over report[0:0x2A0] does not verify under any of %d candidate %s certificate(s) tried", tried, kindName(s.vlek))
}

// chainToARK verifies the signer's chain to the pinned ARK.
func (s *verification) chainToARK(inters []*x509.Certificate) error {
	var chain *chainEntry
	var err error
	if a := s.ahead; a != nil && a.leaf == s.signer {
		<-a.done
		chain, err = a.chain, a.err
	} else {
		chain, err = s.v.chain(s.signer, s.prod, inters, s.opts)
	}
	if err != nil {
		return s.chainFailure(err)
	}
	s.chain = chain
	if chain.test {
		s.res.Add(checkARK, cloudra.OutcomeWarn, "", chain.detail)
	} else {
		s.res.Add(checkARK, cloudra.OutcomePass, "", chain.detail)
	}
	s.res.Add(checkASK, cloudra.OutcomePass, "", chain.inter.Subject.CommonName)
	s.res.Add(checkLeaf, cloudra.OutcomePass, "", "")
	return nil
}

// chainFailure records why the chain did not verify, or names the missing
// intermediate.
func (s *verification) chainFailure(err error) error {
	var ce *chainError
	switch {
	case errors.As(err, &ce):
		cls := cloudra.ClassChain
		if ce.fresh {
			cls = cloudra.ClassFresh
		}
		return s.fail(ce.check, cls, "%s", ce.msg)
	case errors.Is(err, errNoIntermediate):
		if !s.opts.AllowTestRoots && len(s.v.roots.anchors(s.prod, false)) == 0 {
			return s.fail(checkARK, cloudra.ClassChain, "no pinned ARK for product %q", s.prod)
		}
		return decided(s.res, &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{
			What: intermediateCN(s.prod, s.vlek) + " certificate (issuer of the " + kindName(s.vlek) + ")",
			URL:  CertChainURL(s.prod, s.vlek),
		}}})
	}
	return err
}

// revocation checks the intermediate against the ARK's CRL.
func (s *verification) revocation(col *cloudra.Collateral, requireCRL bool) error {
	if !s.v.checkCRL(s.res, s.chain, col, s.table, requireCRL, s.opts.Time, s.prod, s.vlek) {
		return errDecided
	}
	return nil
}

// binding checks that the leaf belongs to this report: its hwID (VCEK) and
// its SPLs.
func (s *verification) binding(allowMaskedChipID bool) {
	ext := s.signer.ext
	if !s.vlek {
		checkHWIDBinding(s.res, s.r, ext.HWID, s.prod, allowMaskedChipID)
	} else {
		s.res.Add(checkHWID, cloudra.OutcomeSkip, "", "VLEK: no hwID; bound to the cloud provider key "+ext.CSPID)
		if strings.HasSuffix(ext.CSPID, ".amazonaws.com") {
			s.res.Cloud = "aws"
		}
	}
	if leafTCB := ext.TCB(s.prod); leafTCB != s.reported {
		s.res.Failf(checkLeafTCB, cloudra.ClassPolicy, "certificate SPLs %s differ from REPORTED_TCB %s", leafTCB, s.reported)
	} else {
		s.res.Add(checkLeafTCB, cloudra.OutcomePass, "", "")
	}
}

// decided returns missing-collateral err, unless res already holds a
// failure that rejects the evidence whatever the missing certificate would
// show (trailing bytes after the report, in parse): then the decision is
// REJECT/parse and the unchecked signature is recorded as skipped, so a
// decided rejection is not reported as undecided (docs/pitfalls-snp.md V4).
func decided(res *cloudra.Result, err error) error {
	if !res.Failed() {
		return err
	}
	res.Add(checkSignature, cloudra.OutcomeSkip, "", "not checked: "+err.Error())
	return errDecided
}

func kindName(vlek bool) string {
	if vlek {
		return "VLEK"
	}
	return "VCEK"
}

func (v *Verifier) resolveProduct(res *cloudra.Result, r *Report, hint, pinned string) (string, bool) {
	product := ""
	if r.Version >= 3 {
		product = ProductFromCPUID(r.CPUIDFamily, r.CPUIDModel)
	}
	for _, s := range []struct{ name, v string }{{"hint", hint}, {"policy", pinned}} {
		if s.v == "" {
			continue
		}
		p := ProductFromName(s.v)
		if p == "" {
			res.Failf(checkProduct, cloudra.ClassParse, "unknown product %q in the %s (Milan, Genoa, Turin)", s.v, s.name)
			return "", false
		}
		if product != "" && p != product {
			cls := cloudra.ClassParse
			if s.name == "policy" {
				cls = cloudra.ClassPolicy
			}
			res.Failf(checkProduct, cls, "%s says %s but the report is from %s", s.name, p, product)
			return "", false
		}
		product = p
	}
	if product != "" {
		res.Add(checkProduct, cloudra.OutcomePass, "", product)
	}
	return product, true
}

// missingLeaf builds the error naming the VCEK/VLEK to fetch. Without a
// product (v2 report, no hint) it lists one URL per product line.
func missingLeaf(r *Report, product string, vlek bool) error {
	products := []string{product}
	if product == "" {
		products = []string{Milan, Genoa, Turin}
	}
	var items []cloudra.CollateralRef
	for _, p := range products {
		u := URLsFor(r, p)
		what := kindName(vlek) + " for " + p
		if vlek {
			what += " (KDS serves VLEKs to the cloud provider only: collect the guest's extended report)"
		} else if p == Turin {
			what += " chip " + hexPrefix(r.ChipID[:8])
		} else {
			what += " chip " + hexPrefix(r.ChipID[:8]) + "…"
		}
		items = append(items, cloudra.CollateralRef{What: what, URL: u.Leaf})
	}
	return &cloudra.MissingCollateralError{Items: items}
}

func hexPrefix(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// orderCandidates moves leaves whose hwID and SPLs match the report to the
// front (V7: the certificate next to a report may be another chip's).
func orderCandidates(c []*leafEntry, r *Report, product string, reported TCBParts) {
	score := func(e *leafEntry) int {
		if e.ext == nil {
			return 0
		}
		s := 0
		if hwidMatches(e.ext.HWID, &r.ChipID) {
			s += 2
		}
		if e.ext.TCB(product) == reported {
			s++
		}
		return s
	}
	if len(c) < 2 {
		return
	}
	sort.SliceStable(c, func(i, j int) bool { return score(c[i]) > score(c[j]) })
}

func hwidMatches(hwid []byte, chip *[64]byte) bool {
	switch len(hwid) {
	case 64:
		return string(hwid) == string(chip[:])
	case 8:
		return string(hwid) == string(chip[:8]) && lebytes.IsZero(chip[8:])
	}
	return false
}

func checkHWIDBinding(res *cloudra.Result, r *Report, hwid []byte, product string, allowMasked bool) {
	if lebytes.IsZero(r.ChipID[:]) {
		if allowMasked {
			res.Add(checkHWID, cloudra.OutcomeWarn, "", "CHIP_ID is masked (all zero); allowed by policy allow-masked-chip-id")
			return
		}
		res.Failf(checkHWID, cloudra.ClassBinding, "CHIP_ID is all zero (MASK_CHIP_ID) on a VCEK-signed report (hint: set allow-masked-chip-id)")
		return
	}
	if product == Turin && len(hwid) != 8 || product != Turin && len(hwid) != 64 {
		res.Failf(checkHWID, cloudra.ClassBinding, "hwID is %d bytes; %s VCEKs carry %d", len(hwid), product, map[bool]int{true: 8, false: 64}[product == Turin])
		return
	}
	if !hwidMatches(hwid, &r.ChipID) {
		res.Failf(checkHWID, cloudra.ClassBinding, "VCEK hwID %x does not match CHIP_ID %x", hwid, r.ChipID[:len(hwid)])
		return
	}
	res.Add(checkHWID, cloudra.OutcomePass, "", "")
}

// verifyReportSig checks the ECDSA P-384 signature. R and S are 72-byte
// little-endian integers (ABI spec, "ECDSA P-384 with SHA-384" signature
// format); they are converted to one DER ECDSA-Sig-Value and checked once.
// There is no fallback to any other byte order or hash (docs/pitfalls-snp.md A6).
//
// Range: r and s must lie in [1, n-1] (FIPS 186-5 §6.4.2); zero is refused
// here, values ≥ n by crypto/ecdsa, and bytes 48–71 were checked zero by
// ParseReport. Any s in range is accepted, high or low: the ABI states no
// low-S rule and the firmware does not normalise s. Malleability yields a
// second signature over the same signed bytes only, and nothing in cloudra
// takes the signature bytes as an identity (docs/pitfalls-snp.md, "ECDSA
// high-S").
func verifyReportSig(pub *ecdsa.PublicKey, digest []byte, r, s *[sigComponentLen]byte) bool {
	var buf [2 + 2*(2+1+p384Len)]byte
	der := buf[:2]
	var be [p384Len]byte
	for _, x := range []*[sigComponentLen]byte{r, s} {
		for i := 0; i < p384Len; i++ {
			be[i] = x[p384Len-1-i]
		}
		v := be[:]
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) == 0 {
			return false // zero is not a valid r or s
		}
		n := len(v)
		if v[0]&0x80 != 0 {
			der = append(der, 0x02, byte(n+1), 0)
		} else {
			der = append(der, 0x02, byte(n))
		}
		der = append(der, v...)
	}
	der[0], der[1] = 0x30, byte(len(der)-2)
	return ecdsa.VerifyASN1(pub, digest, der)
}

func (v *Verifier) chain(leaf *leafEntry, product string, inters []*x509.Certificate, opts cloudra.Options) (*chainEntry, error) {
	if ce := v.cachedChain(leaf, product, opts); ce != nil {
		return ce, nil
	}
	return v.verifyChain(leaf, product, inters, opts)
}

// cachedChain returns the verified chain of leaf from the cache, if it is
// there and usable at opts.
func (v *Verifier) cachedChain(leaf *leafEntry, product string, opts cloudra.Options) *chainEntry {
	v.mu.Lock()
	ce, ok := v.chains[chainKey{leaf: leaf.hash, product: product}]
	v.mu.Unlock()
	if ok && ce.validAt(opts.Time) && (!ce.test || opts.AllowTestRoots) {
		return ce
	}
	return nil
}

// chainAhead is a chain verified on another goroutine.
type chainAhead struct {
	leaf  *leafEntry
	done  chan struct{}
	chain *chainEntry
	err   error
}

// chainAhead starts verifying leaf's chain when it is not cached; nil when
// it is (the warm path spawns nothing).
func (v *Verifier) chainAhead(leaf *leafEntry, product string, inters []*x509.Certificate, opts cloudra.Options) *chainAhead {
	if v.cachedChain(leaf, product, opts) != nil {
		return nil
	}
	a := &chainAhead{leaf: leaf, done: make(chan struct{})}
	own := slices.Clone(inters) // the caller's stays on its stack
	go func() {
		defer close(a.done)
		a.chain, a.err = v.verifyChain(leaf, product, own, opts)
	}()
	return a
}

// verifyChain verifies leaf's chain and caches it.
func (v *Verifier) verifyChain(leaf *leafEntry, product string, inters []*x509.Certificate, opts cloudra.Options) (*chainEntry, error) {
	key := chainKey{leaf: leaf.hash, product: product}
	ce, err := verifyChain(leaf, product, v.roots.anchors(product, opts.AllowTestRoots), inters, opts.Time)
	if err != nil {
		return nil, err
	}
	boundedmap.Store(&v.mu, v.chains, maxCache, key, ce)
	return ce, nil
}

// crlSignature checks the signature of crl under ark (whose certificate
// hash is arkHash), through the cache.
func (v *Verifier) crlSignature(crl *x509.RevocationList, ark *x509.Certificate, arkHash [32]byte) error {
	key := crlKey{crl: sha256.Sum256(crl.Raw), ark: arkHash}
	v.mu.Lock()
	sigErr, ok := v.crls[key]
	v.mu.Unlock()
	if ok {
		return sigErr
	}
	sigErr = crl.CheckSignatureFrom(ark)
	boundedmap.Store(&v.mu, v.crls, maxCache, key, sigErr)
	return sigErr
}

// checkCRL looks for CRLs issued by the chain's ARK (collateral and the
// certificate table), verifies each under the ARK, checks its window at t and
// whether it revokes the intermediate. It returns false when verification
// must stop.
func (v *Verifier) checkCRL(res *cloudra.Result, chain *chainEntry, col *cloudra.Collateral, table *CertTable, require bool, t time.Time, product string, vlek bool) bool {
	crls := col.CRLs
	if der, ok := table.Get(GUIDCRL()); ok {
		c, err := x509.ParseRevocationList(der)
		if err != nil {
			res.Failf(checkCRL, cloudra.ClassParse, "CRL in the certificate table: %v", err)
			return false
		}
		crls = append(crls[:len(crls):len(crls)], c)
	}
	arkHash := certHash(chain.ark)
	used := 0
	for _, crl := range crls {
		if string(crl.RawIssuer) != string(chain.ark.RawSubject) {
			continue
		}
		if sigErr := v.crlSignature(crl, chain.ark, arkHash); sigErr != nil {
			res.Failf(checkCRL, cloudra.ClassChain, "CRL naming %s as issuer does not verify under it: %v", chain.ark.Subject.CommonName, sigErr)
			return false
		}
		switch {
		case crl.NextUpdate.IsZero():
			res.Failf(checkCRL, cloudra.ClassFresh, "CRL has no nextUpdate")
			return false
		case t.Before(crl.ThisUpdate):
			res.Failf(checkCRL, cloudra.ClassFresh, "CRL thisUpdate %s is after the verification time %s", crl.ThisUpdate.Format(time.RFC3339), t.Format(time.RFC3339))
			return false
		case t.After(crl.NextUpdate):
			res.Failf(checkCRL, cloudra.ClassFresh, "CRL expired: nextUpdate %s before the verification time %s (hint: fetch %s)", crl.NextUpdate.Format(time.RFC3339), t.Format(time.RFC3339), CRLURL(product, vlek))
			return false
		}
		for _, rc := range crl.RevokedCertificateEntries {
			if rc.SerialNumber != nil && rc.SerialNumber.Cmp(chain.inter.SerialNumber) == 0 {
				res.Failf(checkCRL, cloudra.ClassChain, "%s (serial %x) is revoked by %s", chain.inter.Subject.CommonName, chain.inter.SerialNumber, chain.ark.Subject.CommonName)
				return false
			}
		}
		used++
	}
	if used > 0 {
		res.Add(checkCRL, cloudra.OutcomePass, "", "")
		return true
	}
	if require {
		res.Failf(checkCRL, cloudra.ClassCollateral, "no CRL signed by %s at hand and policy require-crl is set (hint: fetch %s)", chain.ark.Subject.CommonName, CRLURL(product, vlek))
		return false
	}
	res.Add(checkCRL, cloudra.OutcomeSkip, "", "no CRL at hand: revocation not checked (fail-open; set require-crl to fail closed)")
	res.Warnings = append(res.Warnings, "sev-snp: revocation not checked: no AMD CRL in the collateral")
	return true
}
