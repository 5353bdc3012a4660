package tpm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/eventlog"
	"github.com/cloudra/cloudra/policy"
)

// Platform is the platform name in results.
const Platform = "tpm"

// Quote is the evidence of one TPM2_Quote.
type Quote struct {
	// Attest is the TPMS_ATTEST the AK signed (`tpm2_quote -m`).
	Attest []byte
	// Signature is a TPMT_SIGNATURE (`tpm2_quote -s`), or, with
	// PlainSignature set, a raw signature (`-f plain`): RSASSA, or ECDSA
	// r‖s, with the AK's scheme hash (SHA-256 when the AK does not say).
	Signature      []byte
	PlainSignature bool
	// PCRs are the values the quote covers (optional; without them only
	// pcrDigest is attested and no PCR policy can pass).
	PCRs PCRs
	// EventLog is a TCG PC Client event log to replay against the quoted
	// PCRs (optional).
	EventLog []byte
}

// AK is the attestation key and what anchors it.
type AK struct {
	// Public is the key (required).
	Public *Public
	// Cert is an AK certificate (GCE: NV 0x01c10000…, Azure: 0x01C101D0)
	// and Chain its intermediates; roots come from Chain or Collateral and
	// are trusted only if pinned by policy (ak-roots).
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	// BoundBy, when not empty, says the caller has verified hardware
	// evidence that binds this key — e.g. "azure-hcl: HCLAkPub in
	// SNP-report-bound runtime claims". The check records it as the anchor.
	BoundBy string
}

// AKFromKey wraps a bare public key.
func AKFromKey(k crypto.PublicKey) AK {
	p, _ := publicOf(k)
	return AK{Public: p}
}

// Claims of a verified quote.
type Claims struct {
	PCRs            PCRs
	PCRSelect       []PCRSelection
	PCRDigest       []byte
	ExtraData       []byte
	Clock           ClockInfo
	FirmwareVersion uint64
	QualifiedSigner []byte
	AKName          []byte
	AKSHA256        [32]byte
	AKTrust         string
	Boot            *eventlog.State
}

// Claims renders the normalised claims.
func (c *Claims) Claims() []cloudra.Claim {
	sel := map[string][]int{}
	for _, s := range c.PCRSelect {
		sel[s.Hash.String()] = s.PCRs
	}
	out := []cloudra.Claim{
		{Name: "pcr_select", Value: sel},
		{Name: "pcr_digest", Value: hex.EncodeToString(c.PCRDigest)},
	}
	if len(c.PCRs) > 0 {
		out = append(out, cloudra.Claim{Name: "pcrs", Value: c.PCRs.Hex()})
	}
	out = append(out,
		cloudra.Claim{Name: "extra_data", Value: hex.EncodeToString(c.ExtraData)},
		cloudra.Claim{Name: "clock_info", Value: c.Clock},
		cloudra.Claim{Name: "firmware_version", Value: fmt.Sprintf("%016x", c.FirmwareVersion)},
		cloudra.Claim{Name: "qualified_signer", Value: hex.EncodeToString(c.QualifiedSigner)},
		cloudra.Claim{Name: "ak_sha256", Value: hex.EncodeToString(c.AKSHA256[:])},
	)
	if c.AKName != nil {
		out = append(out, cloudra.Claim{Name: "ak_name", Value: hex.EncodeToString(c.AKName)})
	}
	if c.AKTrust != "" {
		out = append(out, cloudra.Claim{Name: "ak_trust", Value: c.AKTrust})
	}
	if c.Boot != nil {
		out = append(out, cloudra.Claim{Name: "boot", Value: c.Boot})
	}
	return out
}

// quoteResult holds, in one allocation, a result and what it points to on
// the common path: the claims and the backing array of its checks (a
// passing quote without event log records nine).
type quoteResult struct {
	res    cloudra.Result
	claims Claims
	checks [10]cloudra.Check
}

// algSet is a set of hash algorithms (all TPM hash ALG_IDs are below 64).
type algSet uint64

