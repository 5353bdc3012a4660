package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestUnreadableCollateralIsAWarning: a corrupt VCEK in a --collateral
// folder is a warning naming the file, not silence; when it was the only
// candidate, the offline missing-VCEK error says an unreadable one was
// found. A README beside it stays ignored.
func TestUnreadableCollateralIsAWarning(t *testing.T) {
	vec := vectortest.Dir(t)
	src := filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek")
	report := filepath.Join(src, "report.bin")
	vcek, err := os.ReadFile(filepath.Join(src, "vcek.der"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := os.ReadFile(filepath.Join(src, "cert_chain_milan.pem"))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(vcek)
	corrupt[8] = 0x05 // the TBS version tag: no longer a certificate
	write := func(dir, name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	at := "--at=2023-04-04T19:23:43Z"

	// A corrupt copy beside the good VCEK: pass, with a warning.
	both := t.TempDir()
	write(both, "vcek.der", vcek)
	write(both, "cert_chain_milan.pem", chain)
	write(both, "vcek-copy.der", corrupt)
	write(both, "README.md", []byte("# collateral\n"))
	code, out, errOut := runCLI(t, "verify", "--offline", at, "--cache-dir", t.TempDir(), "--collateral", both, report)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "warning: collateral: "+filepath.Join(both, "vcek-copy.der")+" could not be read") {
		t.Fatalf("no warning naming the corrupt file:\n%s", out)
	}
	if strings.Contains(out, "README") || errOut != "" {
		t.Fatalf("README reported:\n%s\n%s", out, errOut)
	}

	// Only the corrupt VCEK: offline cannot decide, and says why.
	only := t.TempDir()
	write(only, "vcek.der", corrupt)
	write(only, "cert_chain_milan.pem", chain)
	code, out, errOut = runCLI(t, "verify", "--offline", at, "--cache-dir", t.TempDir(), "--collateral", only, report)
	if code != 2 || !strings.Contains(errOut, "missing collateral: VCEK") ||
		!strings.Contains(errOut, "unreadable collateral item(s) found") || !strings.Contains(errOut, filepath.Join(only, "vcek.der")) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
