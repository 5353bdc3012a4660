package cli_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/nitro"
)

// nitroVec is a vector folder's attestation document.
func nitroVec(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(vectortest.Dir(t), "nitro", name, "attestation_doc.cbor")
}

// nitroMade is when the document in path was made, as the verifier prints
// it (RFC 3339 with milliseconds).
func nitroMade(t *testing.T, path string) (string, *nitro.Attestation) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := nitro.ParseDocument(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ms := int64(d.Attestation.Timestamp)
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00"), d.Attestation
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantExit(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, out, errs := run(t, args...)
	if code != want {
		t.Fatalf("cloudra %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "panic") {
		t.Fatalf("stack trace on stderr:\n%s", errs)
	}
	return out, errs
}

// TestNitroVectorsAtTheirTime: AWS's documents verify as of when they were
// made; checked now, long after their three-hour leaf expired, they fail
// as stale, with a hint naming the document's own time for --at.
func TestNitroVectorsAtTheirTime(t *testing.T) {
	doc := nitroVec(t, "evervault-2022-10-13-nondebug")
	at, _ := nitroMade(t, doc)
	if at != "2022-10-13T08:58:02.136Z" {
		t.Fatalf("document time %s", at)
	}
	out, _ := wantExit(t, 0, "verify", "--at", at, doc)
	if !strings.HasPrefix(out, "PASS  nitro on aws") || !strings.Contains(out, "chain.root-pinned   pass") {
		t.Errorf("at its time:\n%s", out)
	}

	out, errs := wantExit(t, 1, "verify", doc)
	if !strings.Contains(out, "chain.validity      fail/fresh") {
		t.Errorf("now:\n%s", out)
	}
	if want := "hint: pass --at 2022-10-13T08:58:02.136Z to check it as of when it was made"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs)
	}
	// The hint is for a stale document only.
	if _, errs := wantExit(t, 0, "verify", "--at", at, doc); strings.Contains(errs, "hint:") {
		t.Errorf("a hint for a fresh document:\n%s", errs)
	}
	// A time before the document was made: the hint names its time too.
	if _, errs := wantExit(t, 1, "verify", "--at", "2022-10-13T08:00:00Z", doc); !strings.Contains(errs, "--at "+at) {
		t.Errorf("before its time:\n%s", errs)
	}
}

// TestNitroDebugVectors: a debug-mode enclave (PCR0–2 zero) fails the
// default policy with a hint, and passes a policy that allows debug.
func TestNitroDebugVectors(t *testing.T) {
	allow := writeTemp(t, "allow-debug.yaml", []byte("version: 1\nnitro:\n  allow-debug: true\n"))
	for _, name := range []string{"evervault-2022-10-12-debug", "eternis-2024-09-09-debug"} {
		t.Run(name, func(t *testing.T) {
			doc := nitroVec(t, name)
			at, _ := nitroMade(t, doc)
			out, errs := wantExit(t, 1, "verify", "--at", at, doc)
			if !strings.Contains(out, "policy.allow-debug  fail/policy") {
				t.Errorf("stdout:\n%s", out)
			}
			if want := "hint: a debug-mode enclave: its PCR0–2 are zero; pass a policy with nitro.allow-debug: true only for development"; !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errs)
			}
			if strings.Contains(errs, "--at") {
				t.Errorf("an --at hint at the document's own time:\n%s", errs)
			}
			wantExit(t, 0, "verify", "--at", at, "--policy", allow, doc)
		})
	}
}

