package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/cmd/cloudra/cli"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// runStdin runs the command tree with stdin as standard input.
func runStdin(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	env := &cli.Env{Stdin: stdin, Stdout: &o, Stderr: &e, Now: func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }}
	code := cli.RunEnv(context.Background(), env, args)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVerifyReadsStdin: "-" as EVIDENCE is standard input, raw or as a
// bundle, bounded like a file, and may be given once.
func TestVerifyReadsStdin(t *testing.T) {
	vec := vectortest.Dir(t)
	dir := filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek")
	report := vectortest.Read(t, "snp/virtee-sev-milan-v2-vcek/report.bin")
	args := []string{"verify", "--offline", "--at", "2023-04-04T19:23:43Z", "--collateral", dir, "--format", "json"}
	if code, out, errs := runStdin(t, bytes.NewReader(report), append(args, "-")...); code != 0 || !strings.Contains(out, `"verdict": "pass"`) {
		t.Errorf("raw report on stdin: exit %d\n%s%s", code, out, errs)
	}
	bundle, err := (&cloudra.Bundle{Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: report}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runStdin(t, bytes.NewReader(bundle), append(args, "-")...); code != 0 {
		t.Errorf("bundle on stdin: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runStdin(t, bytes.NewReader(report), append(args, "-", "-")...); code != 2 || !strings.Contains(errs, "more than once") {
		t.Errorf("- twice: exit %d %s", code, errs)
	}
	huge := io.MultiReader(bytes.NewReader(report), bytes.NewReader(make([]byte, cloudra.MaxArtifactSize)))
	if code, _, errs := runStdin(t, huge, append(args, "-")...); code != 2 || !strings.Contains(errs, "standard input: larger than") {
		t.Errorf("oversized stdin: exit %d %s", code, errs)
	}
	if code, _, errs := runStdin(t, nil, append(args, "-")...); code != 2 || !strings.Contains(errs, "unrecognised artifact") {
		t.Errorf("empty stdin: exit %d %s", code, errs)
	}
}

// azureBundle is the bundle form of an azure-hcl vector with its vTPM
// quote (HCL report, TPMS_ATTEST, raw signature, PCR values), no nonce.
func azureBundle(t *testing.T, dir string) []byte {
	t.Helper()
	rd := func(n string) []byte { return vectortest.Read(t, dir+"/"+n) }
	b := &cloudra.Bundle{Cloud: "azure", Artifacts: []cloudra.Artifact{
		{Kind: cloudra.KindAzureHCL, Data: rd("hcl_report.bin")},
		{Kind: cloudra.KindTPMAttest, Data: rd("quote.tpms_attest.bin")},
		{Kind: cloudra.KindTPMSig, Data: rd("quote.signature_rsassa_sha256.bin"), Meta: map[string]string{"format": "plain"}},
		{Kind: cloudra.KindTPMPCRs, Data: rd("quote.pcrs_sha256.json")},
	}}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNonceFromFile: --nonce @FILE and --report-data @FILE read a file
// holding the bytes themselves or hex text (white space trimmed).
func TestNonceFromFile(t *testing.T) {
	const vdir = "azure-hcl/trustee-az-snp-vtpm-evidence-v1"
	vec := vectortest.Dir(t)
	tmp := t.TempDir()
	ev := writeFile(t, tmp, "ev.json", azureBundle(t, vdir))
	verify := func(extra ...string) (int, string, string) {
		args := append([]string{"verify", "--offline", "--at", "2025-01-29T16:26:55Z", "--collateral", filepath.Join(vec, vdir), "--format", "json"}, extra...)
		return run(t, append(args, ev)...)
	}
	for name, content := range map[string]string{
		"raw":          "challenge",
		"hex":          "6368616c6c656e6765",
		"hex newline":  "  6368616C6C656E6765\n",
		"raw newline?": "challenge\n", // raw bytes are taken as they are
	} {
		f := writeFile(t, tmp, strings.ReplaceAll(name, " ", "_"), []byte(content))
		code, out, errs := verify("--nonce", "@"+f)
		want := 0
		if name == "raw newline?" {
			want = 1
		}
		if code != want {
			t.Errorf("%s: exit %d, want %d\n%s%s", name, code, want, out, errs)
		}
	}
	if code, _, errs := verify("--nonce", "@"+filepath.Join(tmp, "absent")); code != 2 || !strings.Contains(errs, "--nonce") {
		t.Errorf("absent file: exit %d %s", code, errs)
	}

	// --report-data @FILE: 64 raw bytes, or their hex.
	report := vectortest.Read(t, "snp/virtee-sev-milan-v2-vcek/report.bin")
	rd := report[0x50 : 0x50+64]
	snp := []string{"verify", "--offline", "--at", "2023-04-04T19:23:43Z", "--collateral", filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek"), "--format", "json"}
	raw := writeFile(t, tmp, "rd.bin", rd)
	hexf := writeFile(t, tmp, "rd.hex", []byte(strings.ToUpper(hex.EncodeToString(rd))+"\n"))
	for _, f := range []string{raw, hexf} {
		code, out, errs := run(t, append(snp, "--report-data", "@"+f, filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek/report.bin"))...)
		var doc struct {
			Verdict string `json:"verdict"`
		}
		json.Unmarshal([]byte(out), &doc)
		if code != 0 || doc.Verdict != "pass" {
			t.Errorf("--report-data @%s: exit %d\n%s%s", filepath.Base(f), code, out, errs)
		}
	}
	other := bytes.Clone(rd)
	other[0] ^= 1
	if code, _, _ := run(t, append(snp, "--report-data", "@"+writeFile(t, tmp, "other.bin", other), filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek/report.bin"))...); code != 1 {
		t.Errorf("other REPORT_DATA: exit %d, want 1", code)
	}
	long := writeFile(t, tmp, "long.txt", []byte(base64.StdEncoding.EncodeToString(rd)))
	if code, _, errs := run(t, append(snp, "--report-data", "@"+long, filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek/report.bin"))...); code != 2 || !strings.Contains(errs, "at most 64") {
		t.Errorf("base64 text is raw bytes (88 of them): exit %d %s", code, errs)
	}
}
