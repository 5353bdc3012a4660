package azure

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

// Seam returns Azure confidential VMs' entry in cloudra's list of platforms
// (platform/platforms.go). It is a composite: the hardware report inside an
// HCL report is verified by the SEV-SNP or TDX platform and the vTPM quote
// by the TPM platform, obtained through seam.Env.Verifier, and this platform
// adds the bindings between them.
func Seam() seam.Platform { return azurePlatform{} }

type azurePlatform struct{}

func (azurePlatform) Name() string { return Platform }

func (azurePlatform) Kinds() []seam.KindSpec {
	return []seam.KindSpec{{Kind: cloudra.KindAzureHCL, Role: seam.Primary,
		Parts: []cloudra.Kind{cloudra.KindTDXQuote, cloudra.KindTPMAttest}, PartsOf: hclParts}}
}

// hclParts: an HCL report owns the vTPM quote (signed by its HCLAkPub) and,
// when it holds a TDX report, the TD quote of that report. An unreadable
// report owns the quote only (its verification then fails as parse).
func hclParts(data []byte) []cloudra.Kind {
	if h, err := ParseHCLReport(data); err == nil && h.ReportType == ReportTypeTDX {
		return []cloudra.Kind{cloudra.KindTDXQuote, cloudra.KindTPMAttest}
	}
	return []cloudra.Kind{cloudra.KindTPMAttest}
}

// Detect recognises an HCL report by its "HCLA" signature (the paravisor's
// attestation report header; docs/azure.md).
func (azurePlatform) Detect(b []byte) cloudra.Kind {
	if len(b) >= 4 && string(b[:4]) == "HCLA" {
		return cloudra.KindAzureHCL
	}
	return ""
}

func (azurePlatform) Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	if kind != cloudra.KindAzureHCL {
		return nil, fmt.Errorf("azure: no inspector for %s", kind)
	}
	h, err := ParseHCLReport(data)
	if err != nil {
		return nil, err
	}
	return h.Fields(), nil
}

func (azurePlatform) Policy() policy.Section { return PolicySection() }

// Build builds nothing of its own: the SEV-SNP or TDX verifier an HCL
// report needs is obtained through env on first use, the other never.
func (azurePlatform) Build(env seam.Env) (seam.Verifier, error) {
	return &cvmVerifier{v: newLazyVerifier(
		func() (*sevsnp.Verifier, error) { return platformVerifier[*sevsnp.Verifier](env, sevsnp.Platform) },
		func() (*tdx.Verifier, error) { return platformVerifier[*tdx.Verifier](env, tdx.Platform) },
	)}, nil
}

type cvmVerifier struct{ v *Verifier }

// platformVerifier returns the verifier of the named platform as the type
// this package calls.
func platformVerifier[T seam.Verifier](env seam.Env, name string) (T, error) {
	var zero T
	v, err := env.Verifier(name)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("azure: the %s platform's verifier is a %T", name, v)
	}
	return t, nil
}

// VerifyRequest verifies an HCL report with its parts. A relying party's
// challenge is answered either by the vTPM quote (its extraData) or by the
// user-data echo through NV 0x01400002: whichever the evidence used is then
// required to match.
func (c *cvmVerifier) VerifyRequest(ctx context.Context, req *seam.Request) (*cloudra.Result, error) {
	ev, err := EvidenceFromBundle(req.Bundle())
	if err != nil {
		return nil, err
	}
	ev.Nonce = req.Nonce
	pol := req.Policy
	az := PolicyOf(pol)
	if len(req.Challenge) > 0 {
		if len(ev.Nonce) == 0 && ev.Quote != nil && quoteCarries(ev.Quote.Attest, req.Challenge) {
			ev.Nonce = req.Challenge
		} else if len(ev.UserData) == 0 {
			ev.UserData = req.Challenge
		}
	}
	r, err := seam.Decided(c.v.Verify(ctx, ev, req.Collateral, PolicyFrom(pol, az), req.Options))
	if err != nil {
		return nil, err
	}
	snp, td := sevsnp.PolicyOf(pol), tdx.PolicyOf(pol)
	expected := len(ev.Nonce) > 0 || len(ev.UserData) > 0 || (az != nil && len(az.UserData) > 0) ||
		(snp != nil && len(snp.ReportData) > 0) || (td != nil && len(td.ReportData) > 0)
	seam.NoteFreshness(r, expected, !r.HasViolation(RuleFreshness) && !seam.FailedCheck(r, CheckUserData) && !seam.FailedCheck(r, "quote.nonce"),
		"a vTPM quote nonce or user-data")
	return r, r.Err()
}

// quoteCarries reports whether a TPMS_ATTEST's extraData is the challenge.
// It only chooses which binding an Azure verification requires; the quote
// is then verified in full.
func quoteCarries(attest, challenge []byte) bool {
	a, err := tpm.ParseAttest(attest)
	return err == nil && bytes.Equal(a.ExtraData, challenge)
}
