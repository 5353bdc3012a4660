package cli_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// fakeKDS serves one VCEK at its KDS path, on loopback, and counts requests.
func fakeKDS(t *testing.T, vcekPath string, vcek []byte) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == vcekPath {
			w.Header().Set("Content-Type", "application/pkix-cert")
			w.Write(vcek)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestFetchThroughCache: a cold verification of a new chip costs one KDS
// request; the second costs none (disk cache); collateral fetch writes a
// folder that an offline verification uses as it is.
func TestFetchThroughCache(t *testing.T) {
	vec := vectortest.Dir(t)
	report := filepath.Join(vec, "snp/oak-genoa-oc/report.bin")
	vcek, err := os.ReadFile(filepath.Join(vec, "snp/oak-genoa-oc/vcek.der"))
	if err != nil {
		t.Fatal(err)
	}
	// The VCEK path for this chip: Genoa, CHIP_ID hex, REPORTED_TCB SPLs.
	code, out, _ := runCLI(t, "inspect", "--format", "json", report)
	if code != 0 {
		t.Fatal(out)
	}
	i := strings.Index(out, `"CHIP_ID": "`)
	if i < 0 {
		t.Fatalf("no CHIP_ID in inspect output:\n%s", out)
	}
	chip := out[i+len(`"CHIP_ID": "`) : i+len(`"CHIP_ID": "`)+128]
	srv, hits := fakeKDS(t, "/vcek/v1/Genoa/"+chip, vcek)
	cache := t.TempDir()
	at := "--at=2025-08-08T17:21:41Z"

	code, out, errOut := runCLI(t, "verify", at, "--cache-dir", cache, "--kds-url", srv.URL, report)
	if code != 0 || hits.Load() != 1 {
		t.Fatalf("cold: exit %d after %d requests\n%s\n%s", code, hits.Load(), out, errOut)
	}
	if !strings.Contains(errOut, "cloudra: fetching VCEK") {
		t.Fatalf("no progress on stderr: %q", errOut)
	}
	code, _, errOut = runCLI(t, "verify", at, "--cache-dir", cache, "--kds-url", srv.URL, report)
	if code != 0 || hits.Load() != 1 {
		t.Fatalf("warm: exit %d, %d requests in all\n%s", code, hits.Load(), errOut)
	}
	// Offline serves the cache and never dials.
	code, _, errOut = runCLI(t, "verify", at, "--offline", "--cache-dir", cache, "--kds-url", srv.URL, report)
	if code != 0 {
		t.Fatalf("offline from cache: exit %d\n%s", code, errOut)
	}

	dir := t.TempDir()
	code, out, errOut = runCLI(t, "collateral", "fetch", at, "--cache-dir", t.TempDir(), "--kds-url", srv.URL, "-o", dir, report)
	if code != 0 {
		t.Fatalf("collateral fetch: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "not fetched") { // the CRL: this fake KDS has none
		t.Fatalf("missing CRL not reported:\n%s", errOut)
	}
	code, out, errOut = runCLI(t, "verify", at, "--offline", "--cache-dir", t.TempDir(), "--collateral", dir, report)
	if code != 0 {
		t.Fatalf("offline with the fetched folder: exit %d\n%s\n%s", code, out, errOut)
	}
}
