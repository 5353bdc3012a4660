package cli_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// simSNP writes a simulated Milan report (v3, so its product line is
// known from CPUID) and a folder with its VCEK, ASK and ARK; it returns
// the report path, the folder and the ARK-signed CRL, valid from an hour
// ago for a week (the cache judges freshness on the wall clock).
func simSNP(t *testing.T) (report, dir string, crl []byte) {
	t.Helper()
	p, err := snpsim.New([]byte("revocation"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Report([64]byte{}, 0, snpsim.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	report = filepath.Join(tmp, "report.bin")
	if err := os.WriteFile(report, r, 0o644); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(tmp, "collateral")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for _, der := range [][]byte{p.VCEK().Raw, p.ASK().Raw, p.ARK().Raw} {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if err := os.WriteFile(filepath.Join(dir, "certs.pem"), chain, 0o644); err != nil {
		t.Fatal(err)
	}
	if crl, err = p.CRL(time.Now().UTC().Add(-time.Hour).Truncate(time.Second)); err != nil {
		t.Fatal(err)
	}
	return report, dir, crl
}

// fakeKDSCRL serves crl at the Milan KDS CRL path (none when crl is nil)
// and counts the requests for it.
func fakeKDSCRL(t *testing.T, crl []byte) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/vcek/v1/Milan/crl" {
			n.Add(1)
			if crl != nil {
				w.Header().Set("Content-Type", "application/pkix-crl")
				w.Write(crl)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

var crlPass = regexp.MustCompile(`(?m)^\s*chain\.crl\s+pass`)

// TestVerifyOnlineFetchesSNPCRL: an online verification fetches the
// ARK-signed CRL of the report's product line (once: the disk cache keeps
// it until its nextUpdate) and checks revocation with it.
func TestVerifyOnlineFetchesSNPCRL(t *testing.T) {
	report, dir, crl := simSNP(t)
	srv, hits := fakeKDSCRL(t, crl)
	cache := t.TempDir()
	at := "--at=" + time.Now().UTC().Format(time.RFC3339)
	for run := 1; run <= 2; run++ {
		code, out, errOut := runCLI(t, "verify", at, "--allow-test-roots", "--cache-dir", cache, "--kds-url", srv.URL, "--collateral", dir, report)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s\n%s", run, code, out, errOut)
		}
		if !crlPass.MatchString(out) {
			t.Fatalf("run %d: chain.crl did not pass:\n%s", run, out)
		}
		if strings.Contains(out, "revocation not checked") {
			t.Fatalf("run %d: revocation warning with a CRL at hand:\n%s", run, out)
		}
		if hits.Load() != 1 {
			t.Fatalf("run %d: %d CRL requests in all, want 1 (second run from the cache)", run, hits.Load())
		}
	}
	// Offline, the cached CRL is used as it is.
	code, out, errOut := runCLI(t, "verify", at, "--offline", "--allow-test-roots", "--cache-dir", cache, "--collateral", dir, report)
	if code != 0 || hits.Load() != 1 {
		t.Fatalf("offline: exit %d after %d requests\n%s\n%s", code, hits.Load(), out, errOut)
	}
}

// TestVerifyOnlineCRLFetchFailure: a CRL that cannot be fetched is a
// warning by default, and exit 2 under policy require-crl.
func TestVerifyOnlineCRLFetchFailure(t *testing.T) {
	report, dir, _ := simSNP(t)
	srv, hits := fakeKDSCRL(t, nil)
	at := "--at=" + time.Now().UTC().Format(time.RFC3339)
	code, out, errOut := runCLI(t, "verify", at, "--allow-test-roots", "--cache-dir", t.TempDir(), "--kds-url", srv.URL, "--collateral", dir, report)
	if code != 0 || hits.Load() != 1 {
		t.Fatalf("exit %d after %d CRL requests\n%s\n%s", code, hits.Load(), out, errOut)
	}
	if !strings.Contains(out, "warning: collateral: not fetched") || !strings.Contains(out, "revocation not checked") {
		t.Fatalf("no warnings for the missing CRL:\n%s", out)
	}
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nsev-snp:\n  require-crl: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "verify", at, "--allow-test-roots", "--policy", pol, "--cache-dir", t.TempDir(), "--kds-url", srv.URL, "--collateral", dir, report)
	if code != 2 || !strings.Contains(errOut, "require-crl") {
		t.Fatalf("require-crl: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestOfflineWithoutCRLWarns: offline and without a CRL, revocation is
// skipped with a warning (fail-open); policy require-crl rejects.
func TestOfflineWithoutCRLWarns(t *testing.T) {
	report, dir, _ := simSNP(t)
	at := "--at=" + time.Now().UTC().Format(time.RFC3339)
	code, out, errOut := runCLI(t, "verify", at, "--offline", "--allow-test-roots", "--cache-dir", t.TempDir(), "--collateral", dir, report)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^\s*chain\.crl\s+skip`).MatchString(out) || !strings.Contains(out, "warning: sev-snp: revocation not checked") {
		t.Fatalf("no skipped chain.crl with a warning:\n%s", out)
	}
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nsev-snp:\n  require-crl: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "verify", at, "--offline", "--allow-test-roots", "--policy", pol, "--cache-dir", t.TempDir(), "--collateral", dir, report)
	if code != 1 || !regexp.MustCompile(`(?m)^\s*chain\.crl\s+fail`).MatchString(out) {
		t.Fatalf("require-crl offline: exit %d\n%s\n%s", code, out, errOut)
	}
}
