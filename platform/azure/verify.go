package azure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/lebytes"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

// Platform is the platform name in results.
const Platform = "azure-cvm"

// Check names of the Azure bindings (the hardware and vTPM parts have
// their own).
const (
	CheckParse        = "hcl.parse"
	CheckClaimsParse  = "azure.claims-parse"
	CheckBinding      = "azure.claims-binding"
	CheckTDReport     = "azure.tdreport-quote"
	CheckHCLAkPub     = "azure.hclakpub"
	CheckAKMatch      = "azure.ak-match"
	CheckAKBinding    = "azure.ak-binding"
	CheckUserData     = "azure.user-data"
	CheckVTPMQuote    = "azure.vtpm-quote"
	RuleFreshness     = "require-freshness"
	RuleVTPMQuote     = "require-vtpm-quote"
	RuleSecureBoot    = "vm-configuration.secure-boot"
	RuleTPMEnabled    = "vm-configuration.tpm-enabled"
	RuleConsole       = "vm-configuration.console-enabled"
	RuleVMUniqueID    = "vm-configuration.vm-unique-id"
	hardwareSNPReport = "SNP report"
	hardwareTDQuote   = "TD quote"
)

// ErrNoTDQuote is returned for a TDX HCL report without its TD quote: the
// TDREPORT inside is authenticated only by a quote of it. It is a
// *cloudra.IncompleteEvidenceError (errors.Is cloudra.ErrIncompleteEvidence).
var ErrNoTDQuote error = &cloudra.IncompleteEvidenceError{Of: cloudra.KindAzureHCL, Missing: cloudra.KindTDXQuote,
	Msg: "azure: TDX HCL report without its TD quote"}

// Evidence is what an Azure confidential VM presents.
type Evidence struct {
	// HCLReport is the content of vTPM NV 0x01400001 (required).
	HCLReport []byte
	// TDQuote is the TD quote of the HCL report's TDREPORT (IMDS
	// /acc/tdquote); required for TDX, ignored for SNP.
	TDQuote []byte
	// Quote is a vTPM quote by the AK at 0x81000003 (optional). It is
	// verified with HCLAkPub from the runtime claims, never with a key
	// supplied beside it.
	Quote *tpm.Quote
	// AKPublic is the AK public key the collector read (optional). When
	// set it must be HCLAkPub.
	AKPublic *tpm.Public
	// Nonce is the expected extraData of the vTPM quote.
	Nonce []byte
	// UserData is the expected runtime-claims user-data (1 to 64 bytes;
	// optional, overrides the policy's).
	UserData []byte
	// Product is the SNP product line hint ("Milan", …) for v2 reports.
	Product string
}

// Sections holds the policy sections an Azure verification reads. The
// sev-snp and tdx sections are adjusted for the paravisor (see Verify);
// the caller's values are never modified.
type Sections struct {
	Azure  *Policy
	SEVSNP *sevsnp.Policy
	TDX    *tdx.Policy
	TPM    *tpm.Policy
}

// PolicyFrom picks the sections of a policy file; az is its azure section.
func PolicyFrom(p *policy.Policy, az *Policy) Sections {
	if p == nil {
		return Sections{Azure: az}
	}
	return Sections{Azure: az, SEVSNP: sevsnp.PolicyOf(p), TDX: tdx.PolicyOf(p), TPM: tpm.PolicyOf(p)}
}

// Verifier verifies Azure confidential VM evidence with the SEV-SNP and TDX
// verifiers it is given (which hold the pinned roots and caches). It is safe
// for concurrent use if they are.
type Verifier struct {
	// snp and tdx return the hardware verifiers, on first use: a verifier
	// built through the seam asks for only the one its HCL report needs.
	snp func() (*sevsnp.Verifier, error)
	tdx func() (*tdx.Verifier, error)
}

// NewVerifier returns a verifier delegating hardware reports to snp and
// tdx (either may be nil if that platform is not needed).
func NewVerifier(snp *sevsnp.Verifier, tdx *tdx.Verifier) *Verifier {
	return newLazyVerifier(given(snp, "SEV-SNP"), given(tdx, "TDX"))
}

// newLazyVerifier returns a Verifier that obtains its hardware verifiers
// from snp and tdx when a report needs them.
func newLazyVerifier(snp func() (*sevsnp.Verifier, error), tdx func() (*tdx.Verifier, error)) *Verifier {
	return &Verifier{snp: snp, tdx: tdx}
}

