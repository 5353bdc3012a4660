package sevsnp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/policy"
)

// Seam is SEV-SNP's entry in cloudra's list of platforms
// (platform/platforms.go).
func Seam() seam.Platform { return snpPlatform{} }

type snpPlatform struct{}

func (snpPlatform) Name() string { return Platform }

func (snpPlatform) Kinds() []seam.KindSpec {
	return []seam.KindSpec{
		{Kind: cloudra.KindSNPReport, Role: seam.Primary},
		{Kind: cloudra.KindSNPCertTable, Role: seam.Companion, Of: cloudra.KindSNPReport},
	}
}

// Detect recognises an ATTESTATION_REPORT by its header: VERSION 2..5 and
// SIGNATURE_ALGO 1, ECDSA P-384 with SHA-384 (SEV-SNP Firmware ABI
// Specification #56860, Table 23 ATTESTATION_REPORT Structure, offsets 0h
// and 34h), even when cut short or followed by other bytes: the verifier
// then rejects it as parse, with the reason, rather than calling it unknown.
func (snpPlatform) Detect(b []byte) cloudra.Kind {
	if len(b) < 0x38 {
		return ""
	}
	v := binary.LittleEndian.Uint32(b[0:])
	if v >= 2 && v <= 5 && binary.LittleEndian.Uint32(b[0x34:]) == 1 {
		return cloudra.KindSNPReport
	}
	return ""
}

func (snpPlatform) Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	switch kind {
	case cloudra.KindSNPReport:
		r, err := ParseReport(data)
		if err != nil {
			return nil, err
		}
		return r.Fields(), nil
	case cloudra.KindSNPCertTable:
		t, err := ParseCertTable(data)
		if err != nil {
			return nil, err
		}
		var out []cloudra.Claim
		for _, e := range t.Entries {
			out = append(out, cloudra.Claim{Name: e.GUID.String(), Value: fmt.Sprintf("%d bytes", len(e.Data))})
		}
		return out, nil
	}
	return nil, fmt.Errorf("sev-snp: no inspector for %s", kind)
}

func (snpPlatform) Policy() policy.Section { return PolicySection() }

// Build loads the pinned AMD roots, plus the simulated platforms' ARKs when
// the caller gave them (trusted only under Options.AllowTestRoots).
func (snpPlatform) Build(env seam.Env) (seam.Verifier, error) {
	roots, err := DefaultRoots()
	if err != nil {
		return nil, fmt.Errorf("sev-snp roots: %w", err)
	}
	for _, r := range env.Roots(Platform) {
		roots = roots.WithTestARK(r.Product, r.Cert)
	}
	return NewVerifier(roots), nil
}

// SetReportData sets the sev-snp section's expected REPORT_DATA.
func (snpPlatform) SetReportData(p *policy.Policy, rd []byte) *policy.Policy {
	return seam.SetReportData(p, Platform, reportData, rd)
}

func reportData(s *Policy) *cloudra.HexBytes { return &s.ReportData }

// RevocationRefs names the ARK-signed CRL from AMD KDS for a report whose
// product line is known (CPUID on v3+, or the "product" meta hint). The
// verifier never names it as missing (a missing CRL is a warning unless the
// policy requires one), so a fetcher gets it up front.
func (snpPlatform) RevocationRefs(a cloudra.Artifact) []cloudra.CollateralRef {
	if a.Kind != cloudra.KindSNPReport {
		return nil
	}
	r, err := ParseReport(a.Data)
	if err != nil {
		return nil
	}
	product := a.Meta["product"]
	if product == "" && r.Version >= 3 {
		product = ProductFromCPUID(r.CPUIDFamily, r.CPUIDModel)
	}
	if product == "" {
		return nil
	}
	return []cloudra.CollateralRef{{What: "AMD " + product + " CRL", URL: URLsFor(r, product).CRL}}
}

// VerifyRequest verifies an SEV-SNP report with its certificate table, the
// relying party's challenge (if any) as the expected REPORT_DATA.
func (v *Verifier) VerifyRequest(ctx context.Context, req *seam.Request) (*cloudra.Result, error) {
	ev := Evidence{Report: req.Primary.Data, Product: req.Primary.Meta["product"]}
	if ct, ok := req.Companion(cloudra.KindSNPCertTable); ok {
		ev.CertTable = ct.Data
	}
	return seam.VerifyReportData(ctx, req, Platform, reportData, func(ctx context.Context, sp *Policy) (*cloudra.Result, error) {
		return v.Verify(ctx, ev, req.Collateral, sp, req.Options)
	})
}

// RevocationAtHand reports whether col holds a CRL issued by the ARK of the
// product that ref names (the KDS path /vcek/v1/{product}/crl, AMD Key
// Distribution Server Interface specification #57230 §4.2), valid at t when
// valid is set. Which list verifies is then for the verifier to judge.
func (snpPlatform) RevocationAtHand(ref cloudra.CollateralRef, col *cloudra.Collateral, t time.Time, valid bool) bool {
	u, err := url.Parse(ref.URL)
	if err != nil || col == nil {
		return false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 4 || parts[3] != "crl" {
		return false
	}
	issuer := "ARK-" + parts[2]
	for _, crl := range col.CRLs {
		if crl.Issuer.CommonName != issuer {
			continue
		}
		if !valid || (!t.Before(crl.ThisUpdate) && t.Before(crl.NextUpdate)) {
			return true
		}
	}
	return false
}

// RevocationRequired reports whether the sev-snp section sets require-crl.
func (snpPlatform) RevocationRequired(p *policy.Policy) bool {
	s := PolicyOf(p)
	return s != nil && s.RequireCRL
}