func (s *algSet) add(a Alg) {
	if a < 64 {
		*s |= 1 << a
	}
}

func (s algSet) has(a Alg) bool { return a < 64 && s&(1<<a) != 0 }

// appendScheme appends "rsassa/sha256".
func appendScheme(b []byte, sig *Signature) []byte {
	b = append(b, sig.Alg.String()...)
	b = append(b, '/')
	return append(b, sig.Hash.String()...)
}

// VerifyQuote verifies a TPM quote: structure, AK signature over the exact
// TPMS_ATTEST bytes, nonce, PCR values against pcrDigest, AK anchoring,
// optional event-log replay, then the policy. Every check is recorded.
//
// When the verdict is not pass, the result comes with a
// *cloudra.RejectedError (errors.Is cloudra.ErrRejected), so that a caller
// checking only the error never accepts a rejected quote. Otherwise the
// error is non-nil only when the inputs cannot be used at all, with a nil
// result: no AK (cloudra.ErrIncompleteEvidence), no time while an AK
// certificate must be checked (cloudra.ErrNoTime).
//
// Check names: quote.parse, quote.magic, quote.type, quote.signature,
// quote.nonce, quote.pcr-selection, quote.pcr-digest, ak.attributes,
// ak.trust, eventlog.parse, eventlog.replay (one per PCR), eventlog.events.
func VerifyQuote(ctx context.Context, q Quote, ak AK, nonce []byte, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	return cloudra.Decide(verifyQuote(ctx, q, ak, nonce, pol, opts))
}

