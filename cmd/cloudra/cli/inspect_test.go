package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestInspectUndecodableExits2: an artifact inspect recognises but cannot
// decode (an AWS Nitro COSE_Sign1 document, an MAA JWT) is said to be so
// with exit 2, in text and JSON, never an empty listing with exit 0.
func TestInspectUndecodableExits2(t *testing.T) {
	vec := vectortest.Dir(t)
	jwt := filepath.Join(t.TempDir(), "token.jwt")
	if err := os.WriteFile(jwt, []byte("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3NoYXJlZGV1cy5ldXMuYXR0ZXN0LmF6dXJlLm5ldCJ9.c2ln\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"nitro": filepath.Join(vec, "nitro/evervault-2022-10-12-debug/attestation_doc.cbor"),
		"jwt":   jwt,
		"vcek":  filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek/vcek.der"),
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