// given is a verifier obtained up front; nil means none.
func given[V any](v *V, name string) func() (*V, error) {
	return func() (*V, error) {
		if v == nil {
			return nil, fmt.Errorf("azure: no %s verifier", name)
		}
		return v, nil
	}
}

// Verify verifies Azure CVM evidence as one chain: hardware report (SNP
// report, or TD quote of the TDREPORT) → runtime-claims hash in
// REPORT_DATA → HCLAkPub → vTPM quote (nonce, PCRs) → user-data echo.
//
// The returned Result has Platform "azure-cvm", Cloud "azure"; its Parts
// are the hardware result ("sev-snp" or "tdx") and the vTPM result
// ("tpm", when a quote is given); its own Checks are the Azure bindings
// (hcl.parse, azure.claims-parse, azure.claims-binding,
// azure.tdreport-quote, azure.hclakpub, azure.ak-match, azure.ak-binding,
// azure.user-data) and its Violations the azure policy rules. Claims (the
// paravisor's runtime claims) are returned only when the hardware part is
// authentic and binds them.
//
// Policy adjustments, made on copies: the SNP report of an HCL report is
// the paravisor's and must be at VMPL 0 whatever the sev-snp section says
// (SEV-SNP ABI spec, ATTESTATION_REPORT VMPL; docs/azure.md); REPORT_DATA
// holds the claims hash, so the sev-snp/tdx report-data rule is replaced by
// the binding check, and a report-data the caller set is taken as the
// expected user-data unless the azure section or Evidence names one; Azure
// TDs run with TD_ATTRIBUTES 0, so SEPT_VE_DISABLE is not required unless
// the tdx section says so explicitly (docs/pitfalls-dcap.md V5).
//
// When a decision was made, the result comes with a *cloudra.RejectedError
// (errors.Is cloudra.ErrRejected) unless the verdict is pass, so that a
// caller checking only the error never accepts rejected evidence; a part
// rejected by its own verifier is kept as a part of this result, with all
// its checks. Otherwise the error is non-nil only when no decision is
// possible, with a nil result: no time, missing collateral (the hardware
// verifier's *cloudra.MissingCollateralError, passed through), a TDX
// report without its TD quote ([ErrNoTDQuote]), or no verifier for the
// report type.
func (v *Verifier) Verify(ctx context.Context, ev Evidence, col *cloudra.Collateral, pol Sections, opts cloudra.Options) (*cloudra.Result, error) {
	return cloudra.Decide(v.verify(ctx, ev, col, pol, opts))
}

// asResult takes a part's rejection as its result: only an error that
// leaves no result stops the composite verification.
func asResult(res *cloudra.Result, err error) (*cloudra.Result, error) {
	if errors.Is(err, cloudra.ErrRejected) && res != nil {
		return res, nil
	}
	return res, err
}

// verify is Verify with the verdict in the result only.
func (v *Verifier) verify(ctx context.Context, ev Evidence, col *cloudra.Collateral, pol Sections, opts cloudra.Options) (*cloudra.Result, error) {
	if opts.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	az := pol.Azure
	if az == nil {
		az = &Policy{}
	}
	res := &cloudra.Result{Platform: Platform, Cloud: "azure"}
	h, err := ParseHCLReport(ev.HCLReport)
	if err != nil {
		res.Failf(CheckParse, cloudra.ClassParse, "%v", err)
		return res.Finish(), nil
	}
	res.Passf(CheckParse, "HCL v%d, %v report, %v claims hash, %d-byte claims, %d bytes of NV padding",
		h.Version, h.ReportType, h.HashType, len(h.Claims), h.Padding)
	s := &verification{v: v, ev: ev, pol: pol, az: az, opts: opts, res: res, h: h,
		expectedUD: ev.UserData, udSource: "the caller"}
	if len(s.expectedUD) == 0 && len(az.UserData) > 0 {
		s.expectedUD, s.udSource = az.UserData, "azure user-data"
	}
	// The steps in the order of the checks they record.
	if err := s.hardware(ctx, col); err != nil {
		return nil, err
	}
	s.claimsBinding()
	s.runtimeClaims()
	if err := s.vtpmQuote(ctx); err != nil {
		return nil, err
	}
	s.freshness()
	// The paravisor's vm-configuration statement.
	if s.rc != nil {
		appraiseVMConfig(res, s.rc.VMConfiguration, az)
	}
	if s.rc != nil && s.bound {
		res.Claims = &Claims{HCL: h, Runtime: s.rc, AKPub: s.akPub, Bound: s.hwName}
	}
	if s.hw.Claims == nil {
		res.Claims = nil // no claims without an authentic hardware report
	}
	return res.Finish(), nil
}

