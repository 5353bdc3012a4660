package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/cmd/cloudra/cli"
	"github.com/cloudra/cloudra/internal/swtpmtest"
	"github.com/cloudra/cloudra/platform/tpm/device"
)

// run executes the command tree in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	env := &cli.Env{Stdout: &o, Stderr: &e, Now: func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }}
	code = cli.RunEnv(context.Background(), env, args)
	return code, o.String(), e.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("cloudra %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// tool runs a tpm2-tools binary against the simulator.
func tool(t *testing.T, sim *swtpmtest.Sim, dir string, name string, args ...string) string {
	t.Helper()
	bin := swtpmtest.Need(t, name)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+sim.TCTI())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestTPMVerbsOnSwtpm(t *testing.T) {
	sim := swtpmtest.Start(t)
	spec := sim.Spec()
	dir := t.TempDir()

	var inv struct {
		Persistent []device.Key     `json:"persistent"`
		NV         []device.NVIndex `json:"nv"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "tpm", "handles", "--tpm", spec, "--format", "json")), &inv); err != nil || len(inv.Persistent) != 0 {
		t.Fatalf("fresh TPM handles: %+v %v", inv, err)
	}
	if out := mustRun(t, "tpm", "ek", "--tpm", spec); !strings.Contains(out, "EK at 0x81010001 (created and persisted)") {
		t.Errorf("ek: %s", out)
	}
	var ak struct {
		device.Key
		PEM string `json:"pem"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "tpm", "ak", "--tpm", spec, "--format", "json", "-o", filepath.Join(dir, "ak.pem"))), &ak); err != nil || !ak.Created || ak.Handle != device.HandleAK || !strings.Contains(ak.PEM, "BEGIN PUBLIC KEY") {
		t.Fatalf("ak: %+v %v", ak, err)
	}
	if out := mustRun(t, "tpm", "ak", "--tpm", spec); !strings.Contains(out, "(existing)") {
		t.Errorf("second ak run did not reuse the key: %s", out)
	}
	if out := mustRun(t, "tpm", "handles", "--tpm", spec); !strings.Contains(out, "0x81000002  ak") || !strings.Contains(out, "EK (TCG template L-1)") {
		t.Errorf("handles:\n%s", out)
	}

	// Quote into a bundle plus tpm2-tools files.
	ev, tt := filepath.Join(dir, "ev.json"), filepath.Join(dir, "tt")
	mustRun(t, "tpm", "quote", "--tpm", spec, "--nonce", "00112233445566778899aabbccddeeff", "--pcrs", "sha256:0,1,7+sha384:0",
		"-o", ev, "--tpm2-tools-out", tt, "--eventlog", "none")
	raw, err := os.ReadFile(ev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cloudra.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []cloudra.Kind{cloudra.KindTPMAttest, cloudra.KindTPMSig, cloudra.KindTPMPCRs, cloudra.KindTPMAKPub} {
		if _, ok := b.First(k); !ok {
			t.Errorf("bundle lacks %s", k)
		}
	}
	if _, ok := b.First(cloudra.KindEventLog); ok {
		t.Error("--eventlog none still included a log")
	}
	p := func(n string) string { return filepath.Join(tt, n) }
	check := []string{"tpm", "check-quote", "-u", p("ak.pem"), "-m", p("message.msg"), "-s", p("signature.sig"), "-f", p("pcr.pcrs"), "-g", "sha256"}
	if code, out, errs := run(t, append(check, "-q", "00112233445566778899aabbccddeeff")...); code != 0 {
		t.Errorf("check-quote of cloudra's quote: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := run(t, append(check, "-q", "00112233445566778899aabbccddee00")...); code != 1 {
		t.Errorf("wrong nonce: exit %d, want 1", code)
	}
	if code, _, _ := run(t, append(check[:len(check)-2], "-g", "sha384", "-q", "00112233445566778899aabbccddeeff")...); code != 1 {
		t.Errorf("-g sha384 on a sha256 signature: exit %d, want 1", code)
	}
	if code, _, _ := run(t, "tpm", "check-quote", "-u", p("ak.pub"), "-m", p("message.msg"), "-s", p("signature.sig"), "-f", p("pcr.pcrs"), "-q", "00112233445566778899aabbccddeeff", "--format", "json"); code != 0 {
		t.Errorf("check-quote with TPM2B_PUBLIC: exit %d", code)
	}
	msg, _ := os.ReadFile(p("message.msg"))
	msg[len(msg)-1] ^= 1
	bad := filepath.Join(dir, "bad.msg")
	os.WriteFile(bad, msg, 0o644)
	if code, _, _ := run(t, "tpm", "check-quote", "-u", p("ak.pem"), "-m", bad, "-s", p("signature.sig"), "-f", p("pcr.pcrs"), "-q", "00112233445566778899aabbccddeeff"); code != 1 {
		t.Errorf("tampered message: exit %d, want 1", code)
	}
	if code, _, _ := run(t, "tpm", "check-quote", "-u", p("missing.pem"), "-m", p("message.msg"), "-s", p("signature.sig")); code != 2 {
		t.Errorf("missing AK file: exit %d, want 2", code)
	}

	// The foreign verifier accepts cloudra's files as they are.
	tool(t, sim, tt, "tpm2_checkquote", "-u", "ak.pem", "-m", "message.msg", "-s", "signature.sig", "-f", "pcr.pcrs", "-g", "sha256", "-q", "00112233445566778899aabbccddeeff")

	// NV: read back a chunked index through the CLI.
	tpm := sim.Open(t)
	data := bytes.Repeat([]byte("cloudra-nv-"), 187)[:2048]
	if _, err := device.NVDefine(tpm, 0x01500010, len(data)); err != nil {
		t.Fatal(err)
	}
	if err := device.NVWrite(tpm, 0x01500010, data); err != nil {
		t.Fatal(err)
	}
	tpm.Close()
	nvf := filepath.Join(dir, "nv.bin")
	mustRun(t, "tpm", "nvread", "0x01500010", "--tpm", spec, "-o", nvf)
	if got, _ := os.ReadFile(nvf); !bytes.Equal(got, data) {
		t.Errorf("nvread: %d bytes differ", len(got))
	}
	if code, _, errs := run(t, "tpm", "nvread", "0x01400001", "--tpm", spec); code != 2 || !strings.Contains(errs, "cloudra: hint: the Azure HCL report") {
		t.Errorf("nvread of a missing HCL report: exit %d %s", code, errs)
	}
}

// tpm2ToolsAK starts a simulator and, with tpm2-tools in a new folder
// (skipping the test without them), creates an RSA EK and an RSA
// signing AK under it (ek.ctx, ek.pub, ak.ctx, ak.pub, ak.name), leaving
// no transient or session handle loaded.
func tpm2ToolsAK(t *testing.T) (*swtpmtest.Sim, string) {
	t.Helper()
	swtpmtest.Need(t, "tpm2_quote")
	sim := swtpmtest.Start(t)
	dir := t.TempDir()
	tool(t, sim, dir, "tpm2_createek", "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub")
	tool(t, sim, dir, "tpm2_createak", "-C", "ek.ctx", "-c", "ak.ctx", "-G", "rsa", "-g", "sha256", "-s", "rsassa", "-u", "ak.pub", "-n", "ak.name")
	tool(t, sim, dir, "tpm2_flushcontext", "-t")
	tool(t, sim, dir, "tpm2_flushcontext", "-s")
	return sim, dir
}

// TestTPM2QuoteVerifiesInCloudra: a quote made by the foreign client
// (tpm2_createek/createak/quote, TCTI swtpm) verifies in cloudra's verifier.
func TestTPM2QuoteVerifiesInCloudra(t *testing.T) {
	sim, dir := tpm2ToolsAK(t)
	tool(t, sim, dir, "tpm2_pcrextend", "16:sha256=0000000000000000000000000000000000000000000000000000000000000001")
	tool(t, sim, dir, "tpm2_quote", "-c", "ak.ctx", "-l", "sha256:all", "-q", "cafe0123", "-m", "message.msg", "-s", "signature.sig", "-o", "pcr.pcrs", "-g", "sha256")
	tool(t, sim, dir, "tpm2_readpublic", "-c", "ak.ctx", "-f", "pem", "-o", "ak.pem")
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, ak := range []string{"ak.pem", "ak.pub"} {
		code, out, errs := run(t, "tpm", "check-quote", "-u", p(ak), "-m", p("message.msg"), "-s", p("signature.sig"), "-f", p("pcr.pcrs"), "-g", "sha256", "-q", "cafe0123")
		if code != 0 {
			t.Errorf("tpm2_quote output with %s: exit %d\n%s%s", ak, code, out, errs)
		}
		if !strings.Contains(out, "sha256 over 24 PCR values") {
			t.Errorf("expected all 24 PCRs checked:\n%s", out)
		}
	}
	if code, _, _ := run(t, "tpm", "check-quote", "-u", p("ek.pub"), "-m", p("message.msg"), "-s", p("signature.sig"), "-f", p("pcr.pcrs"), "-q", "cafe0123"); code != 1 {
		t.Errorf("quote checked against the EK: exit %d, want 1", code)
	}
	// PCR values that are not the quoted ones (one byte of PCR 0 changed in
	// the tpm2-tools file: 132-byte selection, u32 list count, u32 digest
	// count, u16 size) are rejected.
	pcrs, err := os.ReadFile(p("pcr.pcrs"))
	if err != nil {
		t.Fatal(err)
	}
	pcrs[132+4+4+2] ^= 0x80
	if err := os.WriteFile(p("other.pcrs"), pcrs, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, "tpm", "check-quote", "-u", p("ak.pem"), "-m", p("message.msg"), "-s", p("signature.sig"), "-f", p("other.pcrs"), "-q", "cafe0123"); code != 1 || !strings.Contains(out, "quote.pcr-digest") {
		t.Errorf("PCR values that do not match pcrDigest: exit %d, want 1\n%s", code, out)
	}
}

func TestTPMForbiddenExitCode(t *testing.T) {
	sim := swtpmtest.Start(t)
	tpm := sim.Open(t)
	if _, err := (tpm2.HierarchyChangeAuth{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		NewAuth:    tpm2.TPM2BAuth{Buffer: []byte("owner")},
	}).Execute(tpm); err != nil {
		t.Fatal(err)
	}
	tpm.Close()
	code, _, errs := run(t, "tpm", "ak", "--tpm", sim.Spec())
	if code != 2 || !strings.Contains(errs, "cloudra: error: device: persist EK") || !strings.Contains(errs, "cloudra: hint: the owner hierarchy has an authorization value") {
		t.Errorf("exit %d\n%s", code, errs)
	}
	if code, _, errs := run(t, "tpm", "handles", "--tpm", "swtpm:port=notaport"); code != 2 || !strings.Contains(errs, "bad TPM spec") {
		t.Errorf("bad spec: exit %d %s", code, errs)
	}
	if code, _, _ := run(t, "tpm", "quote", "--tpm", sim.Spec(), "--pcrs", "sha256:99"); code != 2 {
		t.Errorf("bad PCR selection: exit %d", code)
	}
}
