package platform_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/simroots"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

const gceDir = "tpm/gce-cos85-amd-sev-attestation-akcert"

var gceTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// gcePolicy trusts the GCE AK root by fingerprint.
func gcePolicy(t *testing.T) *policy.Policy {
	t.Helper()
	root := vectortest.Read(t, gceDir+"/ca/tpm_ek_root_1.cer")
	fp := sha256.Sum256(root)
	return policy.Default().With(tpm.Platform, &tpm.Policy{AKRoots: []string{hex.EncodeToString(fp[:])}})
}

// gceQuoteArtifacts is one GCE quote (bank) with its companions, each
// naming the quote it belongs to.
func gceQuoteArtifacts(t *testing.T, bank string) []cloudra.Artifact {
	t.Helper()
	base := gceDir + "/gce-cos-85-nonce9009/quote_" + bank
	name := "quote-" + bank
	for_ := map[string]string{platform.MetaFor: name}
	return []cloudra.Artifact{
		{Kind: cloudra.KindTPMAttest, Name: name, Data: vectortest.Read(t, base+".tpms_attest.bin")},
		{Kind: cloudra.KindTPMSig, Data: vectortest.Read(t, base+".tpmt_signature.bin"), Meta: for_},
		{Kind: cloudra.KindTPMPCRs, Data: vectortest.Read(t, base+".pcrs.json"), Meta: for_},
		{Kind: cloudra.KindTPMAKPub, Data: vectortest.Read(t, gceDir+"/ak_pub.tpmt_public.bin"), Meta: for_},
		{Kind: cloudra.KindTPMAKCert, Data: vectortest.Read(t, gceDir+"/ak_cert.der"), Meta: for_},
	}
}

func gceCollateral(t *testing.T) *cloudra.Collateral {
	t.Helper()
	return vectorCollateral(t, gceDir+"/ca")
}

// azure2023 is the trustee 2023 Azure CVM evidence (HCL report, vTPM quote
// of "challenge", PCRs) with its collateral and time; its claims' user-data
// is all zero.
func azure2023(t *testing.T) (*cloudra.Bundle, *cloudra.Collateral, time.Time) {
	t.Helper()
	v := "azure-hcl/trustee-az-snp-vtpm-milan-2023/"
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{
		{Kind: cloudra.KindAzureHCL, Data: vectortest.Read(t, v+"hcl_report.bin")},
		{Kind: cloudra.KindTPMAttest, Data: vectortest.Read(t, v+"quote_v1.tpms_attest.bin")},
		{Kind: cloudra.KindTPMSig, Data: vectortest.Read(t, v+"quote_v1.signature_rsassa_sha256.bin"), Meta: map[string]string{"format": "plain"}},
		{Kind: cloudra.KindTPMPCRs, Data: vectortest.Read(t, v+"quote_v1.pcrs_sha256.json")},
	}}
	return b, vectorCollateral(t, v), vectortest.Time(t, "2023-05-03T21:22:19Z")
}