// verification is the state one Verify call carries from step to step.
type verification struct {
	v    *Verifier
	ev   Evidence
	pol  Sections
	az   *Policy
	opts cloudra.Options
	res  *cloudra.Result
	h    *HCLReport

	expectedUD []byte // the user-data the echo must carry
	udSource   string // where expectedUD comes from, for messages

	hw      *cloudra.Result // the hardware part
	hwName  string
	boundRD [64]byte // the REPORT_DATA an authenticated report carries
	bound   bool     // the runtime claims are bound to an authentic report

	rc         *RuntimeClaims
	akPub      *tpm.Public
	quoteFresh bool
}

// hardware verifies the hardware part: the SNP report, or the TD quote of
// the TDREPORT.
func (s *verification) hardware(ctx context.Context, col *cloudra.Collateral) error {
	var err error
	switch s.h.ReportType {
	case ReportTypeSNP:
		err = s.snpReport(ctx, col)
	case ReportTypeTDX:
		err = s.tdQuote(ctx, col)
	}
	if err != nil {
		return err
	}
	s.res.Parts = append(s.res.Parts, s.hw)
	return nil
}

// snpReport verifies the paravisor's SNP report: at VMPL 0 (SEV-SNP ABI spec, ATTESTATION_REPORT VMPL; docs/azure.md),
// its REPORT_DATA left to claimsBinding.
func (s *verification) snpReport(ctx context.Context, col *cloudra.Collateral) error {
	snp, err := s.v.snp()
	if err != nil {
		return err
	}
	s.hwName = hardwareSNPReport
	var sp sevsnp.Policy
	if s.pol.SEVSNP != nil {
		sp = *s.pol.SEVSNP
	}
	s.takeReportData(&sp.ReportData, "sev-snp report-data")
	vmpl := uint32(0)
	sp.VMPL = &vmpl
	hw, err := asResult(snp.Verify(ctx, sevsnp.Evidence{Report: s.h.HardwareReport, Product: s.ev.Product}, col, &sp, s.opts))
	if err != nil {
		return err
	}
	s.hw, s.boundRD = hw, s.h.SNP.ReportData
	return nil
}

// takeReportData moves the hardware section's report-data (the policy
// section named source) out of the section: the hardware report carries
// the hash of the runtime claims there, and the section's value becomes
// the user-data the echo must carry unless the caller or the azure section
// already named one.
func (s *verification) takeReportData(rd *cloudra.HexBytes, source string) {
	if len(s.expectedUD) == 0 && len(*rd) > 0 {
		s.expectedUD, s.udSource = *rd, source
	}
	*rd = nil
}

// tdQuote verifies the TD quote and that it quotes the TDREPORT of the HCL
// report; SEPT_VE_DISABLE is not required unless the tdx section says so
// (docs/pitfalls-dcap.md V5).
func (s *verification) tdQuote(ctx context.Context, col *cloudra.Collateral) error {
	td, err := s.v.tdx()
	if err != nil {
		return err
	}
	if len(s.ev.TDQuote) == 0 {
		return ErrNoTDQuote
	}
	s.hwName = hardwareTDQuote
	var tp tdx.Policy
	if s.pol.TDX != nil {
		tp = *s.pol.TDX
	}
	s.takeReportData(&tp.ReportData, "tdx report-data")
	if tp.RequireSEPTVEDisable == nil {
		tp.RequireSEPTVEDisable = policy.Bool(false)
	}
	hw, err := asResult(td.Verify(ctx, tdx.Evidence{Quote: s.ev.TDQuote}, col, &tp, s.opts))
	if err != nil {
		return err
	}
	s.hw, s.boundRD = hw, checkTDReportQuote(s.res, s.h.TDReport, s.ev.TDQuote)
	return nil
}

// claimsBinding checks the runtime-claims binding: Hash(claims as stored) ‖
// zeros == REPORT_DATA of the authenticated report (openvmm IGVM
// attestation report).
func (s *verification) claimsBinding() {
	h, rd := s.h, s.boundRD
	want := h.ExpectedReportData()
	if subtle.ConstantTimeCompare(want[:], rd[:]) == 1 {
		s.bound = authentic(s.hw)
		s.res.Passf(CheckBinding, "%v(runtime claims) ‖ zeros equals the %s REPORT_DATA %x", h.HashType, s.hwName, rd[:len(h.ClaimsDigest())])
		return
	}
	s.res.Failf(CheckBinding, cloudra.ClassBinding, "%v(runtime claims) is %x but the %s REPORT_DATA is %x (claims altered, or not the paravisor's report)",
		h.HashType, h.ClaimsDigest(), s.hwName, rd)
}