// TestNitroBadSignatureVector: a document whose signature does not verify
// is rejected as such, at its own time.
func TestNitroBadSignatureVector(t *testing.T) {
	doc := nitroVec(t, "eternis-2024-07-23-bad-signature")
	at, _ := nitroMade(t, doc)
	out, _ := wantExit(t, 1, "verify", "--at", at, doc)
	if !strings.Contains(out, "document.signature  fail/sig") {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestNitroTLSCert: the cage documents carry their TLS certificate's
// SubjectPublicKeyInfo in user_data; --tls-cert checks it, another
// certificate fails it, and a file that is no certificate is refused.
func TestNitroTLSCert(t *testing.T) {
	dir := filepath.Join(vectortest.Dir(t), "nitro")
	allow := writeTemp(t, "allow-debug.yaml", []byte("version: 1\nnitro:\n  allow-debug: true\n"))
	for _, name := range []string{"evervault-2023-01-18-cage-nondebug", "evervault-2023-01-18-cage-debug"} {
		t.Run(name, func(t *testing.T) {
			doc := nitroVec(t, name)
			at, _ := nitroMade(t, doc)
			args := []string{"verify", "--at", at, "--policy", allow}
			out, _ := wantExit(t, 0, append(args, "--tls-cert", filepath.Join(dir, name, "cage_cert.der"), doc)...)
			if !strings.Contains(out, "binding.tls-spki    pass") {
				t.Errorf("stdout:\n%s", out)
			}
			// Without --tls-cert the binding is not checked.
			if out, _ := wantExit(t, 0, append(args, doc)...); strings.Contains(out, "binding.tls-spki") {
				t.Errorf("binding checked without --tls-cert:\n%s", out)
			}
		})
	}
	// The other cage's certificate, and a PEM copy of the right one.
	doc := nitroVec(t, "evervault-2023-01-18-cage-nondebug")
	at, _ := nitroMade(t, doc)
	out, _ := wantExit(t, 1, "verify", "--at", at, "--tls-cert", filepath.Join(dir, "evervault-2023-01-18-cage-debug", "cage_cert.der"), doc)
	if !strings.Contains(out, "binding.tls-spki    fail/binding") {
		t.Errorf("another certificate:\n%s", out)
	}
	pemCert := filepath.Join(dir, "evervault-2023-01-18-cage-nondebug", "original", "non-debug-cert-containing-attestation-document-18-1-23.pem")
	wantExit(t, 0, "verify", "--at", at, "--tls-cert", pemCert, doc)

	for name, file := range map[string]string{
		"a document": doc,
		"garbage":    writeTemp(t, "garbage.der", []byte("not a certificate")),
		"a PEM key":  writeTemp(t, "key.pem", []byte("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6Zq/CTFK/CsqaG9BNTWYuckXExgz\nN/wJe7ea0YBLlV9kWWFWEob9WjvMEY2lfTVygxpqubmBUls5LlDvlgfdtw==\n-----END PUBLIC KEY-----\n")),
		"missing":    filepath.Join(t.TempDir(), "none.der"),
	} {
		_, errs := wantExit(t, 2, "verify", "--at", at, "--tls-cert", file, doc)
		if !strings.Contains(errs, "--tls-cert") {
			t.Errorf("%s: stderr:\n%s", name, errs)
		}
		if name != "missing" && !strings.Contains(errs, "certificate") {
			t.Errorf("%s: stderr does not say a certificate is wanted:\n%s", name, errs)
		}
	}
}

// TestNitroExpectedMeasurements: nitro-cli's expected-measurements.json is
// a policy as it is: the document's PCR0–2 pass, one other PCR0 fails it.
func TestNitroExpectedMeasurements(t *testing.T) {
	doc := nitroVec(t, "evervault-2022-10-13-nondebug")
	at, a := nitroMade(t, doc)
	measurements := func(pcr0 []byte) string {
		return fmt.Sprintf(`{
  "Measurements": {
    "HashAlgorithm": "Sha384 { ... }",
    "PCR0": "%x",
    "PCR1": "%x",
    "PCR2": "%x"
  }
}
`, pcr0, a.PCR(1), a.PCR(2))
	}
	good := writeTemp(t, "expected-measurements.json", []byte(measurements(a.PCR(0))))
	out, _ := wantExit(t, 0, "verify", "--at", at, "--policy", good, doc)
	if !strings.Contains(out, "pass") {
		t.Errorf("stdout:\n%s", out)
	}
	other := bytes.Clone(a.PCR(0))
	other[47] ^= 1
	bad := writeTemp(t, "expected-measurements.json", []byte(measurements(other)))
	out, _ = wantExit(t, 1, "verify", "--at", at, "--policy", bad, doc)
	if !strings.Contains(out, "fail/policy") || !strings.Contains(out, "pcrs.0") || !strings.Contains(out, hex.EncodeToString(other)) {
		t.Errorf("a wrong PCR0:\n%s", out)
	}
}

// TestNitroBadInput: malformed Nitro input gets a named failed check (exit
// 1) or a clear error (exit 2), never a panic.
func TestNitroBadInput(t *testing.T) {
	raw, err := os.ReadFile(nitroVec(t, "evervault-2022-10-13-nondebug"))
	if err != nil {
		t.Fatal(err)
	}
	huge := make([]byte, 100<<10)
	copy(huge, raw)
	tag98 := append([]byte{0xd8, 0x62}, raw...) // COSE_Sign (RFC 9052 §2), not COSE_Sign1
	bundle := func(data []byte) []byte {
		b := cloudra.Bundle{Schema: cloudra.EvidenceSchema, Platform: "nitro",
			Artifacts: []cloudra.Artifact{{Kind: nitro.KindDocument, Data: data}}}
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name string
		data []byte
		code int
		want string
	}{
		{"truncated document", raw[:2000], 1, "document.parse  fail/parse"},
		{"truncated document in a bundle", bundle(raw[:2000]), 1, "document.parse  fail/parse"},
		{"garbage", []byte("garbage\x84\x44 not a document"), 2, "unrecognised artifact"},
		{"garbage in a bundle", bundle([]byte("garbage")), 1, "fail/parse"},
		{"100 KB file", huge, 1, "fail/parse"},
		{"tag 98", tag98, 2, "unrecognised artifact"},
		{"tag 98 in a bundle", bundle(tag98), 1, "document.parse  fail/parse"},
		{"a JWT", []byte("eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln"), 2, "cannot verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := writeTemp(t, "input", c.data)
			out, errs := wantExit(t, c.code, "verify", "--offline", "--at", "2022-10-13T08:58:02.136Z", f)
			if !strings.Contains(out+errs, c.want) {
				t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", c.want, out, errs)
			}
			if c.code == 1 && strings.Contains(out, "claims:") {
				t.Errorf("claims of unparsed evidence:\n%s", out)
			}
		})
	}
}

// TestNitroJSON: a Nitro verification in JSON is a cloudra.result/v1
// document with the document's claims.
func TestNitroJSON(t *testing.T) {
	doc := nitroVec(t, "evervault-2022-10-13-nondebug")
	at, a := nitroMade(t, doc)
	out, errs := wantExit(t, 0, "verify", "--format", "json", "--at", at, doc)
	if errs != "" {
		t.Errorf("stderr with --format json:\n%s", errs)
	}
	var r struct {
		Schema   string          `json:"schema"`
		Verdict  string          `json:"verdict"`
		Platform string          `json:"platform"`
		Claims   map[string]any  `json:"claims"`
		Checks   []cloudra.Check `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Schema != "cloudra.result/v1" || r.Verdict != "pass" || r.Platform != "nitro" {
		t.Errorf("schema %q, verdict %q, platform %q", r.Schema, r.Verdict, r.Platform)
	}
	if r.Claims["timestamp"] != at || r.Claims["pcr0"] != hex.EncodeToString(a.PCR(0)) || r.Claims["module_id"] != a.ModuleID || r.Claims["debug"] != false {
		t.Errorf("claims %v", r.Claims)
	}
	if len(r.Checks) == 0 || r.Checks[0].Name != "document.parse" {
		t.Errorf("checks %v", r.Checks)
	}
}

// TestNitroCollectNonceSizes: for --platform nitro the nonce goes to the
// document as it is, up to the NSM's 512 bytes; the other platforms keep
// REPORT_DATA's 64, and the error says so.
func TestNitroCollectNonceSizes(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("ab", 512)
	out := filepath.Join(dir, "b.json")
	wantExit(t, 0, "collect", "--simulate", "--platform", "nitro", "--nonce", long, "-o", out)
	res, _ := wantExit(t, 0, "verify", "--allow-test-roots", "--nonce", long, out)
	if !strings.Contains(res, "the relying party's 512-byte nonce") {
		t.Errorf("verify:\n%s", res)
	}
	_, errs := wantExit(t, 2, "collect", "--simulate", "--platform", "nitro", "--nonce", long+"ab", "-o", filepath.Join(dir, "x.json"))
	if !strings.Contains(errs, "513 bytes, at most 512") {
		t.Errorf("513 bytes for nitro:\n%s", errs)
	}
	for _, p := range []string{"sev-snp", "tdx", "sgx", "auto"} {
		_, errs := wantExit(t, 2, "collect", "--simulate", "--platform", p, "--nonce", strings.Repeat("ab", 65), "-o", filepath.Join(dir, "x.json"))
		if !strings.Contains(errs, "65 bytes, at most 64: it goes to REPORT_DATA") || !strings.Contains(errs, "only --platform nitro takes up to 512") {
			t.Errorf("65 bytes for %s:\n%s", p, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
		t.Error("a bundle was written")
	}
	// 64 bytes still fill REPORT_DATA.
	wantExit(t, 0, "collect", "--simulate", "--platform", "sev-snp", "--nonce", strings.Repeat("ab", 64), "-o", filepath.Join(dir, "snp.json"))
}

// TestNitroCollectStaleHint: a simulated document checked after its leaf
// expired fails as stale with the --at hint, and passes at that time.
func TestNitroCollectStaleHint(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.json")
	wantExit(t, 0, "collect", "--simulate", "--platform", "nitro", "--nonce", "00", "-o", out)
	_, errs := wantExit(t, 1, "verify", "--allow-test-roots", "--nonce", "00", "--at", "2026-11-27T16:00:00Z", out)
	want := "hint: pass --at 2026-11-27T12:00:00.000Z to check it as of when it was made"
	if !strings.Contains(errs, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, errs)
	}
	wantExit(t, 0, "verify", "--allow-test-roots", "--nonce", "00", "--at", "2026-11-27T12:00:00.000Z", out)
}