// verifyQuote is VerifyQuote with the verdict in the result only.
func verifyQuote(ctx context.Context, q Quote, ak AK, nonce []byte, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	if ak.Public == nil || ak.Public.Key == nil {
		return nil, &cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMAKPub, Msg: "tpm: no attestation key given"}
	}
	if ak.Cert != nil && opts.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	if pol == nil {
		pol = &Policy{}
	}
	blk := &quoteResult{res: cloudra.Result{Platform: Platform}}
	r := &blk.res
	r.Checks = blk.checks[:0]
	// The quote's fields alias this one copy, which the claims keep.
	var att Attest
	a := &att
	err := parseAttest(a, bytes.Clone(q.Attest))
	switch {
	case errors.Is(err, ErrMagic):
		r.Failf("quote.magic", cloudra.ClassParse, "%v", err)
		return r.Finish(), nil
	case errors.Is(err, ErrNotQuote):
		r.Add("quote.magic", cloudra.OutcomePass, "", "TPM_GENERATED_VALUE")
		r.Failf("quote.type", cloudra.ClassParse, "%v", err)
		return r.Finish(), nil
	case err != nil:
		r.Failf("quote.parse", cloudra.ClassParse, "%v", err)
		return r.Finish(), nil
	}
	// The signature is only read here, so it may alias q.Signature.
	var sig Signature
	if q.PlainSignature {
		alg, hash := plainScheme(ak.Public)
		sig, err = plainSignature(alg, hash, q.Signature)
	} else {
		sig, err = parseSignature(q.Signature)
	}
	if err != nil {
		r.Failf("quote.parse", cloudra.ClassParse, "signature: %v", err)
		return r.Finish(), nil
	}
	var dbuf [128]byte
	d := append(dbuf[:0], "TPMS_ATTEST "...)
	d = strconv.AppendInt(d, int64(len(a.Raw)), 10)
	d = append(d, " bytes, "...)
	d = appendScheme(d, &sig)
	r.Add("quote.parse", cloudra.OutcomePass, "", string(append(d, " signature"...)))
	r.Add("quote.magic", cloudra.OutcomePass, "", "TPM_GENERATED_VALUE")
	r.Add("quote.type", cloudra.OutcomePass, "", "TPM_ST_ATTEST_QUOTE")

	cl := &blk.claims
	*cl = Claims{PCRSelect: a.PCRSelect, PCRDigest: a.PCRDigest, ExtraData: a.ExtraData, Clock: a.ClockInfo,
		FirmwareVersion: a.FirmwareVersion, QualifiedSigner: a.QualifiedSigner, AKName: ak.Public.Name}
	if fp, err := ak.Public.Fingerprint(); err == nil {
		cl.AKSHA256 = fp
	}
	r.Claims = cl

	// quote.signature: over the exact bytes, with the signature's own scheme.
	if p := ak.Public; p.HasTPMArea() && p.Scheme != AlgNull && (p.Scheme != sig.Alg || p.SchemeHash != sig.Hash) {
		r.Failf("quote.signature", cloudra.ClassSig, "signature is %v/%v but the AK's fixed scheme is %v/%v", sig.Alg, sig.Hash, p.Scheme, p.SchemeHash)
	} else if err := sig.Verify(ak.Public.Key, a.Raw); err != nil {
		r.Failf("quote.signature", cloudra.ClassSig, "%v/%v signature by %s does not verify: %v", sig.Alg, sig.Hash, ak.Public, err)
	} else {
		d = appendScheme(dbuf[:0], &sig)
		d = append(d, " by "...)
		d = ak.Public.appendDesc(d)
		r.Add("quote.signature", cloudra.OutcomePass, "", string(append(d, " over the TPMS_ATTEST bytes"...)))
	}

	// quote.nonce: constant-time, exact length. The expected nonce comes
	// from the relying party only. Without one, a quote carrying extraData
	// answers somebody else's challenge and fails; require-nonce says
	// whether a quote without any nonce is acceptable.
	switch {
	case subtle.ConstantTimeCompare(a.ExtraData, nonce) == 1 && len(nonce) == 0:
		r.Add("quote.nonce", cloudra.OutcomePass, "", "no nonce expected and extraData is empty")
	case subtle.ConstantTimeCompare(a.ExtraData, nonce) == 1:
		d = append(dbuf[:0], "extraData equals the expected "...)
		d = strconv.AppendInt(d, int64(len(nonce)), 10)
		r.Add("quote.nonce", cloudra.OutcomePass, "", string(append(d, "-byte nonce"...)))
	case len(nonce) == 0:
		r.Failf("quote.nonce", cloudra.ClassFresh, "extraData %x answers a challenge, but the relying party gave no expected nonce", a.ExtraData)
	default:
		r.Failf("quote.nonce", cloudra.ClassFresh, "extraData %x does not equal the expected nonce %x", a.ExtraData, nonce)
	}
	if len(nonce) == 0 && policy.Or(pol.RequireNonce, true) {
		r.Violate("require-nonce", cloudra.ClassFresh, "an expected nonce from the relying party", "none")
	}

	// Banks and signature hash allowed by policy.
	allowed := pol.TPMBanks()
	var banks algSet
	for _, s := range allowed {
		if alg, err := ParseHashAlg(s); err == nil {
			banks.add(alg)
		} else {
			r.Violate("banks", cloudra.ClassPolicy, "valid bank names", s)
		}
	}
	for _, s := range a.PCRSelect {
		if len(s.PCRs) > 0 && !banks.has(s.Hash) {
			r.Violate("banks", cloudra.ClassPolicy, strings.Join(allowed, ","), s.Hash.String())
		}
	}
	if !banks.has(sig.Hash) {
		r.Violate("banks.signature_hash", cloudra.ClassPolicy, strings.Join(allowed, ","), sig.Hash.String())
	}

	verifiedPCRs := checkPCRs(r, a, sig.Hash, q.PCRs)
	if verifiedPCRs != nil {
		cl.PCRs = verifiedPCRs
	}

	checkAK(r, ak, pol, opts, cl)
	if len(q.EventLog) > 0 {
		cl.Boot = checkEventLog(r, q.EventLog, a, verifiedPCRs)
	} else if policy.Or(pol.RequireEventLog, false) {
		r.Violate("require-event-log", cloudra.ClassPolicy, "an event log", "none")
	}
	appraise(r, pol, a, verifiedPCRs, cl.Boot)
	return r.Finish(), nil
}