// runtimeClaims parses the runtime claims and takes HCLAkPub from them.
func (s *verification) runtimeClaims() {
	res := s.res
	rc, err := ParseRuntimeClaims(s.h.Claims)
	if err != nil {
		res.Failf(CheckClaimsParse, cloudra.ClassParse, "%v", err)
	} else {
		s.rc = rc
		res.Passf(CheckClaimsParse, "%d keys, vm-configuration %t, user-data %t", len(rc.Keys), rc.VMConfiguration != nil, rc.UserData != nil)
	}
	if s.rc != nil {
		if k, err := s.rc.AKPub(); err != nil {
			res.Failf(CheckHCLAkPub, cloudra.ClassParse, "%v", err)
		} else {
			s.akPub = tpm.AKFromKey(k).Public
			fp, _ := s.akPub.Fingerprint()
			res.Passf(CheckHCLAkPub, "RSA-%d, SPKI SHA-256 %x", k.N.BitLen(), fp)
		}
	}
	if s.ev.AKPublic != nil && s.akPub != nil {
		if tpm.SameKey(s.ev.AKPublic.Key, s.akPub.Key) {
			res.Passf(CheckAKMatch, "the supplied AK public key is HCLAkPub")
		} else {
			res.Failf(CheckAKMatch, cloudra.ClassBinding, "the supplied AK public key is not HCLAkPub: the quote is verified with HCLAkPub only")
		}
	}
}

// vtpmQuote verifies the vTPM quote, by HCLAkPub only.
func (s *verification) vtpmQuote(ctx context.Context) error {
	res, ev := s.res, s.ev
	switch {
	case ev.Quote != nil && s.akPub != nil:
		ak := tpm.AK{Public: s.akPub}
		if s.bound {
			ak.BoundBy = "azure-hcl: HCLAkPub in runtime claims bound to " + s.hwName
		}
		tr, err := asResult(tpm.VerifyQuote(ctx, *ev.Quote, ak, ev.Nonce, s.pol.TPM, s.opts))
		if err != nil {
			return err
		}
		res.Parts = append(res.Parts, tr)
		sig, _ := tr.Check("quote.signature")
		switch {
		case sig.Outcome != cloudra.OutcomePass:
			res.Failf(CheckAKBinding, cloudra.ClassBinding, "the vTPM quote is not signed by HCLAkPub: %s", sig.Detail)
		case !s.bound:
			res.Failf(CheckAKBinding, cloudra.ClassBinding, "the vTPM quote is signed by HCLAkPub, but HCLAkPub is not bound to an authentic %s", s.hwName)
		default:
			res.Passf(CheckAKBinding, "vTPM quote signed by HCLAkPub, bound to the %s through the runtime claims", s.hwName)
		}
		if n, _ := tr.Check("quote.nonce"); n.Outcome == cloudra.OutcomePass && len(ev.Nonce) > 0 && sig.Outcome == cloudra.OutcomePass {
			s.quoteFresh = true
		}
	case ev.Quote != nil:
		res.Failf(CheckAKBinding, cloudra.ClassBinding, "vTPM quote given but the runtime claims carry no usable HCLAkPub")
	default:
		res.Add(CheckVTPMQuote, cloudra.OutcomeSkip, "", "no vTPM quote: PCRs are not attested")
		if policy.Or(s.az.RequireVTPMQuote, false) {
			res.Violate(RuleVTPMQuote, cloudra.ClassPolicy, "a vTPM quote signed by HCLAkPub", "none")
		}
	}
	return nil
}

// freshness checks the user-data echo (NV 0x01400002 → claims
// "user-data") and requires a fresh quote or echo.
func (s *verification) freshness() {
	udFresh := checkUserData(s.res, s.rc, s.expectedUD, s.udSource)
	if policy.Or(s.az.RequireFreshness, true) && !s.quoteFresh && !udFresh {
		s.res.Violate(RuleFreshness, cloudra.ClassFresh, "a vTPM quote of a non-empty nonce, or a non-zero user-data echo",
			"neither (the HCL report alone is the boot-time report and can be replayed)")
	}
}

