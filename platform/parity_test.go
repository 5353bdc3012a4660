package platform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/simroots"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/policy"
)

// parityCase is real evidence whose verdict the dispatcher must reach
// exactly as the platform's own verifier does (docs/pitfalls-snp.md,
// docs/pitfalls-dcap.md and docs/pitfalls-tpm.md A4: every entry point
// enforces the same checks).
type parityCase struct {
	evidence   string
	collateral string
	at         string
	want       cloudra.Verdict
}

var parityCases = []parityCase{
	{"snp/virtee-sev-milan-v2-vcek/report.bin", "snp/virtee-sev-milan-v2-vcek", "2023-04-04T19:23:43Z", cloudra.Pass},
	{"snp/gosevguest-milan-v2-vcek/attestation.bin", "snp/gosevguest-milan-v2-vcek", "2022-09-25T00:55:28Z", cloudra.Fail},
	{"snp/trustee-milan-v3-vlek-aws/test-vlek-report.bin", "snp/trustee-milan-v3-vlek-aws", "2024-12-11T22:14:21Z", cloudra.Fail},
	{"snp/trustee-e2e-siena-v3-vcek/report.bin", "snp/trustee-e2e-siena-v3-vcek", "2025-05-28T17:57:03Z", cloudra.Pass},
	{"snp/oak-genoa-oc/report.bin", "snp/oak-genoa-oc", "2025-08-08T17:21:41Z", cloudra.Pass},
	{"snp/automata-milan-v2-vcek/report.bin", "snp/automata-milan-v2-vcek", "2024-11-20T03:09:16Z", cloudra.Pass},
	{"tdx/dcapqvl-v4-uptodate/quote.bin", "tdx/dcapqvl-v4-uptodate/collateral", "2025-07-01T00:00:00Z", cloudra.Pass},
	{"tdx/gotdxguest-v5-td15/quote.bin", "tdx/gotdxguest-v5-td15/collateral", "2026-02-25T00:00:00Z", cloudra.Pass},
	{"tdx/automata-v4-gcp/quote.bin", "tdx/automata-v4-gcp/collateral", "2025-10-24T07:10:18Z", cloudra.Fail},
	{"sgx/automata-v3-00606a-swhardening/quote.bin", "sgx/automata-v3-00606a-swhardening/collateral", "2025-08-15T05:45:00Z", cloudra.Pass},
	{"sgx/trustee-occlum-v3-debug-outofdate/quote.bin", "sgx/trustee-occlum-v3-debug-outofdate/collateral", "2025-08-15T05:45:00Z", cloudra.Fail},
}

func TestDispatcherParity(t *testing.T) {
	vs := newVerifiers(t)
	d := newDirectVerifiers(t)
	for _, c := range parityCases {
		t.Run(c.evidence, func(t *testing.T) {
			v := loadVector(t, c.evidence, c.collateral, c.at)
			got, err := vs.Verify(context.Background(), platform.Input{
				Bundle:     &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{{Kind: v.kind, Data: v.data}}},
				Collateral: v.col, Policy: policy.Default(), Options: v.opts})
			got = checktest.Result(t, got, err)
			direct, err := d.verify(t, v.kind, v.data, v.col, v.opts)
			direct = checktest.Result(t, direct, err)
			if got.Verdict != c.want || direct.Verdict != c.want {
				t.Fatalf("verdict: dispatcher %s, direct %s, want %s", got.Verdict, direct.Verdict, c.want)
			}
			if !slices.Equal(got.FailureClasses(), direct.FailureClasses()) {
				t.Fatalf("failure classes differ: dispatcher %v, direct %v", got.FailureClasses(), direct.FailureClasses())
			}
			// The dispatcher adds one check of its own: without an
			// expected REPORT_DATA, freshness was not checked.
			var names, dnames []string
			sawFreshness := false
			for _, ch := range got.Checks {
				if ch.Name == platform.CheckFreshness {
					sawFreshness = ch.Outcome == cloudra.OutcomeSkip
					continue
				}
				names = append(names, ch.Name+"="+string(ch.Outcome))
			}
			if !sawFreshness {
				t.Fatalf("dispatcher result lacks the skipped %s check: %+v", platform.CheckFreshness, got.Checks)
			}
			for _, ch := range direct.Checks {
				dnames = append(dnames, ch.Name+"="+string(ch.Outcome))
			}
			if !slices.Equal(names, dnames) {
				t.Fatalf("checks differ:\n dispatcher %v\n direct     %v", names, dnames)
			}
		})
	}
}

