package sevsnp

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudra/cloudra"
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
	v.mu.Lock()
	if len(v.leaves) >= maxCache {
		clear(v.leaves)
	}
	v.leaves[h] = e
	v.mu.Unlock()
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
	res, err := v.verify(ctx, ev, col, pol, opts)
	if err != nil {
		return nil, err
	}
	return res, res.Err()
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
	res := &cloudra.Result{Platform: Platform, Checks: make([]cloudra.Check, 0, 40)}

	// 1. Parse. Bytes after the 1184-byte report are a parse failure, but the
	// report itself is still parsed and its signature still checked, so the
	// result says both what is wrong with the file and whether the report is
	// genuine (LIT's guest_report_bad_sig.bin).
	raw := ev.Report
	if len(raw) > ReportSize {
		res.Failf(checkSize, cloudra.ClassParse, "%d bytes after the %d-byte report (trailing data is not accepted)", len(raw)-ReportSize, ReportSize)
		raw = raw[:ReportSize]
	}
	r, err := ParseReport(raw)
	if err != nil {
		res.Failf(checkParse, cloudra.ClassParse, "%v", err)
		return res.Finish(), nil
	}
	res.Add(checkParse, cloudra.OutcomePass, "", "")

	var table *CertTable
	if len(ev.CertTable) > 0 {
		table, err = ParseCertTable(ev.CertTable)
		if err != nil {
			res.Failf(checkCertTable, cloudra.ClassParse, "%v", err)
			return res.Finish(), nil
		}
		res.Add(checkCertTable, cloudra.OutcomePass, "", "")
	}

	// 2. Signer kind.
	vlek := false
	switch {
	case r.MaskChipKey():
		res.Failf(checkSigner, cloudra.ClassSig, "MASK_CHIP_KEY is set: the report is not signed")
		return res.Finish(), nil
	case r.SigningKey() == SigningKeyNone:
		res.Failf(checkSigner, cloudra.ClassSig, "SIGNING_KEY is 7 (none): the report is not signed")
		return res.Finish(), nil
	case r.SigningKey() == SigningKeyVLEK:
		vlek = true
	}

	// 3. Product line: CPUID (v3+), the caller's hint, the policy. They must
	// agree; with none of them the leaf's product-name extension decides
	// below. Never a silent default.
	product, ok := v.resolveProduct(res, r, ev.Product, pol.Product)
	if !ok {
		return res.Finish(), nil
	}

	// 4. Candidate leaves from collateral and the certificate table.
	var candBuf [4]*leafEntry
	cands := candBuf[:0]
	var inters []*x509.Certificate
	wrongKind := 0
	// Candidates are deduplicated by pointer (leaf entries are cached by
	// certificate hash); past a few, through a set, so that a folder or
	// bundle of thousands of certificates costs linear time.
	var seen map[*leafEntry]bool
	addLeaf := func(e *leafEntry) {
		if seen == nil && len(cands) >= 8 {
			seen = make(map[*leafEntry]bool, 2*len(cands))
			for _, c := range cands {
				seen[c] = true
			}
		}
		if seen != nil {
			if seen[e] {
				return
			}
			seen[e] = true
		} else {
			for _, c := range cands {
				if c == e {
					return
				}
			}
		}
		if e.vlek != vlek {
			wrongKind++
			return
		}
		cands = append(cands, e)
	}
	for _, c := range col.Certificates {
		switch cn := c.Subject.CommonName; {
		case cn == cnVCEK || cn == cnVLEK:
			e, _ := v.leaf(certHash(c), c, nil)
			addLeaf(e)
		case len(cn) > 4 && cn[:4] == "SEV-":
			inters = append(inters, c)
		}
	}
	if table != nil {
		for _, ent := range table.Entries {
			switch ent.GUID {
			case GUIDVCEK(), GUIDVLEK():
				e, err := v.leaf(sha256.Sum256(ent.Data), nil, ent.Data)
				if err != nil {
					res.Failf(checkCertTable, cloudra.ClassParse, "certificate %s: %v", ent.GUID, err)
					return res.Finish(), nil
				}
				addLeaf(e)
			case GUIDASK():
				c, err := x509.ParseCertificate(ent.Data)
				if err != nil {
					res.Failf(checkCertTable, cloudra.ClassParse, "ASK entry: %v", err)
					return res.Finish(), nil
				}
				inters = append(inters, c)
			case GUIDARK():
				// A host-supplied ARK is never a root (go-sev-guest #185).
				res.Add("certtable.ark", cloudra.OutcomeSkip, "", "host-supplied ARK ignored: trust ends at the pinned ARK")
			}
		}
	}
	if len(cands) == 0 {
		if wrongKind > 0 {
			res.Failf(checkSigner, cloudra.ClassChain, "report SIGNING_KEY is %s but only %s certificates were supplied", kindName(vlek), kindName(!vlek))
			return res.Finish(), nil
		}
		return decidedOr(res, missingLeaf(r, product, vlek))
	}
	if product == "" {
		for _, c := range cands {
			if c.ext != nil {
				if p := ProductFromName(c.ext.ProductName); p != "" {
					product = p
					break
				}
			}
		}
		if product == "" {
			res.Failf(checkProduct, cloudra.ClassParse, "product line unknown: v2 report without a hint and no certificate names one (hint: pass the product, e.g. Milan)")
			return res.Finish(), nil
		}
		res.Add(checkProduct, cloudra.OutcomePass, "", "from the certificate's product-name extension: "+product)
	}

	// 5. Signature: try the candidates whose hwID and TCB match first, so a
	// warm verification costs one P-384 check.
	digest := sha512.Sum384(r.Signed())
	reported := r.ReportedTCB.Parts(product)
	orderCandidates(cands, r, product, reported)
	var signer *leafEntry
	var problems, tried int
	for _, c := range cands {
		if c.leafProblem() != "" {
			problems++
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if tried == maxLeafSignatureTries {
			break
		}
		tried++
		if verifyReportSig(c.pub, digest[:], &r.R, &r.S) {
			signer = c
			break
		}
	}
	if untried := len(cands) - problems - tried; untried > 0 && signer == nil {
		res.Warn("%d further candidate %s certificate(s) not tried: at most %d signature checks per report, best hwID/TCB match first", untried, kindName(vlek), maxLeafSignatureTries)
	}
	if signer == nil {
		if problems == len(cands) {
			res.Failf(checkLeaf, cloudra.ClassChain, "no usable %s: %s", kindName(vlek), cands[0].leafProblem())
		} else {
			res.Failf(checkSignature, cloudra.ClassSig, "ECDSA P-384 signature over report[0:0x2A0] does not verify under any of %d candidate %s certificate(s) tried", tried, kindName(vlek))
		}
		return res.Finish(), nil
	}
	res.Add(checkSignature, cloudra.OutcomePass, "", "")
	res.Signer = signer.name

	// 6. Chain to the pinned ARK.
	chain, err := v.chain(signer, product, inters, opts)
	if err != nil {
		var ce *chainError
		switch {
		case errors.As(err, &ce):
			cls := cloudra.ClassChain
			if ce.fresh {
				cls = cloudra.ClassFresh
			}
			res.Failf(ce.check, cls, "%s", ce.msg)
			return res.Finish(), nil
		case errors.Is(err, errNoIntermediate):
			if !opts.AllowTestRoots && len(v.roots.anchors(product, false)) == 0 {
				res.Failf(checkARK, cloudra.ClassChain, "no pinned ARK for product %q", product)
				return res.Finish(), nil
			}
			return decidedOr(res, &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{
				What: intermediateCN(product, vlek) + " certificate (issuer of the " + kindName(vlek) + ")",
				URL:  CertChainURL(product, vlek),
			}}})
		}
		return nil, err
	}
	if chain.test {
		res.Add(checkARK, cloudra.OutcomeWarn, "", chain.detail)
	} else {
		res.Add(checkARK, cloudra.OutcomePass, "", chain.detail)
	}
	res.Add(checkASK, cloudra.OutcomePass, "", chain.inter.Subject.CommonName)
	res.Add(checkLeaf, cloudra.OutcomePass, "", "")

	// 7. Revocation of the intermediate by the ARK's CRL.
	if !v.checkCRL(res, chain, col, table, pol.RequireCRL, opts.Time, product, vlek) {
		return res.Finish(), nil
	}

	// 8. Binding of the leaf to this report.
	if !vlek {
		checkHWIDBinding(res, r, signer.ext.HWID, product, pol.AllowMaskedChipID)
	} else {
		res.Add(checkHWID, cloudra.OutcomeSkip, "", "VLEK: no hwID; bound to the cloud provider key "+signer.ext.CSPID)
		if strings.HasSuffix(signer.ext.CSPID, ".amazonaws.com") {
			res.Cloud = "aws"
		}
	}
	if leafTCB := signer.ext.TCB(product); leafTCB != reported {
		res.Failf(checkLeafTCB, cloudra.ClassPolicy, "certificate SPLs %s differ from REPORTED_TCB %s", leafTCB, reported)
	} else {
		res.Add(checkLeafTCB, cloudra.OutcomePass, "", "")
	}

	// 9. Policy.
	appraise(res, r, product, vlek, pol)

	res.Claims = &claims{r: r, product: product, signer: signer.name}
	res.TCB = &cloudra.TCB{Status: "reported", Components: reported.Components()}
	return res.Finish(), nil
}