// plainScheme picks the scheme of a raw signature from the AK.
func plainScheme(p *Public) (Alg, Alg) {
	if p.HasTPMArea() && p.Scheme != AlgNull {
		return p.Scheme, p.SchemeHash
	}
	if p.Type == AlgECC {
		return AlgECDSA, AlgSHA256
	}
	return AlgRSASSA, AlgSHA256
}

// checkPCRs labels the supplied values by the signed selection and checks
// them against pcrDigest, computed with the signature's hash. It returns
// the values the quote authenticates, or nil.
func checkPCRs(r *cloudra.Result, a *Attest, hash Alg, pcrs PCRs) PCRs {
	if len(pcrs) == 0 {
		r.Add("quote.pcr-selection", cloudra.OutcomeSkip, "", "no PCR values supplied: only pcrDigest is attested")
		r.Add("quote.pcr-digest", cloudra.OutcomeSkip, "", "no PCR values supplied")
		return nil
	}
	// Selection bitmaps, parallel to a.PCRSelect: at most maxBanks banks
	// of 32 PCRs (MaxPCRSelectBytes), banks distinct (readPCRSelection).
	var selected [maxBanks]uint32
	n, size := 0, 0
	complete := true
	for i, s := range a.PCRSelect {
		vals := pcrs[s.Hash]
		for _, p := range s.PCRs {
			selected[i] |= 1 << p
			if _, ok := vals[p]; !ok {
				complete = false
			}
		}
		n += len(s.PCRs)
		size += len(s.PCRs) * s.Hash.DigestSize()
	}
	for bank, vals := range pcrs {
		bi := slices.IndexFunc(a.PCRSelect, func(s PCRSelection) bool { return s.Hash == bank })
		for p, v := range vals {
			if bi < 0 || p < 0 || p >= 8*MaxPCRSelectBytes || selected[bi]&(1<<p) == 0 {
				complete = false
			}
			if len(v) != bank.DigestSize() {
				r.Failf("quote.pcr-selection", cloudra.ClassBinding, "%v PCR %d value has %d bytes", bank, p, len(v))
				return nil
			}
		}
	}
	if !complete {
		missing, extra := selectionMismatch(a.PCRSelect, pcrs)
		r.Failf("quote.pcr-selection", cloudra.ClassBinding, "supplied PCR values do not match the signed selection: missing [%s], not quoted [%s]",
			strings.Join(missing, " "), strings.Join(extra, " "))
		return nil
	}
	r.Add("quote.pcr-selection", cloudra.OutcomePass, "", "supplied values cover exactly the signed selection")
	// pcrDigest = H_sig(values in selection order) (Part 3, §18.4
	// TPM2_Quote), hashed in one shot: a full bank of the largest digest
	// fits the stack buffer.
	var stack [NumPCRs * 64]byte
	msg := stack[:0]
	if size > len(stack) {
		msg = make([]byte, 0, size)
	}
	for _, s := range a.PCRSelect {
		vals := pcrs[s.Hash]
		for _, p := range s.PCRs {
			msg = append(msg, vals[p]...)
		}
	}
	h, _ := hash.Hash() // the signature parsers accept only hashes Hash knows
	var out [64]byte
	if got := sum(h, msg, &out); subtle.ConstantTimeCompare(got, a.PCRDigest) != 1 {
		// hex.EncodeToString, not %x: got must not escape (it is on the stack).
		r.Failf("quote.pcr-digest", cloudra.ClassBinding, "%v of the supplied PCR values is %s, the quote signed %x", hash, hex.EncodeToString(got), a.PCRDigest)
		return nil
	}
	var dbuf [64]byte
	d := append(dbuf[:0], hash.String()...)
	d = append(d, " over "...)
	d = strconv.AppendInt(d, int64(n), 10)
	r.Add("quote.pcr-digest", cloudra.OutcomePass, "", string(append(d, " PCR values equals pcrDigest"...)))
	// The supplied values cover exactly the selection (checked above), so
	// they are now the authenticated values.
	return pcrs
}