// TestDetect recognises every kind of real evidence by content.
func TestDetect(t *testing.T) {
	dir := vectortest.Dir(t)
	for rel, want := range map[string]cloudra.Kind{
		"snp/virtee-sev-milan-v2-vcek/report.bin":                           cloudra.KindSNPReport,
		"snp/virtee-sev-milan-v2-vcek/orig/report_milan.hex":                cloudra.KindSNPReport,
		"tdx/dcapqvl-v4-uptodate/quote.bin":                                 cloudra.KindTDXQuote,
		"tdx/automata-v4-gcp/quote.bin":                                     cloudra.KindTDXQuote,
		"sgx/automata-v3-00606a-swhardening/quote.bin":                      cloudra.KindSGXQuote,
		"azure-hcl/trustee-az-snp-vtpm-milan-2023/hcl_report.bin":           cloudra.KindAzureHCL,
		"azure-hcl/trustee-az-snp-vtpm-milan-2023/quote_v1.tpms_attest.bin": cloudra.KindTPMAttest,
		"maa/teaclave-sgx-sharedeus-2023/token.jwt":                         cloudra.KindMAAToken,
		"nitro/evervault-2022-10-13-nondebug/attestation_doc.cbor":          cloudra.KindNitroDoc,
	} {
		raw, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := platform.Detect(raw)
		if err != nil || got != want {
			t.Errorf("%s: detected %q (%v), want %q", rel, got, err, want)
		}
	}
	for _, junk := range [][]byte{nil, []byte("hello"), make([]byte, 1184), []byte("eyJhbGciOi")} {
		if k, _, err := platform.Detect(junk); err == nil {
			t.Errorf("%q detected as %s", junk, k)
		}
	}
}

// TestColdSNPOneRoundTrip: a verifier that has never seen a chip needs one
// KDS request (its VCEK) and nothing more: the ASK/ARK are compiled in.
func TestColdSNPOneRoundTrip(t *testing.T) {
	dir := vectortest.Dir(t)
	for _, c := range []struct{ report, vcek, at, product string }{
		{"snp/oak-genoa-oc/report.bin", "snp/oak-genoa-oc/vcek.der", "2025-08-08T17:21:41Z", "Genoa"},
		{"snp/oak-milan-oc-release/report.bin", "snp/oak-milan-oc-release/vcek.der", "2025-01-16T21:21:54Z", "Milan"},
		{"snp/trustee-e2e-siena-v3-vcek/report.bin", "snp/trustee-e2e-siena-v3-vcek/vcek.der", "2025-05-28T17:57:03Z", "Genoa"},
	} {
		vs, err := platform.New(platform.WithTestRoots(simroots.Demo))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(filepath.Join(dir, c.report))
		at, _ := time.Parse(time.RFC3339, c.at)
		in := platform.Input{Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema,
			Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: raw}}},
			Collateral: &cloudra.Collateral{}, Options: cloudra.Options{Time: at}}
		_, err = vs.Verify(context.Background(), in)
		var miss *cloudra.MissingCollateralError
		if !errors.As(err, &miss) {
			t.Fatalf("%s: want missing collateral, got %v", c.report, err)
		}
		if len(miss.Items) != 1 || !strings.HasPrefix(miss.Items[0].URL, "https://kdsintf.amd.com/vcek/v1/"+c.product+"/") {
			t.Fatalf("%s: want exactly the VCEK from KDS, got %+v", c.report, miss.Items)
		}
		der, _ := os.ReadFile(filepath.Join(dir, c.vcek))
		col, err := collateral.Classify(der, miss.Items[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		in.Collateral = col
		res, err := vs.Verify(context.Background(), in)
		if err != nil || res.Verdict != cloudra.Pass {
			t.Fatalf("%s: after one fetch: %v %v", c.report, err, res.FailureClasses())
		}
	}
}