func newVerifiers(t *testing.T) *platform.Verifiers {
	t.Helper()
	vs, err := platform.New(platform.WithTestRoots(simroots.Demo))
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func stripFor(arts []cloudra.Artifact) []cloudra.Artifact {
	out := make([]cloudra.Artifact, len(arts))
	for i, a := range arts {
		a.Meta = nil
		out[i] = a
	}
	return out
}

// TestBundleNonceIsNeverAnExpectedValue: a replayed TPM quote or Azure CVM
// bundle whose "nonce" field names the nonce it carries does not pass: the
// expected value comes from the relying party only.
func TestBundleNonceIsNeverAnExpectedValue(t *testing.T) {
	vs := newVerifiers(t)
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Nonce: []byte{0x90, 0x09}, Artifacts: stripFor(gceQuoteArtifacts(t, "SHA256"))}
	res, err := vs.Verify(context.Background(), platform.Input{Bundle: b, Collateral: gceCollateral(t), Policy: gcePolicy(t), Options: cloudra.Options{Time: gceTime}})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassFresh) || !res.HasViolation("require-nonce") {
		t.Fatalf("replayed TPM quote: %s %v %+v", res.Verdict, res.FailureClasses(), res.Violations)
	}
	// The relying party's nonce makes the same quote pass.
	res, err = vs.Verify(context.Background(), platform.Input{Bundle: b, Collateral: gceCollateral(t), Policy: gcePolicy(t),
		Nonce: []byte{0x90, 0x09}, Options: cloudra.Options{Time: gceTime}})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("with the relying party's nonce: %v %v", err, res.FailureClasses())
	}
	if c, _ := res.Check(platform.CheckFreshness); c.Outcome != cloudra.OutcomePass {
		t.Fatalf("freshness %+v", c)
	}

	// Azure: the 2023 trustee bundle's quote carries "challenge", and so
	// does its nonce field.
	az, col, at := azure2023(t)
	az.Nonce = []byte("challenge")
	res, err = vs.Verify(context.Background(), platform.Input{Bundle: az, Collateral: col, Options: cloudra.Options{Time: at}})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Fail || !res.HasViolation("require-freshness") || !res.HasFailure(cloudra.ClassFresh) {
		t.Fatalf("replayed Azure bundle: %s %v", res.Verdict, res.FailureClasses())
	}
}

// TestFreshnessNotCheckedIsSaid: without any expected value, the result
// says plainly that freshness was not checked (a skipped named check and a
// warning), in text and in JSON.
func TestFreshnessNotCheckedIsSaid(t *testing.T) {
	vs := newVerifiers(t)
	raw := vectortest.Read(t, "snp/virtee-sev-milan-v2-vcek/report.bin")
	col := vectorCollateral(t, "snp/virtee-sev-milan-v2-vcek")
	in := platform.Input{Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: raw}}},
		Collateral: col, Options: cloudra.Options{Time: vectortest.Time(t, "2023-04-04T19:23:43Z")}}
	res, err := vs.Verify(context.Background(), in)
	res = checktest.Result(t, res, err)
	c, ok := res.Check(platform.CheckFreshness)
	if !ok || c.Outcome != cloudra.OutcomeSkip {
		t.Fatalf("freshness check %+v", c)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "freshness not checked") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	js, _ := cloudra.Report{Result: res}.MarshalJSON()
	if !strings.Contains(string(js), `"name":"freshness","outcome":"skip"`) || !strings.Contains(string(js), "freshness not checked") {
		t.Fatalf("json %s", js)
	}
	// With the relying party's REPORT_DATA the check passes.
	rd, _ := hex.DecodeString(res.Claim("report_data").(string))
	pol := policy.Default()
	platform.SetReportData(pol, rd)
	in.Policy = pol
	res, err = vs.Verify(context.Background(), in)
	res = checktest.Result(t, res, err)
	if c, _ := res.Check(platform.CheckFreshness); c.Outcome != cloudra.OutcomePass || strings.Contains(strings.Join(res.Warnings, "\n"), "freshness") {
		t.Fatalf("with report-data: %+v %q", c, res.Warnings)
	}
}

