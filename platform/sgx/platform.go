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
	return seam.SetReportData(p, Platform, reportData, rd)
}

func reportData(s *Policy) *cloudra.HexBytes { return &s.ReportData }

// VerifyRequest verifies an SGX quote, the relying party's challenge (if
// any) as the expected REPORT_DATA.
func (v *Verifier) VerifyRequest(ctx context.Context, req *seam.Request) (*cloudra.Result, error) {
	return seam.VerifyReportData(ctx, req, Platform, reportData, func(ctx context.Context, sp *Policy) (*cloudra.Result, error) {
		return v.Verify(ctx, Evidence{Quote: req.Primary.Data}, req.Collateral, sp, req.Options)
	})
}