// selectionMismatch lists the selected PCRs without a supplied value
// (selection order) and the supplied values not selected (sorted), as
// "bank:index".
func selectionMismatch(sel []PCRSelection, pcrs PCRs) (missing, extra []string) {
	for _, s := range sel {
		for _, p := range s.PCRs {
			if _, ok := pcrs[s.Hash][p]; !ok {
				missing = append(missing, fmt.Sprintf("%v:%d", s.Hash, p))
			}
		}
	}
	for bank, vals := range pcrs {
		i := slices.IndexFunc(sel, func(s PCRSelection) bool { return s.Hash == bank })
		for p := range vals {
			if i < 0 || !slices.Contains(sel[i].PCRs, p) {
				extra = append(extra, fmt.Sprintf("%v:%d", bank, p))
			}
		}
	}
	slices.Sort(extra)
	return missing, extra
}

// checkAK records ak.attributes and ak.trust.
func checkAK(r *cloudra.Result, ak AK, pol *Policy, opts cloudra.Options, cl *Claims) {
	p := ak.Public
	switch {
	case p.HasTPMArea() && p.Attributes&AKAttributes != AKAttributes:
		r.Failf("ak.attributes", cloudra.ClassChain, "AK attributes 0x%08x lack 0x%08x (fixedTPM|fixedParent|sensitiveDataOrigin|restricted|sign)",
			p.Attributes, AKAttributes&^p.Attributes)
	case p.HasTPMArea():
		r.Passf("ak.attributes", "restricted signing key, fixedTPM, fixedParent, sensitiveDataOrigin (0x%08x)", p.Attributes)
	case policy.Or(pol.RequireAKAttributes, false):
		r.Violate("require-ak-attributes", cloudra.ClassPolicy, "a TPMT_PUBLIC with AK attributes", "a bare public key")
	default:
		r.Add("ak.attributes", cloudra.OutcomeSkip, "", "bare public key: TPM attributes unknown")
	}

	anchors := make([]string, 0, 3)
	var failures []string
	failClass := cloudra.ClassChain
	for _, pin := range pol.AKPins {
		t := strings.TrimSpace(pin)
		fpEq, ok := hexEqual(t, cl.AKSHA256[:])
		if !ok {
			r.Violate("ak-pins", cloudra.ClassPolicy, "hex digests", pin)
			continue
		}
		if nameEq, _ := hexEqual(t, p.Name); fpEq || (p.Name != nil && nameEq) {
			anchors = append(anchors, "pinned by policy")
			break
		}
	}
	if ak.Cert != nil {
		if msg, err := verifyAKCert(ak, pol, opts); err != nil {
			failures = append(failures, err.Error())
			// An AK certificate outside its validity window is stale
			// evidence (class fresh), as an expired VCEK or VLEK is.
			var inv x509.CertificateInvalidError
			if errors.As(err, &inv) && inv.Reason == x509.Expired {
				failClass = cloudra.ClassFresh
			}
		} else {
			anchors = append(anchors, msg)
		}
	}
	if ak.BoundBy != "" {
		anchors = append(anchors, "bound by "+ak.BoundBy)
	}
	switch {
	case len(failures) > 0:
		r.Failf("ak.trust", failClass, "%s", strings.Join(failures, "; "))
	case len(anchors) > 0:
		cl.AKTrust = strings.Join(anchors, "; ")
		r.Add("ak.trust", cloudra.OutcomePass, "", cl.AKTrust)
	case policy.Or(pol.RequireAKTrust, true):
		r.Failf("ak.trust", cloudra.ClassChain, "AK %x is not pinned, certified or bound by hardware evidence (hint: add its SHA-256 to ak-pins, or supply its certificate and pin the root in ak-roots)", cl.AKSHA256)
	default:
		r.Add("ak.trust", cloudra.OutcomeWarn, "", "AK not anchored; the policy does not require it")
	}
}