// TestAzureBundle: an Azure CVM bundle (HCL report + vTPM quote, nonce) goes
// to the Azure verifier, whose parts are the SNP and TPM results.
func TestAzureBundle(t *testing.T) {
	dir := vectortest.Dir(t)
	v := "azure-hcl/trustee-az-snp-vtpm-milan-2023/"
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, v+name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	col, _, err := collateral.LoadDir(filepath.Join(dir, v))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := platform.New(platform.WithTestRoots(simroots.Demo))
	if err != nil {
		t.Fatal(err)
	}
	at, _ := time.Parse(time.RFC3339, "2023-05-03T21:22:19Z")
	bundle := func(nonce string) *cloudra.Bundle {
		return &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Nonce: []byte(nonce), Cloud: "azure", Artifacts: []cloudra.Artifact{
			{Kind: cloudra.KindAzureHCL, Data: read("hcl_report.bin")},
			{Kind: cloudra.KindTPMAttest, Data: read("quote_v1.tpms_attest.bin")},
			{Kind: cloudra.KindTPMSig, Data: read("quote_v1.signature_rsassa_sha256.bin"), Meta: map[string]string{"format": "plain"}},
			{Kind: cloudra.KindTPMPCRs, Data: read("quote_v1.pcrs_sha256.json")},
		}}
	}
	res, err := vs.Verify(context.Background(), platform.Input{Bundle: bundle("challenge"), Collateral: col, Nonce: []byte("challenge"), Options: cloudra.Options{Time: at}})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Pass || res.Platform != "azure-cvm" || len(res.Parts) != 2 {
		t.Fatalf("verdict %s platform %s parts %d: %+v", res.Verdict, res.Platform, len(res.Parts), res.Checks)
	}
	if c, _ := res.Check(platform.CheckFreshness); c.Outcome != cloudra.OutcomePass {
		t.Fatalf("freshness check %+v", c)
	}
	// The relying party's challenge may also arrive as Input.Challenge (a
	// server's nonce): the vTPM quote answering it is enough.
	res, err = vs.Verify(context.Background(), platform.Input{Bundle: bundle("challenge"), Collateral: col, Challenge: []byte("challenge"), Options: cloudra.Options{Time: at}})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("challenge through the vTPM quote: %v %v", err, res.FailureClasses())
	}
	res, err = vs.Verify(context.Background(), platform.Input{Bundle: bundle("challenge"), Collateral: col, Nonce: []byte("a newer challenge"), Options: cloudra.Options{Time: at}})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassFresh) {
		t.Fatalf("wrong nonce: verdict %s classes %v", res.Verdict, res.FailureClasses())
	}
}

func FuzzDetect(f *testing.F) {
	if dir, ok := vectortest.Find(); ok {
		for _, rel := range []string{"snp/virtee-sev-milan-v2-vcek/report.bin", "tdx/dcapqvl-v4-uptodate/quote.bin",
			"azure-hcl/trustee-az-snp-vtpm-milan-2023/hcl_report.bin", "snp/virtee-sev-milan-v2-vcek/orig/report_milan.hex",
			"nitro/evervault-2022-10-13-nondebug/attestation_doc.cbor"} {
			if b, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, bin, err := platform.Detect(data)
		if err != nil {
			return
		}
		if kind == "" || len(bin) == 0 {
			t.Fatalf("detected %q with %d bytes", kind, len(bin))
		}
		// Whatever is recognised can be inspected or refused, never panic.
		_, _ = platform.Inspect(kind, bin)
	})
}