// decidedOr returns missing-collateral err, unless res already holds a
// failure that rejects the evidence whatever the missing certificate would
// show (trailing bytes after the report, step 1): then the decision is
// REJECT/parse and the unchecked signature is recorded as skipped, so a
// decided rejection is not reported as undecided (docs/pitfalls-snp.md V4).
func decidedOr(res *cloudra.Result, err error) (*cloudra.Result, error) {
	if !res.Failed() {
		return nil, err
	}
	res.Add(checkSignature, cloudra.OutcomeSkip, "", "not checked: "+err.Error())
	return res.Finish(), nil
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
	key := chainKey{leaf: leaf.hash, product: product}
	v.mu.Lock()
	ce, ok := v.chains[key]
	v.mu.Unlock()
	if ok && ce.validAt(opts.Time) && (!ce.test || opts.AllowTestRoots) {
		return ce, nil
	}
	ce, err := verifyChain(leaf, product, v.roots.anchors(product, opts.AllowTestRoots), inters, opts.Time)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.chains) >= maxCache {
		clear(v.chains)
	}
	v.chains[key] = ce
	v.mu.Unlock()
	return ce, nil
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
		key := crlKey{crl: sha256.Sum256(crl.Raw), ark: arkHash}
		v.mu.Lock()
		sigErr, ok := v.crls[key]
		v.mu.Unlock()
		if !ok {
			sigErr = crl.CheckSignatureFrom(chain.ark)
			v.mu.Lock()
			if len(v.crls) >= maxCache {
				clear(v.crls)
			}
			v.crls[key] = sigErr
			v.mu.Unlock()
		}
		if sigErr != nil {
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
