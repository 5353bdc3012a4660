package cli_test

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/sim"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// verdictOf runs cloudra with --format json and returns the exit code and
// the verdict with every check (name=outcome), parts included.
func verdictOf(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errs := run(t, append(append([]string(nil), args...), "--format", "json")...)
	if code == 2 {
		return code, errs
	}
	var doc struct {
		Verdict string `json:"verdict"`
		Checks  []cloudra.Check
		Parts   []struct {
			Verdict string `json:"verdict"`
			Checks  []cloudra.Check
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("cloudra %s: %v\n%s%s", strings.Join(args, " "), err, out, errs)
	}
	var b strings.Builder
	b.WriteString(doc.Verdict)
	for _, c := range doc.Checks {
		b.WriteString(" " + c.Name + "=" + string(c.Outcome))
	}
	for _, p := range doc.Parts {
		b.WriteString(" | " + p.Verdict)
		for _, c := range p.Checks {
			b.WriteString(" " + c.Name + "=" + string(c.Outcome))
		}
	}
	return code, b.String()
}

// TestVerifyAcceptsTPM2ToolsFilesSideBySide: the files tpm2-tools writes
// (tpm2_quote -m/-s/-o, plain signatures, the AK as PEM or TPM2B_PUBLIC)
// given side by side, in any order, verify as the same files in a bundle
// and as check-quote verifies them; a changed PCR value is still rejected.
func TestVerifyAcceptsTPM2ToolsFilesSideBySide(t *testing.T) {
	sim, dir := tpm2ToolsAK(t)
	tool(t, sim, dir, "tpm2_quote", "-c", "ak.ctx", "-l", "sha256:0,1,7", "-q", "cafe0123", "-m", "quote.msg", "-s", "quote.sig", "-o", "pcrs.bin", "-g", "sha256")
	tool(t, sim, dir, "tpm2_flushcontext", "-t")
	tool(t, sim, dir, "tpm2_quote", "-c", "ak.ctx", "-l", "sha256:0,1,7", "-q", "cafe0123", "-m", "plain.msg", "-s", "plain.raw", "-f", "plain", "-o", "plain.pcrs", "-g", "sha256")
	tool(t, sim, dir, "tpm2_readpublic", "-c", "ak.ctx", "-f", "pem", "-o", "ak.pem")
	p := func(n string) string { return filepath.Join(dir, n) }

	akPEM, err := os.ReadFile(p("ak.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := tpm.ParsePublic(akPEM)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := pub.Fingerprint()
	pol := writeFile(t, dir, "policy.yaml", []byte("version: 1\ntpm:\n  ak-pins: [\""+hex.EncodeToString(fp[:])+"\"]\n"))
	verify := []string{"verify", "--offline", "--policy", pol, "--nonce", "cafe0123"}

	bundleOf := func(msg, sig, pcrs, ak string, plain bool) string {
		rd := func(n string) []byte {
			b, err := os.ReadFile(p(n))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		s := cloudra.Artifact{Kind: cloudra.KindTPMSig, Data: rd(sig)}
		if plain {
			s.Meta = map[string]string{"format": "plain"}
		}
		b, err := (&cloudra.Bundle{Artifacts: []cloudra.Artifact{
			{Kind: cloudra.KindTPMAttest, Data: rd(msg)}, s,
			{Kind: cloudra.KindTPMPCRs, Data: rd(pcrs)},
			{Kind: cloudra.KindTPMAKPub, Data: rd(ak)},
		}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, msg+"-"+ak+".json", b)
	}
	for _, c := range []struct {
		files []string
		plain bool
	}{
		{[]string{"quote.msg", "quote.sig", "pcrs.bin", "ak.pem"}, false},
		{[]string{"ak.pub", "pcrs.bin", "quote.sig", "quote.msg"}, false}, // TPM2B_PUBLIC, any order
		{[]string{"plain.msg", "plain.raw", "plain.pcrs", "ak.pem"}, true},
		{[]string{"plain.raw", "plain.pcrs", "ak.pub", "plain.msg"}, true},
	} {
		t.Run(strings.Join(c.files, ","), func(t *testing.T) {
			args := append([]string(nil), verify...)
			for _, f := range c.files {
				args = append(args, p(f))
			}
			code, got := verdictOf(t, args...)
			if code != 0 || !strings.HasPrefix(got, "pass") {
				t.Fatalf("side by side: exit %d %s", code, got)
			}
			var msg, sig, pcrs, ak string
			for _, f := range c.files {
				switch filepath.Ext(f) {
				case ".msg":
					msg = f
				case ".sig", ".raw":
					sig = f
				case ".bin", ".pcrs":
					pcrs = f
				default:
					ak = f
				}
			}
			if bcode, want := verdictOf(t, append(append([]string(nil), verify...), bundleOf(msg, sig, pcrs, ak, c.plain))...); bcode != code || want != got {
				t.Errorf("bundle form: exit %d %s\nside by side: exit %d %s", bcode, want, code, got)
			}
			check := []string{"tpm", "check-quote", "-u", p(ak), "-m", p(msg), "-s", p(sig), "-f", p(pcrs), "-q", "cafe0123"}
			if qcode, _, _ := run(t, check...); qcode != code {
				t.Errorf("check-quote: exit %d, verify: exit %d", qcode, code)
			}
		})
	}
	// Recognition never lets a file change its role: PCR values that are
	// not the quoted ones are rejected, side by side too.
	pcrs, _ := os.ReadFile(p("pcrs.bin"))
	pcrs[132+4+4+2] ^= 0x80
	other := writeFile(t, dir, "other.bin", pcrs)
	if code, got := verdictOf(t, append(verify, p("quote.msg"), p("quote.sig"), other, p("ak.pem"))...); code != 1 || !strings.Contains(got, "quote.pcr-digest=fail") {
		t.Errorf("changed PCR value: exit %d %s", code, got)
	}
	// Two files that could be the raw signature: no guess, whatever their
	// names.
	junk := writeFile(t, dir, "extra.dat", []byte("\x01\x02\x03 not evidence"))
	if code, errs := verdictOf(t, append(verify, p("plain.msg"), p("plain.pcrs"), p("ak.pem"), junk, writeFile(t, dir, "quote.sig.raw", mustRead(t, p("plain.raw"))))...); code != 2 || !strings.Contains(errs, "unrecognised artifact") {
		t.Errorf("ambiguous raw signature: exit %d %s", code, errs)
	}
	// Without a quote message a raw signature is nothing.
	if code, errs := verdictOf(t, append(verify, p("plain.raw"), p("plain.pcrs"), p("ak.pem"))...); code != 2 || !strings.Contains(errs, "plain.raw: unrecognised artifact") {
		t.Errorf("raw signature alone: exit %d %s", code, errs)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// azureVector is an azure-hcl vector folder with a vTPM quote and its PCR
// values, as PROVENANCE.md states them (verdict OK at time at).
type azureVector struct {
	dir, quote, at, nonce string
	certs                 []string
}

var azureVectors = []azureVector{
	{"azure-hcl/trustee-az-snp-vtpm-evidence-v0", "quote", "2025-01-29T16:26:55Z", "6368616c6c656e6765", []string{"vcek.pem", "ask_ark_milan.pem"}},
	{"azure-hcl/trustee-az-snp-vtpm-evidence-v1", "quote", "2025-01-29T16:26:55Z", "6368616c6c656e6765", []string{"vcek.der", "ask_ark_milan.pem"}},
	{"azure-hcl/trustee-az-snp-vtpm-evidence-v2", "quote", "2025-01-29T16:33:43Z", "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef", []string{"vcek.der", "ask_ark_milan.pem"}},
	{"azure-hcl/trustee-az-snp-vtpm-milan-2023", "quote_v1", "2023-05-03T21:22:19Z", "6368616c6c656e6765", []string{"vcek_chain.pem"}},
	{"azure-hcl/trustee-az-snp-vtpm-milan-2023", "quote_bin", "2023-05-03T21:22:19Z", "6368616c6c656e6765", []string{"vcek_chain.pem"}},
}

// TestVerifyAzureHCLPlusTPMFiles: an Azure CVM's HCL report next to its
// vTPM quote files (TPMS_ATTEST, raw signature, PCR values) and the VCEK
// chain is a complete verification: the same verdict, check for check, as
// the bundle form, and the vectors' PROVENANCE verdict (OK).
func TestVerifyAzureHCLPlusTPMFiles(t *testing.T) {
	vec := vectortest.Dir(t)
	tmp := t.TempDir()
	for _, v := range azureVectors {
		t.Run(v.dir+"/"+v.quote, func(t *testing.T) {
			f := func(n string) string { return filepath.Join(vec, v.dir, n) }
			base := []string{"verify", "--offline", "--at", v.at, "--nonce", v.nonce}
			side := append(append([]string(nil), base...), f("hcl_report.bin"), f(v.quote+".tpms_attest.bin"),
				f(v.quote+".signature_rsassa_sha256.bin"), f(v.quote+".pcrs_sha256.json"))
			for _, c := range v.certs {
				side = append(side, f(c))
			}
			code, got := verdictOf(t, side...)
			if code != 0 || !strings.HasPrefix(got, "pass") || !strings.Contains(got, "azure.ak-binding=pass") || !strings.Contains(got, "quote.nonce=pass") {
				t.Fatalf("side by side: exit %d %s", code, got)
			}
			b, err := (&cloudra.Bundle{Artifacts: []cloudra.Artifact{
				{Kind: cloudra.KindAzureHCL, Data: mustRead(t, f("hcl_report.bin"))},
				{Kind: cloudra.KindTPMAttest, Data: mustRead(t, f(v.quote+".tpms_attest.bin"))},
				{Kind: cloudra.KindTPMSig, Data: mustRead(t, f(v.quote+".signature_rsassa_sha256.bin")), Meta: map[string]string{"format": "plain"}},
				{Kind: cloudra.KindTPMPCRs, Data: mustRead(t, f(v.quote+".pcrs_sha256.json"))},
			}}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			col := filepath.Join(tmp, strings.ReplaceAll(v.dir+v.quote, "/", "_"))
			os.MkdirAll(col, 0o755)
			for _, c := range v.certs {
				writeFile(t, col, c, mustRead(t, f(c)))
			}
			ev := writeFile(t, tmp, strings.ReplaceAll(v.dir+v.quote, "/", "_")+".json", b)
			if bcode, want := verdictOf(t, append(append([]string(nil), base...), "--collateral", col, ev)...); bcode != code || want != got {
				t.Errorf("bundle form: exit %d %s\nside by side: exit %d %s", bcode, want, code, got)
			}
			// The HCL report from standard input, the rest as files.
			stdin := append(append(append([]string(nil), base...), "-"), side[len(base)+1:]...)
			if code, out, errs := runStdin(t, strings.NewReader(string(mustRead(t, f("hcl_report.bin")))), stdin...); code != 0 {
				t.Errorf("HCL report on stdin: exit %d\n%s%s", code, out, errs)
			}
		})
	}
}

// TestVerifyAcceptsSnpguestFiles: snpguest's report.bin next to the
// certificates it fetches (vcek.der or vcek.pem, ask.pem, ark.pem, alone
// or as its certificate folder) verifies as with --collateral; those
// certificates are collateral and never roots: a chain to another ARK is
// not trusted because it came on the command line.
func TestVerifyAcceptsSnpguestFiles(t *testing.T) {
	vec := vectortest.Dir(t)
	src := filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek")
	at := "2023-04-04T19:23:43Z"
	base := []string{"verify", "--offline", "--at", at}
	_, want := verdictOf(t, append(append([]string(nil), base...), "--collateral", src, filepath.Join(src, "report.bin"))...)
	if !strings.HasPrefix(want, "pass") {
		t.Fatalf("with --collateral: %s", want)
	}

	// snpguest certificates pem ./certs: ark.pem, ask.pem, vcek.pem.
	certs := filepath.Join(t.TempDir(), "certs")
	os.MkdirAll(certs, 0o755)
	chain := mustRead(t, filepath.Join(src, "cert_chain_milan.pem"))
	var blocks []*pem.Block
	for rest := chain; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	for _, b := range blocks {
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		name := "ask.pem"
		if c.Subject.CommonName == c.Issuer.CommonName {
			name = "ark.pem"
		}
		writeFile(t, certs, name, pem.EncodeToMemory(b))
	}
	vcek := mustRead(t, filepath.Join(src, "vcek.der"))
	writeFile(t, certs, "vcek.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vcek}))
	report := filepath.Join(src, "report.bin")
	for name, files := range map[string][]string{
		"vcek.der and chain": {report, filepath.Join(src, "vcek.der"), filepath.Join(src, "cert_chain_milan.pem")},
		"certs folder":       {report, certs},
		"certs files":        {filepath.Join(certs, "vcek.pem"), filepath.Join(certs, "ark.pem"), report, filepath.Join(certs, "ask.pem")},
		"report from hex":    {writeFile(t, t.TempDir(), "report.txt", []byte(hex.EncodeToString(mustRead(t, report))+"\n")), certs},
	} {
		t.Run(name, func(t *testing.T) {
			if code, got := verdictOf(t, append(append([]string(nil), base...), files...)...); code != 0 || got != want {
				t.Errorf("exit %d %s\nwant %s", code, got, want)
			}
		})
	}

	// A simulated platform's report with its whole chain (VCEK, ASK, ARK)
	// on the command line: the ARK given there is not a root.
	p, err := snpsim.New([]byte(sim.DemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Provider(snpsim.ReportOptions{}).Report([64]byte{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	args := append(append([]string(nil), base...), writeFile(t, tmp, "report.bin", raw.Report))
	for n, c := range map[string]*x509.Certificate{"vcek.pem": p.VCEK(), "ask.pem": p.ASK(), "ark.pem": p.ARK()} {
		args = append(args, writeFile(t, tmp, n, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	if code, got := verdictOf(t, args...); code != 1 || !strings.Contains(got, "chain.ask=fail") {
		t.Errorf("simulated chain from the command line was trusted: exit %d %s", code, got)
	}
	// Its certificates are used: under the simulator's own (test) roots the
	// same files verify.
	if code, got := verdictOf(t, append(args, "--allow-test-roots")...); code != 0 {
		t.Errorf("with --allow-test-roots: exit %d %s", code, got)
	}
}