// authentic reports whether the hardware part's signature, chain and
// freshness checks passed (policy violations do not make a report less
// genuine).
func authentic(r *cloudra.Result) bool {
	if r == nil {
		return false
	}
	for _, c := range r.Checks {
		if c.Outcome == cloudra.OutcomeFail {
			switch c.Class {
			case cloudra.ClassSig, cloudra.ClassChain, cloudra.ClassParse, cloudra.ClassFresh, cloudra.ClassCollateral:
				return false
			}
		}
	}
	return true
}

// checkTDReportQuote compares the TD quote's body with the HCL report's
// TDREPORT and returns the quote's REPORTDATA (the authenticated one). Every
// field a quote copies from its TDREPORT must be equal: the TDREPORT in the
// HCL report is unauthenticated, the quote is what Intel's PCK signs.
func checkTDReportQuote(res *cloudra.Result, td *TDReport, quote []byte) [64]byte {
	q, err := dcap.ParseQuote(quote)
	if err != nil {
		res.Add(CheckTDReport, cloudra.OutcomeSkip, "", "TD quote does not parse (see the tdx part)")
		return [64]byte{}
	}
	tq, ok := q.(dcap.TDQuote)
	if !ok {
		res.Add(CheckTDReport, cloudra.OutcomeSkip, "", "quote is not a TD quote (see the tdx part)")
		return [64]byte{}
	}
	b := tq.TDReport()
	var diff []string
	cmp := func(name string, a, b []byte) {
		if !bytes.Equal(a, b) {
			diff = append(diff, name)
		}
	}
	cmp("REPORTDATA", td.ReportData[:], b.ReportData[:])
	cmp("TEE_TCB_SVN", td.TEETCBSVN[:], b.TEETCBSVN[:])
	cmp("MRSEAM", td.MRSEAM[:], b.MRSEAM[:])
	cmp("MRSIGNERSEAM", td.MRSignerSEAM[:], b.MRSignerSEAM[:])
	cmp("SEAM_ATTRIBUTES", td.SEAMAttributes[:], b.SEAMAttributes[:])
	cmp("TD_ATTRIBUTES", td.TDAttributes[:], b.TDAttributes[:])
	cmp("XFAM", td.XFAM[:], b.XFAM[:])
	cmp("MRTD", td.MRTD[:], b.MRTD[:])
	cmp("MRCONFIGID", td.MRConfigID[:], b.MRConfigID[:])
	cmp("MROWNER", td.MROwner[:], b.MROwner[:])
	cmp("MROWNERCONFIG", td.MROwnerConfig[:], b.MROwnerConfig[:])
	for i := range td.RTMR {
		cmp(fmt.Sprintf("RTMR%d", i), td.RTMR[i][:], b.RTMR[i][:])
	}
	if b.V15 {
		cmp("TEE_TCB_SVN2", td.TEETCBSVN2[:], b.TEETCBSVN2[:])
		cmp("MRSERVICETD", td.ServTDHash[:], b.MRServiceTD[:])
	}
	if len(diff) > 0 {
		res.Failf(CheckTDReport, cloudra.ClassBinding, "the TD quote is not a quote of the HCL report's TDREPORT: %s differ", strings.Join(diff, ", "))
		return b.ReportData
	}
	res.Passf(CheckTDReport, "the TD quote body equals the HCL report's TDREPORT (REPORTDATA, MRTD, RTMRs, TD_ATTRIBUTES, XFAM, SEAM fields)")
	return b.ReportData
}

// checkUserData checks the claims' user-data echo; it returns true when a
// non-zero expected value was echoed.
func checkUserData(res *cloudra.Result, rc *RuntimeClaims, want []byte, source string) bool {
	if len(want) == 0 {
		switch {
		case rc == nil:
			res.Add(CheckUserData, cloudra.OutcomeSkip, "", "runtime claims unreadable")
		case rc.UserData == nil:
			res.Add(CheckUserData, cloudra.OutcomeSkip, "", "no expected user-data, and the claims carry none (older paravisor)")
		case lebytes.IsZero(rc.UserData):
			res.Add(CheckUserData, cloudra.OutcomeSkip, "", "no expected user-data; the claims' user-data is all zero (boot-time report)")
		default:
			res.Add(CheckUserData, cloudra.OutcomeSkip, "", "no expected user-data given; claims user-data "+hex.EncodeToString(rc.UserData))
		}
		return false
	}
	if len(want) > UserDataSize {
		res.Failf(CheckUserData, cloudra.ClassBinding, "expected user-data from %s has %d bytes, at most %d fit", source, len(want), UserDataSize)
		return false
	}
	switch {
	case rc == nil:
		res.Failf(CheckUserData, cloudra.ClassBinding, "expected user-data from %s, but the runtime claims are unreadable", source)
		return false
	case rc.UserData == nil:
		res.Failf(CheckUserData, cloudra.ClassBinding, "expected user-data from %s, but the claims carry no user-data (older paravisor: use a vTPM quote nonce)", source)
		return false
	case len(rc.UserData) != UserDataSize:
		res.Failf(CheckUserData, cloudra.ClassBinding, "claims user-data has %d bytes, want %d", len(rc.UserData), UserDataSize)
		return false
	}
	var padded [UserDataSize]byte
	copy(padded[:], want)
	if subtle.ConstantTimeCompare(padded[:], rc.UserData) != 1 {
		res.Failf(CheckUserData, cloudra.ClassBinding, "claims user-data %x is not the expected %x (from %s) followed by zeros", rc.UserData, want, source)
		return false
	}
	res.Passf(CheckUserData, "claims user-data equals the expected %d bytes (from %s) followed by zeros", len(want), source)
	return !lebytes.IsZero(want)
}