// TestResultIdentityFromVerifiedFacts: a Milan VCEK report in a bundle that
// calls itself "tdx on aws" is reported as sev-snp with no cloud, and the
// bundle's words go to Claimed; a VLEK report names the cloud its CSP
// certificate says.
func TestResultIdentityFromVerifiedFacts(t *testing.T) {
	vs := newVerifiers(t)
	raw := vectortest.Read(t, "snp/virtee-sev-milan-v2-vcek/report.bin")
	col := vectorCollateral(t, "snp/virtee-sev-milan-v2-vcek")
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Platform: "tdx", Cloud: "aws",
		Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: raw}}}
	res, err := vs.Verify(context.Background(), platform.Input{Bundle: b, Collateral: col, Options: cloudra.Options{Time: vectortest.Time(t, "2023-04-04T19:23:43Z")}})
	res = checktest.Result(t, res, err)
	if res.Platform != "sev-snp" || res.Cloud != "" {
		t.Fatalf("platform %q cloud %q", res.Platform, res.Cloud)
	}
	if res.Claimed == nil || res.Claimed.Platform != "tdx" || res.Claimed.Cloud != "aws" {
		t.Fatalf("claimed %+v", res.Claimed)
	}
	js, _ := cloudra.Report{Result: res}.MarshalJSON()
	if !strings.Contains(string(js), `"platform":"sev-snp"`) || !strings.Contains(string(js), `"claimed":{"platform":"tdx","cloud":"aws"}`) {
		t.Fatalf("json %s", js)
	}

	vlek := vectortest.Read(t, "snp/trustee-milan-v3-vlek-aws/test-vlek-report.bin")
	col = vectorCollateral(t, "snp/trustee-milan-v3-vlek-aws")
	b = &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Cloud: "gcp", Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: vlek}}}
	res, err = vs.Verify(context.Background(), platform.Input{Bundle: b, Collateral: col, Options: cloudra.Options{Time: vectortest.Time(t, "2024-12-11T22:14:21Z")}})
	res = checktest.Result(t, res, err)
	if res.Cloud != "aws" || res.Claimed == nil || res.Claimed.Cloud != "gcp" {
		t.Fatalf("VLEK: cloud %q claimed %+v", res.Cloud, res.Claimed)
	}
}

// TestEveryPrimaryArtifactIsVerified: two TPM quotes are two verifications;
// a bad second quote fails the bundle instead of showing as a passing part.
func TestEveryPrimaryArtifactIsVerified(t *testing.T) {
	vs := newVerifiers(t)
	arts := append(gceQuoteArtifacts(t, "SHA256"), gceQuoteArtifacts(t, "SHA384")...)
	in := platform.Input{Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: arts},
		Collateral: gceCollateral(t), Policy: gcePolicy(t), Nonce: []byte{0x90, 0x09}, Options: cloudra.Options{Time: gceTime}}
	res, err := vs.Verify(context.Background(), in)
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Pass || len(res.Parts) != 2 || res.Platform != "tpm" {
		t.Fatalf("two good quotes: %s parts %d platform %q %v", res.Verdict, len(res.Parts), res.Platform, res.FailureClasses())
	}
	// The second quote's signature replaced by the first one's.
	bad := append([]cloudra.Artifact(nil), arts...)
	bad[6].Data = arts[1].Data
	in.Bundle = &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: bad}
	res, err = vs.Verify(context.Background(), in)
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Fail || len(res.Parts) != 2 || res.Parts[0].Verdict != cloudra.Pass || res.Parts[1].Verdict != cloudra.Fail {
		t.Fatalf("bad second quote: %s parts %d", res.Verdict, len(res.Parts))
	}
}

// TestAmbiguousCompanionsAreRefused: a companion artifact that could belong
// to two primaries, or to none, or two companions of one kind for one
// primary, make the bundle a clear parse error.
func TestAmbiguousCompanionsAreRefused(t *testing.T) {
	vs := newVerifiers(t)
	two := stripFor(append(gceQuoteArtifacts(t, "SHA256"), gceQuoteArtifacts(t, "SHA384")...))
	cases := map[string][]cloudra.Artifact{
		"two quotes, unnamed companions": two,
		"two signatures for one quote":   append(stripFor(gceQuoteArtifacts(t, "SHA256")), two[6]),
		"cert table without a report":    {{Kind: cloudra.KindSNPCertTable, Data: []byte{0}}, two[0], two[1], two[3]},
		"companion naming nothing": {two[0], {Kind: cloudra.KindTPMSig, Data: two[1].Data, Meta: map[string]string{platform.MetaFor: "nope"}},
			two[3]},
	}
	for name, arts := range cases {
		_, err := vs.Verify(context.Background(), platform.Input{Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: arts},
			Nonce: []byte{0x90, 0x09}, Options: cloudra.Options{Time: gceTime}})
		if !errors.Is(err, platform.ErrAmbiguousEvidence) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A primary this cloudra cannot verify is not silently dropped.
	arts := append(gceQuoteArtifacts(t, "SHA256"), cloudra.Artifact{Kind: cloudra.KindMAAToken, Data: []byte("eyJ.e30.")})
	_, err := vs.Verify(context.Background(), platform.Input{Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: arts},
		Options: cloudra.Options{Time: gceTime}})
	if !errors.Is(err, platform.ErrUnsupportedArtifact) {
		t.Errorf("MAA token beside a quote: %v", err)
	}
}

