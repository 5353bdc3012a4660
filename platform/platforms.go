package platform

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/azure"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

// platforms is the explicit list of platform verifiers (no init() magic).
// Adding a platform adds one field here, one case in verify and inspect.
type platforms struct {
	snp   *sevsnp.Verifier
	tdx   *tdx.Verifier
	sgx   *sgx.Verifier
	azure *azure.Verifier
}

// newPlatforms builds the verifiers with the vendors' pinned roots and, when
// withSim is set, the simulated platforms' test roots too (which the
// verifiers still use only under Options.AllowTestRoots).
func newPlatforms(withSim bool) (platforms, error) {
	roots, err := sevsnp.DefaultRoots()
	if err != nil {
		return platforms{}, fmt.Errorf("sev-snp roots: %w", err)
	}
	var tdxOpts []tdx.Option
	var sgxOpts []sgx.Option
	if withSim {
		if roots, err = withSimulatorRoots(roots); err != nil {
			return platforms{}, err
		}
		if tdxOpts, sgxOpts, err = dcapSimulatorRoots(); err != nil {
			return platforms{}, err
		}
	}
	tv, err := tdx.NewVerifier(tdxOpts...)
	if err != nil {
		return platforms{}, err
	}
	sv, err := sgx.NewVerifier(sgxOpts...)
	if err != nil {
		return platforms{}, err
	}
	snp := sevsnp.NewVerifier(roots)
	return platforms{snp: snp, tdx: tv, sgx: sv, azure: azure.NewVerifier(snp, tv)}, nil
}