// appraiseVMConfig applies the vm-configuration rules.
func appraiseVMConfig(res *cloudra.Result, vc *VMConfiguration, az *Policy) {
	got := func(b *bool) string {
		if b == nil {
			return "absent"
		}
		return fmt.Sprint(*b)
	}
	if vc == nil {
		vc = &VMConfiguration{}
	}
	if policy.Or(az.RequireSecureBoot, false) && (vc.SecureBoot == nil || !*vc.SecureBoot) {
		res.Violate(RuleSecureBoot, cloudra.ClassPolicy, "true", got(vc.SecureBoot))
	}
	if policy.Or(az.RequireTPMEnabled, false) && (vc.TPMEnabled == nil || !*vc.TPMEnabled) {
		res.Violate(RuleTPMEnabled, cloudra.ClassPolicy, "true", got(vc.TPMEnabled))
	}
	if !policy.Or(az.AllowConsole, true) && (vc.ConsoleEnabled == nil || *vc.ConsoleEnabled) {
		res.Violate(RuleConsole, cloudra.ClassPolicy, "false", got(vc.ConsoleEnabled))
	}
	if len(az.VMUniqueIDs) > 0 {
		ok := false
		for _, id := range az.VMUniqueIDs {
			if vc.VMUniqueID != "" && strings.EqualFold(strings.TrimSpace(id), vc.VMUniqueID) {
				ok = true
			}
		}
		if !ok {
			res.Violate(RuleVMUniqueID, cloudra.ClassPolicy, strings.Join(az.VMUniqueIDs, ","), vc.VMUniqueID)
		}
	}
}

// Claims are the normalised claims of verified Azure evidence: the HCL
// report's header and the paravisor's runtime claims. The hardware and
// vTPM claims are in the parts.
type Claims struct {
	HCL     *HCLReport
	Runtime *RuntimeClaims
	AKPub   *tpm.Public
	Bound   string
}

// Claims implements cloudra.ClaimSet.
func (c *Claims) Claims() []cloudra.Claim {
	out := []cloudra.Claim{
		{Name: "hcl_version", Value: c.HCL.Version},
		{Name: "report_type", Value: c.HCL.ReportType.String()},
		{Name: "claims_hash", Value: c.HCL.HashType.String()},
		{Name: "claims_bound_to", Value: c.Bound},
	}
	if c.AKPub != nil {
		if fp, err := c.AKPub.Fingerprint(); err == nil {
			out = append(out, cloudra.Claim{Name: "hcl_ak_sha256", Value: hex.EncodeToString(fp[:])})
		}
	}
	if k, err := c.Runtime.Key(KidEK); err == nil {
		if pub, err := k.RSAPublicKey(); err == nil {
			if der, err := x509.MarshalPKIXPublicKey(pub); err == nil {
				fp := sha256.Sum256(der)
				out = append(out, cloudra.Claim{Name: "hcl_ek_sha256", Value: hex.EncodeToString(fp[:])})
			}
		}
	}
	if c.Runtime.UserData != nil {
		out = append(out, cloudra.Claim{Name: "user_data", Value: hex.EncodeToString(c.Runtime.UserData)})
	}
	if vc := c.Runtime.VMConfiguration; vc != nil {
		// The paravisor's statement, bound to the hardware report but not
		// measured by the CPU: named as such.
		out = append(out, cloudra.Claim{Name: "paravisor_vm_configuration", Value: vc.Fields})
	}
	return out
}
