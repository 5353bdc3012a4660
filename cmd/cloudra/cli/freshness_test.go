package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestVerifyNeverExpectsTheBundleNonce: a replayed Azure CVM bundle whose
// "nonce" field names the nonce its vTPM quote carries fails as fresh
// without --nonce, with a hint naming the flag; with --nonce it passes.
func TestVerifyNeverExpectsTheBundleNonce(t *testing.T) {
	dir := vectortest.Dir(t)
	v := "azure-hcl/trustee-az-snp-vtpm-milan-2023/"
	b := cloudra.Bundle{Schema: cloudra.EvidenceSchema, Nonce: []byte("challenge"), Platform: "sev-snp", Cloud: "aws", Artifacts: []cloudra.Artifact{
		{Kind: cloudra.KindAzureHCL, Data: vectortest.Read(t, v+"hcl_report.bin")},
		{Kind: cloudra.KindTPMAttest, Data: vectortest.Read(t, v+"quote_v1.tpms_attest.bin")},
		{Kind: cloudra.KindTPMSig, Data: vectortest.Read(t, v+"quote_v1.signature_rsassa_sha256.bin"), Meta: map[string]string{"format": "plain"}},
		{Kind: cloudra.KindTPMPCRs, Data: vectortest.Read(t, v+"quote_v1.pcrs_sha256.json")},
	}}
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", "--offline", "--cache-dir", t.TempDir(), "--at", "2023-05-03T21:22:19Z", "--collateral", filepath.Join(dir, v)}
	code, out, errs := run(t, append(args, path)...)
	if code != 1 || !strings.Contains(out, "require-freshness") || !strings.Contains(errs, "hint: pass --nonce") {
		t.Fatalf("without --nonce: exit %d\n%s\n%s", code, out, errs)
	}
	// The verified identity is printed, the bundle's claim only as such.
	if !strings.HasPrefix(out, "FAIL  azure-cvm on azure") || !strings.Contains(out, `the bundle claims platform "sev-snp", cloud "aws": not verified`) {
		t.Fatalf("identity:\n%s", out)
	}
	code, out, errs = run(t, append(args, "--nonce", "6368616c6c656e6765", path)...)
	if code != 0 {
		t.Fatalf("with --nonce: exit %d\n%s\n%s", code, out, errs)
	}
}
