package sgx

import (
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/policy"
)

// Seam returns SGX's entry in cloudra's list of platforms
// (platform/platforms.go).
func Seam() seam.Platform { return sgxPlatform{} }

type sgxPlatform struct{}

func (sgxPlatform) Name() string { return Platform }

func (sgxPlatform) Kinds() []seam.KindSpec {
	return []seam.KindSpec{
		{Kind: cloudra.KindSGXQuote, Role: seam.Primary},
	}
}

// Detect recognises a DCAP quote header with TEE type 0 (SGX).
func (sgxPlatform) Detect(b []byte) cloudra.Kind {
	if tee, ok := dcap.DetectTEE(b); ok && tee == dcap.TEETypeSGX {
		return cloudra.KindSGXQuote
	}
	return ""
}

func (sgxPlatform) Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	switch kind {
	case cloudra.KindSGXQuote:
		return dcap.Inspect(data)
	}
	return nil, fmt.Errorf("sgx: no inspector for %s", kind)
}

func (sgxPlatform) Policy() policy.Section { return PolicySection() }

// Build loads the pinned Intel root, plus the simulated Intel-like root when
// the caller gave it (trusted only under Options.AllowTestRoots).
func (sgxPlatform) Build(env seam.Env) (seam.Verifier, error) {
	var opts []Option
	for _, r := range env.Roots(Platform) {
		opts = append(opts, WithTestRoot(r.Cert))
	}
	return NewVerifier(opts...)
}

// SetReportData sets the sgx section's expected REPORT_DATA.
func (sgxPlatform) SetReportData(p *policy.Policy, rd []byte) *policy.Policy {
	var s Policy
	if c := PolicyOf(p); c != nil {
		s = *c
	}
	s.ReportData = append(cloudra.HexBytes(nil), rd...)
	return p.With(Platform, &s)
}

// VerifyRequest verifies an SGX quote, the relying party's challenge (if
// any) as the expected REPORT_DATA.
func (v *Verifier) VerifyRequest(ctx context.Context, req *seam.Request) (*cloudra.Result, error) {
	tp := seam.WithReportData(PolicyOf(req.Policy), req.Challenge, func(s *Policy) *cloudra.HexBytes { return &s.ReportData })
	r, err := seam.Decided(v.Verify(ctx, Evidence{Quote: req.Primary.Data}, req.Collateral, tp, req.Options))
	if err != nil {
		return nil, err
	}
	seam.NoteFreshness(r, tp != nil && len(tp.ReportData) > 0, !r.HasViolation("report-data"), "REPORT_DATA")
	return r, r.Err()
}
