package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestInspectUndecodableExits2: an artifact inspect recognises but cannot
// decode (an MAA JWT, a certificate) is said to be so with exit 2, in text
// and JSON, never an empty listing with exit 0.
func TestInspectUndecodableExits2(t *testing.T) {
	vec := vectortest.Dir(t)
	jwt := filepath.Join(t.TempDir(), "token.jwt")
	if err := os.WriteFile(jwt, []byte("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3NoYXJlZGV1cy5ldXMuYXR0ZXN0LmF6dXJlLm5ldCJ9.c2ln\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"jwt":  jwt,
		"vcek": filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek/vcek.der"),
	}
	for name, file := range cases {
		for _, format := range []string{"text", "json"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				code, out, errs := run(t, "inspect", "--format", format, file)
				if code != 2 || !strings.Contains(errs, "cannot decode") {
					t.Fatalf("exit %d, want 2 with a reason\nstdout:\n%s\nstderr:\n%s", code, out, errs)
				}
				if out != "" {
					t.Errorf("stdout not empty:\n%s", out)
				}
			})
		}
	}
	// Next to a decodable artifact, the decodable one is still printed.
	code, out, errs := run(t, "inspect", filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek/report.bin"), jwt)
	if code != 2 || !strings.Contains(out, "MEASUREMENT") || !strings.Contains(errs, "maa/token") {
		t.Errorf("mixed: exit %d\n%s%s", code, out, errs)
	}
}

// TestInspectNitroDocument: inspect prints every field of a Nitro
// attestation document and of its certificates; a truncated one is a parse
// error (exit 1), like any other truncated evidence.
func TestInspectNitroDocument(t *testing.T) {
	file := filepath.Join(vectortest.Dir(t), "nitro/evervault-2022-10-12-debug/attestation_doc.cbor")
	code, out, errs := run(t, "inspect", file)
	for _, want := range []string{"module_id", "i-03ad7cdb817437eeb-enc0183cc7569b3f6e1", "pcrs.3", "4a9329d69c836267b18abbf9f4a38889124490453419e426818626348d21f989dc930b1562682a9082887454e53425aa",
		"nonce                            null", "user_data                        68656c6c6f2c20776f726c6421", "cabundle[0].sha256               641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b",
		"certificate.not_after", "cose.tagged"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("exit %d, missing %q\n%s%s", code, want, out, errs)
		}
	}
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.cbor")
	if err := os.WriteFile(truncated, doc[:2000], 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "inspect", truncated); code != 1 || !strings.Contains(errs, "nitro: envelope") {
		t.Errorf("truncated: exit %d\n%s%s", code, out, errs)
	}
}