// verifyAKCert checks that the certificate certifies this key and chains to
// a root pinned by policy at opts.Time.
func verifyAKCert(ak AK, pol *Policy, opts cloudra.Options) (string, error) {
	certKey, ok := ak.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !certKey.Equal(ak.Public.Key) {
		return "", errors.New("AK certificate is for another key")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	nroots := 0
	for _, c := range ak.Chain {
		fp := sha256.Sum256(c.Raw)
		if slices.ContainsFunc(pol.AKRoots, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), hex.EncodeToString(fp[:])) }) {
			roots.AddCert(c)
			nroots++
		} else {
			inter.AddCert(c)
		}
	}
	if nroots == 0 {
		return "", errors.New("no certificate in the AK chain is a root pinned in ak-roots")
	}
	// AK certificates carry TCG-specific critical extensions (e.g. a
	// critical SAN with TPM attributes, TCG PC Client §3.2): verify a copy
	// that treats them as handled, the key and path being what matters.
	leaf := *ak.Cert
	leaf.UnhandledCriticalExtensions = nil
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: opts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return "", fmt.Errorf("AK certificate: %w", err)
	}
	root := chains[0][len(chains[0])-1]
	return fmt.Sprintf("certificate chain to pinned root %q", root.Subject.CommonName), nil
}

// checkEventLog parses and replays the log against the authenticated PCRs.
func checkEventLog(r *cloudra.Result, raw []byte, a *Attest, pcrs PCRs) *eventlog.State {
	l, err := eventlog.Parse(raw)
	if err != nil {
		r.Failf("eventlog.parse", cloudra.ClassParse, "%v", err)
		return nil
	}
	r.Passf("eventlog.parse", "%d events, banks %s", len(l.Events), logBanks(l))
	if pcrs == nil {
		r.Failf("eventlog.replay", cloudra.ClassBinding, "no authenticated PCR values to replay the log against")
		return nil
	}
	var best Alg
	var bestVerified map[int]bool
	for _, pref := range []Alg{AlgSHA256, AlgSHA384, AlgSHA512, AlgSHA1} {
		vals, ok := pcrs[pref]
		if !ok || !l.HasAlg(uint16(pref)) {
			continue
		}
		rep, err := eventlog.Replay(l, uint16(pref))
		if err != nil {
			r.Failf("eventlog.replay", cloudra.ClassParse, "%v: %v", pref, err)
			continue
		}
		bad := map[int]eventlog.Mismatch{}
		for _, m := range eventlog.Compare(rep, vals) {
			bad[m.PCR] = m
		}
		verified := map[int]bool{}
		for _, p := range pcrs.Indices(pref) {
			m, isBad := bad[p]
			switch {
			case !isBad && rep[p] != nil:
				verified[p] = true
				r.Passf("eventlog.replay", "%v PCR %d: log replays to the quoted value", pref, p)
			case !isBad:
				r.Passf("eventlog.replay", "%v PCR %d: not extended by the log, holds its reset value", pref, p)
			case m.Replayed == nil && p > 7:
				// PCR 8+ are extended by the OS after the firmware log ends
				// (IMA PCR 10, systemd PCRs): unexplained, not contradicted.
				r.Add("eventlog.replay", cloudra.OutcomeWarn, "", fmt.Sprintf("%v PCR %d: not in the log; its value %x is unexplained", pref, p, m.Quoted))
			case m.Replayed == nil:
				r.Failf("eventlog.replay", cloudra.ClassBinding, "%v PCR %d: quoted %x but the log never extends it", pref, p, m.Quoted)
			default:
				r.Failf("eventlog.replay", cloudra.ClassBinding, "%v PCR %d: log replays to %x, quoted %x", pref, p, m.Replayed, m.Quoted)
			}
		}
		if best == 0 {
			best, bestVerified = pref, verified
		}
	}
	if best == 0 {
		r.Failf("eventlog.replay", cloudra.ClassBinding, "the log (banks %s) shares no bank with the quoted PCR values", logBanks(l))
		return nil
	}
	st, err := eventlog.Analyze(l, uint16(best), bestVerified)
	if err != nil {
		r.Failf("eventlog.events", cloudra.ClassParse, "%v", err)
		return nil
	}
	if len(st.Problems) > 0 {
		r.Failf("eventlog.events", cloudra.ClassPolicy, "%s", strings.Join(st.Problems, "; "))
	} else {
		r.Passf("eventlog.events", "event types and verifiable event data are consistent (%v)", best)
	}
	return st
}