// TestAzureChallengeAnsweredByVTPMQuote: a relying party's challenge (the
// server's nonce) bound through the vTPM quote is enough for an Azure CVM;
// the user-data echo is not also demanded.
func TestAzureChallengeAnsweredByVTPMQuote(t *testing.T) {
	vs := newVerifiers(t)
	// The 2023 vector's quote carries "challenge"; its claims' user-data
	// is all zero (no echo).
	nonce := []byte("challenge")
	b, col, at := azure2023(t)
	res, err := vs.Verify(context.Background(), platform.Input{Bundle: b, Collateral: col, Challenge: nonce, Options: cloudra.Options{Time: at}})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Pass {
		t.Fatalf("challenge in the vTPM quote: %s %v %+v", res.Verdict, res.FailureClasses(), res.Violations)
	}
	if c, _ := res.Check("azure.user-data"); c.Outcome == cloudra.OutcomeFail {
		t.Fatalf("user-data demanded: %+v", c)
	}
	// Another challenge is answered by neither.
	res, err = vs.Verify(context.Background(), platform.Input{Bundle: b, Collateral: col, Challenge: []byte("another challenge"), Options: cloudra.Options{Time: at}})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Fail {
		t.Fatalf("other challenge: %s", res.Verdict)
	}
}

// TestTruncatedArtifactIsRejectedNotUnknown: a recognisable artifact cut
// short is a rejected artifact (class parse, with the reason), not an
// unrecognised one; truly unknown bytes stay unrecognised.
func TestTruncatedArtifactIsRejectedNotUnknown(t *testing.T) {
	vs := newVerifiers(t)
	for rel, cut := range map[string]int{
		"snp/virtee-sev-milan-v2-vcek/report.bin":                           793,
		"tdx/dcapqvl-v4-uptodate/quote.bin":                                 100,
		"sgx/automata-v3-00606a-swhardening/quote.bin":                      40,
		"azure-hcl/trustee-az-snp-vtpm-milan-2023/hcl_report.bin":           300,
		"azure-hcl/trustee-az-snp-vtpm-milan-2023/quote_v1.tpms_attest.bin": 50,
	} {
		raw := vectortest.Read(t, rel)[:cut]
		kind, bin, err := platform.Detect(raw)
		if err != nil {
			t.Errorf("%s cut to %d: %v", rel, cut, err)
			continue
		}
		b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{{Kind: kind, Data: bin}}}
		if kind == cloudra.KindTPMAttest {
			b.Artifacts = append(b.Artifacts,
				cloudra.Artifact{Kind: cloudra.KindTPMSig, Data: vectortest.Read(t, "azure-hcl/trustee-az-snp-vtpm-milan-2023/quote_v1.signature_rsassa_sha256.bin")},
				cloudra.Artifact{Kind: cloudra.KindTPMAKPub, Data: vectortest.Read(t, "azure-hcl/trustee-az-snp-vtpm-milan-2023/hcl_akpub.pem")})
		}
		res, err := vs.Verify(context.Background(), platform.Input{Bundle: b, Options: cloudra.Options{Time: gceTime}})
		if err := checktest.NoDecision(err); err != nil {
			t.Errorf("%s cut to %d: %v", rel, cut, err)
			continue
		}
		if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassParse) {
			t.Errorf("%s cut to %d: %s %v", rel, cut, res.Verdict, res.FailureClasses())
		}
	}
	for _, junk := range [][]byte{[]byte("hello, world"), make([]byte, 793), []byte("\x02\x00\x00\x00 short")} {
		if _, _, err := platform.Detect(junk); !errors.Is(err, platform.ErrUnknownArtifact) {
			t.Errorf("%q: %v", junk, err)
		}
	}
}
