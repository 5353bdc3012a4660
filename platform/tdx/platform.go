package tdx

import (
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/eventlog"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/policy"
)

// Seam returns TDX's entry in cloudra's list of platforms
// (platform/platforms.go).
func Seam() seam.Platform { return tdxPlatform{} }

type tdxPlatform struct{}

func (tdxPlatform) Name() string { return Platform }

func (tdxPlatform) Kinds() []seam.KindSpec {
	return []seam.KindSpec{
		{Kind: cloudra.KindTDXQuote, Role: seam.Primary},
		{Kind: cloudra.KindCCELLog, Role: seam.Companion, Of: cloudra.KindTDXQuote},
		{Kind: cloudra.KindTDReport, Role: seam.Informational},
		{Kind: cloudra.KindCCEL, Role: seam.Informational},
	}
}

// Detect recognises a DCAP quote header with TEE type 0x81 (TDX).
func (tdxPlatform) Detect(b []byte) cloudra.Kind {
	if tee, ok := dcap.DetectTEE(b); ok && tee == dcap.TEETypeTDX {
		return cloudra.KindTDXQuote
	}
	return ""
}

func (tdxPlatform) Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	switch kind {
	case cloudra.KindTDXQuote:
		return dcap.Inspect(data)
	case cloudra.KindCCELLog:
		return eventlog.Fields(data, true)
	}
	return nil, fmt.Errorf("tdx: no inspector for %s", kind)
}

func (tdxPlatform) Policy() policy.Section { return PolicySection() }

// Build loads the pinned Intel root, plus the simulated Intel-like root when
// the caller gave it (trusted only under Options.AllowTestRoots).
func (tdxPlatform) Build(env seam.Env) (seam.Verifier, error) {
	var opts []Option
	for _, r := range env.Roots(Platform) {
		opts = append(opts, WithTestRoot(r.Cert))
	}
	return NewVerifier(opts...)
}

// SetReportData sets the tdx section's expected REPORT_DATA.
func (tdxPlatform) SetReportData(p *policy.Policy, rd []byte) *policy.Policy {
	return seam.SetReportData(p, Platform, reportData, rd)
}

func reportData(s *Policy) *cloudra.HexBytes { return &s.ReportData }

// VerifyRequest verifies a TD quote, the relying party's challenge (if any)
// as the expected REPORT_DATA, and replays its CC event log when one came
// with it.
func (v *Verifier) VerifyRequest(ctx context.Context, req *seam.Request) (*cloudra.Result, error) {
	return seam.VerifyReportData(ctx, req, Platform, reportData, func(ctx context.Context, tp *Policy) (*cloudra.Result, error) {
		r, err := v.Verify(ctx, Evidence{Quote: req.Primary.Data}, req.Collateral, tp, req.Options)
		if l, ok := req.Companion(cloudra.KindCCELLog); ok && r != nil {
			CheckCCEL(r, req.Primary.Data, l.Data)
		}
		return r, err
	})
}