// verify runs the verifier of every primary artifact in the bundle, each
// with the companions that belong to it (see groupArtifacts).
func (p platforms) verify(ctx context.Context, in Input, groups []*group) ([]*cloudra.Result, error) {
	var out []*cloudra.Result
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := p.verifyGroup(ctx, in, g)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// verifyGroup verifies one primary artifact with its companions and notes
// whether its freshness was checked against the relying party's value.
func (p platforms) verifyGroup(ctx context.Context, in Input, g *group) (*cloudra.Result, error) {
	pol := in.Policy
	a := g.primary
	switch a.Kind {
	case cloudra.KindAzureHCL:
		// An Azure CVM's HCL report is the root of its evidence: the
		// hardware report inside it, the TD quote and the vTPM quote are
		// its parts and are verified (and bound) by the Azure verifier.
		ev, err := azure.EvidenceFromBundle(g.bundle())
		if err != nil {
			return nil, err
		}
		ev.Nonce = in.Nonce
		azPol := azure.PolicyFrom(pol, pol.Azure)
		if len(in.Challenge) > 0 {
			// A challenge is answered either by the vTPM quote (its
			// extraData) or by the user-data echo through NV 0x01400002:
			// whichever the evidence used is then required to match.
			if len(ev.Nonce) == 0 && ev.Quote != nil && quoteCarries(ev.Quote.Attest, in.Challenge) {
				ev.Nonce = in.Challenge
			} else if len(ev.UserData) == 0 {
				ev.UserData = in.Challenge
			}
		}
		r, err := asResult(p.azure.Verify(ctx, ev, in.Collateral, azPol, in.Options))
		if err != nil {
			return nil, err
		}
		expected := len(ev.Nonce) > 0 || len(ev.UserData) > 0 || (pol.Azure != nil && len(pol.Azure.UserData) > 0) ||
			(pol.SEVSNP != nil && len(pol.SEVSNP.ReportData) > 0) || (pol.TDX != nil && len(pol.TDX.ReportData) > 0)
		noteFreshness(r, expected, !r.HasViolation(azure.RuleFreshness) && !failedCheck(r, azure.CheckUserData) && !failedCheck(r, "quote.nonce"),
			"a vTPM quote nonce or user-data")
		return r, nil
	case cloudra.KindSNPReport:
		ev := sevsnp.Evidence{Report: a.Data, Product: a.Meta["product"]}
		if ct, ok := g.companion(cloudra.KindSNPCertTable); ok {
			ev.CertTable = ct.Data
		}
		sp := withReportData(pol.SEVSNP, in.Challenge, func(s *policy.SEVSNP) *[]byte { return (*[]byte)(&s.ReportData) })
		r, err := asResult(p.snp.Verify(ctx, ev, in.Collateral, sp, in.Options))
		if err != nil {
			return nil, err
		}
		noteFreshness(r, sp != nil && len(sp.ReportData) > 0, !r.HasViolation("report-data"), "REPORT_DATA")
		return r, nil
	case cloudra.KindTDXQuote:
		tp := withReportData(pol.TDX, in.Challenge, func(s *policy.TDX) *[]byte { return (*[]byte)(&s.ReportData) })
		r, err := asResult(p.tdx.Verify(ctx, tdx.Evidence{Quote: a.Data}, in.Collateral, tp, in.Options))
		if err != nil {
			return nil, err
		}
		if l, ok := g.companion(cloudra.KindCCELLog); ok {
			checkCCEL(r, a.Data, l.Data)
		}
		noteFreshness(r, tp != nil && len(tp.ReportData) > 0, !r.HasViolation("report-data"), "REPORT_DATA")
		return r, nil
	case cloudra.KindSGXQuote:
		sp := withReportData(pol.SGX, in.Challenge, func(s *policy.SGX) *[]byte { return (*[]byte)(&s.ReportData) })
		r, err := asResult(p.sgx.Verify(ctx, sgx.Evidence{Quote: a.Data}, in.Collateral, sp, in.Options))
		if err != nil {
			return nil, err
		}
		noteFreshness(r, sp != nil && len(sp.ReportData) > 0, !r.HasViolation("report-data"), "REPORT_DATA")
		return r, nil
	case cloudra.KindTPMAttest:
		nonce := in.Nonce
		if len(nonce) == 0 {
			nonce = in.Challenge
		}
		r, err := verifyTPM(ctx, in, g, nonce)
		if err != nil {
			return nil, err
		}
		noteFreshness(r, len(nonce) > 0, !failedCheck(r, "quote.nonce"), "nonce")
		return r, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedArtifact, a.Kind)
}

// withReportData returns the policy section with REPORT_DATA set to the
// challenge (on a copy; the caller's section is never written), or the
// section itself when there is no challenge.
func withReportData[T any](sec *T, challenge []byte, field func(*T) *[]byte) *T {
	if len(challenge) == 0 {
		return sec
	}
	var c T
	if sec != nil {
		c = *sec
	}
	*field(&c) = append([]byte(nil), challenge...)
	return &c
}

// quoteCarries reports whether a TPMS_ATTEST's extraData is the challenge.
// It only chooses which binding an Azure verification requires; the quote
// is then verified in full.
func quoteCarries(attest, challenge []byte) bool {
	a, err := tpm.ParseAttest(attest)
	return err == nil && bytes.Equal(a.ExtraData, challenge)
}

// CheckFreshness is the check that says whether the evidence answered the
// relying party's challenge (pass), or that no expected value was given so
// freshness was not checked (skip, with a warning).
const CheckFreshness = "freshness"

// noteFreshness records CheckFreshness: pass when an expected value was
// given and answered; skip with a warning when none was given. A value that
// was given and not answered is already a failed binding or freshness check.
func noteFreshness(r *cloudra.Result, expected, answered bool, what string) {
	switch {
	case !expected:
		r.Add(CheckFreshness, cloudra.OutcomeSkip, "", "no expected value ("+what+") from the relying party: freshness not checked")
		r.Warn("freshness not checked: no expected value (%s) was given, so this evidence may be a replay", what)
	case answered:
		r.Add(CheckFreshness, cloudra.OutcomePass, "", "the evidence carries the relying party's "+what)
	}
	r.Finish()
}

func failedCheck(r *cloudra.Result, name string) bool {
	c, ok := r.Check(name)
	return ok && c.Outcome == cloudra.OutcomeFail
}

// Inspect parses one artifact and returns every field, named as in its
// specification. Nothing is verified.
func Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	switch kind {
	case cloudra.KindSNPReport:
		r, err := sevsnp.ParseReport(data)
		if err != nil {
			return nil, err
		}
		return r.Fields(), nil
	case cloudra.KindSNPCertTable:
		t, err := sevsnp.ParseCertTable(data)
		if err != nil {
			return nil, err
		}
		var out []cloudra.Claim
		for _, e := range t.Entries {
			out = append(out, cloudra.Claim{Name: e.GUID.String(), Value: fmt.Sprintf("%d bytes", len(e.Data))})
		}
		return out, nil
	case cloudra.KindTDXQuote, cloudra.KindSGXQuote:
		return dcap.Inspect(data)
	case cloudra.KindAzureHCL:
		h, err := azure.ParseHCLReport(data)
		if err != nil {
			return nil, err
		}
		return h.Fields(), nil
	case cloudra.KindEventLog:
		return eventLogFields(data, false)
	case cloudra.KindCCELLog:
		return eventLogFields(data, true)
	case cloudra.KindTPMAttest:
		a, err := tpm.ParseAttest(data)
		if err != nil {
			return nil, err
		}
		return attestFields(a), nil
	}
	return nil, fmt.Errorf("%w: no inspector for %s", ErrUnknownArtifact, kind)
}