func logBanks(l *eventlog.Log) string {
	var s []string
	for _, a := range l.Algs {
		s = append(s, eventlog.AlgName(a.Alg))
	}
	return strings.Join(s, ",")
}

// appraise applies the PCR and boot rules of the policy.
func appraise(r *cloudra.Result, pol *Policy, a *Attest, pcrs PCRs, boot *eventlog.State) {
	for bankName, rules := range pol.PCRs {
		bank, err := ParseHashAlg(bankName)
		if err != nil {
			r.Violate("pcrs", cloudra.ClassPolicy, "a known bank", bankName)
			continue
		}
		for idx, allowed := range rules {
			rule := fmt.Sprintf("pcrs.%v.%s", bank, idx)
			i, err := strconv.Atoi(idx)
			if err != nil {
				r.Violate(rule, cloudra.ClassPolicy, "a PCR index", idx)
				continue
			}
			v, ok := pcrs[bank][i]
			if !ok {
				r.Violate(rule, cloudra.ClassPolicy, strings.Join(allowed, "|"), "not quoted with verified values")
				continue
			}
			if !containsHex(allowed, v) {
				r.Violate(rule, cloudra.ClassPolicy, strings.Join(allowed, "|"), hex.EncodeToString(v))
			}
		}
	}
	needBoot := policy.Or(pol.SecureBoot, false) || len(pol.KernelCmdlines) > 0 || len(pol.KernelDigests) > 0 || len(pol.EFIAppDigests) > 0
	if !needBoot {
		return
	}
	if boot == nil {
		r.Violate("event_log", cloudra.ClassPolicy, "a replayed event log for the boot rules", "none")
		return
	}
	if policy.Or(pol.SecureBoot, false) && (boot.SecureBoot == nil || !boot.SecureBoot.Enabled) {
		r.Violate("secure-boot", cloudra.ClassPolicy, "enabled", "disabled or not measured")
	}
	if len(pol.KernelCmdlines) > 0 && !slices.Contains(pol.KernelCmdlines, boot.KernelCmdline) {
		r.Violate("kernel-cmdlines", cloudra.ClassPolicy, "an allowed command line", boot.KernelCmdline)
	}
	if len(pol.KernelDigests) > 0 {
		got := ""
		if n := len(boot.EFIApps); n > 0 {
			got = boot.EFIApps[n-1]
		}
		if got == "" || !containsHexString(pol.KernelDigests, got) {
			r.Violate("kernel-digests", cloudra.ClassPolicy, "an allowed kernel digest", got)
		}
	}
	if len(pol.EFIAppDigests) > 0 {
		if len(boot.EFIApps) == 0 {
			r.Violate("efi-app-digests", cloudra.ClassPolicy, "measured EFI applications", "none")
		}
		for _, app := range boot.EFIApps {
			if !containsHexString(pol.EFIAppDigests, app) {
				r.Violate("efi-app-digests", cloudra.ClassPolicy, "an allowed EFI application", app)
			}
		}
	}
}

func containsHex(list []string, v []byte) bool {
	return containsHexString(list, hex.EncodeToString(v))
}

func containsHexString(list []string, h string) bool {
	for _, s := range list {
		if strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(s), "0x"), h) {
			return true
		}
	}
	return false
}

// hexEqual reports whether the hex string s (either case) encodes b,
// without decoding it into a new slice; ok is false when s is not hex.
func hexEqual(s string, b []byte) (eq, ok bool) {
	if len(s)%2 != 0 {
		return false, false
	}
	eq = len(s) == 2*len(b)
	for i := 0; i < len(s); i += 2 {
		hi, ok1 := fromHexChar(s[i])
		lo, ok2 := fromHexChar(s[i+1])
		if !ok1 || !ok2 {
			return false, false
		}
		if eq && b[i/2] != hi<<4|lo {
			eq = false
		}
	}
	return eq, true
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
