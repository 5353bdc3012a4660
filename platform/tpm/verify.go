package tpm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
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
	p := &Public{Key: k, Scheme: AlgNull}
	switch k.(type) {
	case *rsa.PublicKey:
		p.Type = AlgRSA
	case *ecdsa.PublicKey:
		p.Type = AlgECC
	}
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

// VerifyQuote verifies a TPM quote: structure, AK signature over the exact
// TPMS_ATTEST bytes, nonce, PCR values against pcrDigest, AK anchoring,
// optional event-log replay, then the policy. Every check is recorded; the
// error is non-nil only when the inputs cannot be used at all (no AK, no
// time while an AK certificate must be checked).
//
// Check names: quote.parse, quote.magic, quote.type, quote.signature,
// quote.nonce, quote.pcr-selection, quote.pcr-digest, ak.attributes,
// ak.trust, eventlog.parse, eventlog.replay (one per PCR), eventlog.events.
func VerifyQuote(q Quote, ak AK, nonce []byte, pol *policy.TPM, opts cloudra.Options) (*cloudra.Result, error) {
	if ak.Public == nil || ak.Public.Key == nil {
		return nil, errors.New("tpm: no attestation key given (hint: pass the AK public key, e.g. tpm2_readpublic -f pem)")
	}
	if ak.Cert != nil && opts.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	if pol == nil {
		pol = &policy.TPM{}
	}
	r := &cloudra.Result{Platform: Platform}
	a, err := ParseAttest(q.Attest)
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
	var sig *Signature
	if q.PlainSignature {
		alg, hash := plainScheme(ak.Public)
		sig, err = PlainSignature(alg, hash, q.Signature)
	} else {
		sig, err = ParseSignature(q.Signature)
	}
	if err != nil {
		r.Failf("quote.parse", cloudra.ClassParse, "signature: %v", err)
		return r.Finish(), nil
	}
	r.Passf("quote.parse", "TPMS_ATTEST %d bytes, %v/%v signature", len(a.Raw), sig.Alg, sig.Hash)
	r.Add("quote.magic", cloudra.OutcomePass, "", "TPM_GENERATED_VALUE")
	r.Add("quote.type", cloudra.OutcomePass, "", "TPM_ST_ATTEST_QUOTE")

	cl := &Claims{PCRSelect: a.PCRSelect, PCRDigest: a.PCRDigest, ExtraData: a.ExtraData, Clock: a.ClockInfo,
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
		r.Passf("quote.signature", "%v/%v by %s over the TPMS_ATTEST bytes", sig.Alg, sig.Hash, ak.Public)
	}

	// quote.nonce: constant-time, exact length.
	if subtle.ConstantTimeCompare(a.ExtraData, nonce) == 1 {
		if len(nonce) == 0 {
			r.Add("quote.nonce", cloudra.OutcomePass, "", "no nonce expected and extraData is empty")
		} else {
			r.Passf("quote.nonce", "extraData equals the expected %d-byte nonce", len(nonce))
		}
	} else {
		r.Failf("quote.nonce", cloudra.ClassFresh, "extraData %x does not equal the expected nonce %x", a.ExtraData, nonce)
	}
	if len(nonce) == 0 && policy.Or(pol.RequireNonce, true) {
		r.Violate("require-nonce", cloudra.ClassFresh, "a non-empty nonce", "none")
	}

	// Banks and signature hash allowed by policy.
	banks := map[Alg]bool{}
	for _, s := range pol.TPMBanks() {
		if alg, err := ParseHashAlg(s); err == nil {
			banks[alg] = true
		} else {
			r.Violate("banks", cloudra.ClassPolicy, "valid bank names", s)
		}
	}
	for _, s := range a.PCRSelect {
		if len(s.PCRs) > 0 && !banks[s.Hash] {
			r.Violate("banks", cloudra.ClassPolicy, strings.Join(pol.TPMBanks(), ","), s.Hash.String())
		}
	}
	if !banks[sig.Hash] {
		r.Violate("banks.signature_hash", cloudra.ClassPolicy, strings.Join(pol.TPMBanks(), ","), sig.Hash.String())
	}

	verifiedPCRs := checkPCRs(r, a, sig, q.PCRs)
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
// them against pcrDigest. It returns the values the quote authenticates,
// or nil.
func checkPCRs(r *cloudra.Result, a *Attest, sig *Signature, pcrs PCRs) PCRs {
	if len(pcrs) == 0 {
		r.Add("quote.pcr-selection", cloudra.OutcomeSkip, "", "no PCR values supplied: only pcrDigest is attested")
		r.Add("quote.pcr-digest", cloudra.OutcomeSkip, "", "no PCR values supplied")
		return nil
	}
	var missing, extra []string
	// Selection bitmaps per bank: at most 32 PCRs (MaxPCRSelectBytes).
	selected := make(map[Alg]*[8 * MaxPCRSelectBytes]bool, len(a.PCRSelect))
	for _, s := range a.PCRSelect {
		bits := new([8 * MaxPCRSelectBytes]bool)
		selected[s.Hash] = bits
		for _, p := range s.PCRs {
			bits[p] = true
			if _, ok := pcrs[s.Hash][p]; !ok {
				missing = append(missing, fmt.Sprintf("%v:%d", s.Hash, p))
			}
		}
	}
	for bank, vals := range pcrs {
		bits := selected[bank]
		for p, v := range vals {
			if bits == nil || p < 0 || p >= len(bits) || !bits[p] {
				extra = append(extra, fmt.Sprintf("%v:%d", bank, p))
			}
			if len(v) != bank.DigestSize() {
				r.Failf("quote.pcr-selection", cloudra.ClassBinding, "%v PCR %d value has %d bytes", bank, p, len(v))
				return nil
			}
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		slices.Sort(extra)
		r.Failf("quote.pcr-selection", cloudra.ClassBinding, "supplied PCR values do not match the signed selection: missing [%s], not quoted [%s]",
			strings.Join(missing, " "), strings.Join(extra, " "))
		return nil
	}
	r.Add("quote.pcr-selection", cloudra.OutcomePass, "", "supplied values cover exactly the signed selection")
	// pcrDigest = H_sig(values in selection order) (Part 3, §18.4 TPM2_Quote).
	h, _ := sig.Hash.Hash()
	hh := h.New()
	for _, s := range a.PCRSelect {
		for _, p := range s.PCRs {
			hh.Write(pcrs[s.Hash][p])
		}
	}
	if got := hh.Sum(nil); subtle.ConstantTimeCompare(got, a.PCRDigest) != 1 {
		r.Failf("quote.pcr-digest", cloudra.ClassBinding, "%v of the supplied PCR values is %x, the quote signed %x", sig.Hash, got, a.PCRDigest)
		return nil
	}
	r.Passf("quote.pcr-digest", "%v over %d PCR values equals pcrDigest", sig.Hash, countSelected(a.PCRSelect))
	// The supplied values cover exactly the selection (checked above), so
	// they are now the authenticated values.
	return pcrs
}

func countSelected(sel []PCRSelection) int {
	n := 0
	for _, s := range sel {
		n += len(s.PCRs)
	}
	return n
}

// checkAK records ak.attributes and ak.trust.
func checkAK(r *cloudra.Result, ak AK, pol *policy.TPM, opts cloudra.Options, cl *Claims) {
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

	var anchors []string
	var failures []string
	for _, pin := range pol.AKPins {
		b, err := hex.DecodeString(strings.TrimSpace(pin))
		if err != nil {
			r.Violate("ak-pins", cloudra.ClassPolicy, "hex digests", pin)
			continue
		}
		if bytes.Equal(b, cl.AKSHA256[:]) || (p.Name != nil && bytes.Equal(b, p.Name)) {
			anchors = append(anchors, "pinned by policy")
			break
		}
	}
	if ak.Cert != nil {
		if msg, err := verifyAKCert(ak, pol, opts); err != nil {
			failures = append(failures, err.Error())
		} else {
			anchors = append(anchors, msg)
		}
	}
	if ak.BoundBy != "" {
		anchors = append(anchors, "bound by "+ak.BoundBy)
	}
	switch {
	case len(failures) > 0:
		r.Failf("ak.trust", cloudra.ClassChain, "%s", strings.Join(failures, "; "))
	case len(anchors) > 0:
		cl.AKTrust = strings.Join(anchors, "; ")
		r.Passf("ak.trust", "%s", cl.AKTrust)
	case policy.Or(pol.RequireAKTrust, true):
		r.Failf("ak.trust", cloudra.ClassChain, "AK %x is not pinned, certified or bound by hardware evidence (hint: add its SHA-256 to ak-pins, or supply its certificate and pin the root in ak-roots)", cl.AKSHA256)
	default:
		r.Add("ak.trust", cloudra.OutcomeWarn, "", "AK not anchored; the policy does not require it")
	}
}

// verifyAKCert checks that the certificate certifies this key and chains to
// a root pinned by policy at opts.Time.
func verifyAKCert(ak AK, pol *policy.TPM, opts cloudra.Options) (string, error) {
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
func appraise(r *cloudra.Result, pol *policy.TPM, a *Attest, pcrs PCRs, boot *eventlog.State) {
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
