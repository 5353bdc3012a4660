package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// collectChecks walks a JSON document and records every check name.
func collectChecks(t *testing.T, doc []byte, into map[string]string, source string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v\n%s", source, err, doc)
	}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if cs, ok := x["checks"].([]any); ok {
				for _, c := range cs {
					if m, ok := c.(map[string]any); ok {
						if n, ok := m["name"].(string); ok {
							if _, seen := into[n]; !seen {
								into[n] = source
							}
						}
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// TestCheckNamesDocumented: every check name the verifiers print, over the
// demo's scenarios and real evidence of every platform, is listed in
// docs/result.md (policy.RULE checks as the policy.<rule> family).
func TestCheckNamesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/result.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	name := regexp.MustCompile("`([a-z0-9][a-z0-9._<>-]*)`")
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line[1:], "|", 2)[0] // the table's first cell
		for _, m := range name.FindAllStringSubmatch(first, -1) {
			documented[m[1]] = true
		}
	}
	seen := map[string]string{}
	_, out, _ := run(t, "demo", "--format", "json")
	collectChecks(t, []byte(out), seen, "demo")

	dir := vectortest.Dir(t)
	v := func(rel string) string { return filepath.Join(dir, rel) }
	for _, c := range [][]string{
		{"--at", "2023-04-04T19:23:43Z", "--collateral", v("snp/virtee-sev-milan-v2-vcek"), v("snp/virtee-sev-milan-v2-vcek/report.bin")},
		{"--at", "2024-12-11T22:14:21Z", "--collateral", v("snp/trustee-milan-v3-vlek-aws"), v("snp/trustee-milan-v3-vlek-aws/test-vlek-report.bin")},
		{"--at", "2022-09-25T00:55:28Z", "--collateral", v("snp/gosevguest-milan-v2-vcek"), v("snp/gosevguest-milan-v2-vcek/attestation.bin")},
		{"--at", "2025-07-01T00:00:00Z", "--collateral", v("tdx/dcapqvl-v4-uptodate/collateral"), v("tdx/dcapqvl-v4-uptodate/quote.bin")},
		{"--at", "2025-10-24T07:10:18Z", "--collateral", v("tdx/automata-v4-gcp/collateral"), v("tdx/automata-v4-gcp/quote.bin")},
		{"--at", "2025-08-15T05:45:00Z", "--collateral", v("sgx/trustee-occlum-v3-debug-outofdate/collateral"), v("sgx/trustee-occlum-v3-debug-outofdate/quote.bin")},
		{"--at", "2023-05-03T21:22:19Z", "--nonce", "6368616c6c656e6765", "--report-data", "00", "--collateral", v("azure-hcl/trustee-az-snp-vtpm-milan-2023"),
			v("azure-hcl/trustee-az-snp-vtpm-milan-2023/hcl_report.bin"), v("azure-hcl/trustee-az-snp-vtpm-milan-2023/quote_v1.tpms_attest.bin"),
			v("azure-hcl/trustee-az-snp-vtpm-milan-2023/quote_v1.signature_rsassa_sha256.bin"), v("azure-hcl/trustee-az-snp-vtpm-milan-2023/quote_v1.pcrs_sha256.json")},
		{"--at", "2025-01-01T00:00:00Z", "--nonce", "9009", "--collateral", v("tpm/gce-cos85-amd-sev-attestation-akcert/ca"),
			v("tpm/gce-cos85-amd-sev-attestation-akcert/gce-cos-85-nonce9009/quote_SHA256.tpms_attest.bin"),
			v("tpm/gce-cos85-amd-sev-attestation-akcert/gce-cos-85-nonce9009/quote_SHA256.tpmt_signature.bin"),
			v("tpm/gce-cos85-amd-sev-attestation-akcert/gce-cos-85-nonce9009/quote_SHA256.pcrs.json"),
			v("tpm/gce-cos85-amd-sev-attestation-akcert/ak_pub.tpmt_public.bin"), v("tpm/gce-cos85-amd-sev-attestation-akcert/ak_cert.der"),
			v("tpm/gce-cos85-amd-sev-attestation-akcert/eventlog.bin")},
		{"--at", "2023-01-18T13:07:19.280Z", "--tls-cert", v("nitro/evervault-2023-01-18-cage-nondebug/cage_cert.der"),
			v("nitro/evervault-2023-01-18-cage-nondebug/attestation_doc.cbor")},
		{"--at", "2022-10-12T13:50:06.081Z", v("nitro/evervault-2022-10-12-debug/attestation_doc.cbor")},
	} {
		args := append([]string{"verify", "--offline", "--cache-dir", t.TempDir(), "--format", "json"}, c...)
		code, out, errs := run(t, args...)
		if code == 2 {
			t.Fatalf("%v: could not decide: %s", c[len(c)-1], errs)
		}
		collectChecks(t, []byte(out), seen, filepath.Base(c[len(c)-1]))
	}
	bad := filepath.Join(t.TempDir(), "cut.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"cloudra.evidence/v1","artifacts":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ = run(t, "verify", "--format", "json", bad)
	collectChecks(t, []byte(out), seen, "cut bundle")

	var missing []string
	for n, src := range seen {
		if documented[n] || (strings.HasPrefix(n, "policy.") && documented["policy.<rule>"]) {
			continue
		}
		missing = append(missing, n+" (from "+src+")")
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("check names printed but not in docs/result.md:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(seen) < 40 {
		t.Errorf("only %d check names collected: %v", len(seen), seen)
	}
}
