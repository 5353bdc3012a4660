package cli_test

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// fakeKDS serves one VCEK at its KDS path, on loopback, and counts requests
// other than for the CRL (which it does not have, and which every online
// verification asks for: a 404 is not cached).
func fakeKDS(t *testing.T, vcekPath string, vcek []byte) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/crl") {
			http.NotFound(w, r)
			return
		}
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

// genoaKDS is the oak Genoa report (its path) with a fakeKDS serving its
// VCEK at the path for its chip: Genoa, CHIP_ID hex, REPORTED_TCB SPLs.
func genoaKDS(t *testing.T) (string, *httptest.Server, *atomic.Int32) {
	t.Helper()
	vec := vectortest.Dir(t)
	report := filepath.Join(vec, "snp/oak-genoa-oc/report.bin")
	vcek := vectortest.Read(t, "snp/oak-genoa-oc/vcek.der")
	code, out, _ := runCLI(t, "inspect", "--format", "json", report)
	i := strings.Index(out, `"CHIP_ID": "`)
	if code != 0 || i < 0 {
		t.Fatalf("inspect: %d, no CHIP_ID\n%s", code, out)
	}
	chip := out[i+len(`"CHIP_ID": "`) : i+len(`"CHIP_ID": "`)+128]
	srv, hits := fakeKDS(t, "/vcek/v1/Genoa/"+chip, vcek)
	return report, srv, hits
}

// fetchedFolderVerifies runs `collateral fetch` of evidence at at with
// the flags fetch (the server to fetch from) into a folder, and checks
// that an offline verification uses the folder as it is. It returns what
// the fetch wrote on stderr.
func fetchedFolderVerifies(t *testing.T, at, evidence string, fetch ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"collateral", "fetch", at, "--cache-dir", t.TempDir()}, fetch...)
	code, out, fetchErr := runCLI(t, append(args, "-o", dir, evidence)...)
	if code != 0 {
		t.Fatalf("collateral fetch: exit %d\n%s\n%s", code, out, fetchErr)
	}
	code, out, errOut := runCLI(t, "verify", at, "--offline", "--cache-dir", t.TempDir(), "--collateral", dir, evidence)
	if code != 0 {
		t.Fatalf("offline with the fetched folder: exit %d\n%s\n%s", code, out, errOut)
	}
	return fetchErr
}

// TestFetchThroughCache: a cold verification of a new chip costs one KDS
// request; the second costs none (disk cache); collateral fetch writes a
// folder that an offline verification uses as it is.
func TestFetchThroughCache(t *testing.T) {
	report, srv, hits := genoaKDS(t)
	cache := t.TempDir()
	at := "--at=2025-08-08T17:21:41Z"

	code, out, errOut := runCLI(t, "verify", at, "--cache-dir", cache, "--kds-url", srv.URL, report)
	if code != 0 || hits.Load() != 1 {
		t.Fatalf("cold: exit %d after %d requests\n%s\n%s", code, hits.Load(), out, errOut)
	}
	if !strings.Contains(errOut, "cloudra: fetching VCEK") {
		t.Fatalf("no progress on stderr: %q", errOut)
	}
	if !strings.Contains(errOut, "cloudra: fetching AMD Genoa CRL") {
		t.Fatalf("online verification did not ask for the CRL: %q", errOut)
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

	errOut = fetchedFolderVerifies(t, at, report, "--kds-url", srv.URL)
	if !strings.Contains(errOut, "not fetched") { // the CRL: this fake KDS has none
		t.Fatalf("missing CRL not reported:\n%s", errOut)
	}
}

// fakePCCS serves a vector's PCS collateral as a PCCS does: JSON bodies with
// URL-encoded issuer chains in the response headers, DER CRLs, and the Root
// CA CRL hex-encoded.
func fakePCCS(t *testing.T, dir string) (*httptest.Server, *atomic.Int32) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/tcb"):
			w.Header().Set("TCB-Info-Issuer-Chain", url.QueryEscape(string(read("tcb_info_issuer_chain.pem"))))
			w.Write(read("tcb_info.json"))
		case strings.HasSuffix(r.URL.Path, "/qe/identity"):
			w.Header().Set("SGX-Enclave-Identity-Issuer-Chain", url.QueryEscape(string(read("qe_identity_issuer_chain.pem"))))
			w.Write(read("qe_identity.json"))
		case strings.HasSuffix(r.URL.Path, "/pckcrl"):
			w.Header().Set("SGX-PCK-CRL-Issuer-Chain", url.QueryEscape(string(read("pck_crl_issuer_chain.pem"))))
			w.Write(read("pck_crl.der"))
		case strings.HasSuffix(r.URL.Path, "/rootcacrl"):
			w.Write([]byte(hex.EncodeToString(read("root_ca_crl.der"))))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestFetchDCAP: a TDX quote verifies with its collateral fetched from a
// PCCS (--pcs-url), and `collateral fetch` writes a folder an offline
// verification uses as it is.
func TestFetchDCAP(t *testing.T) {
	vec := vectortest.Dir(t)
	quote := filepath.Join(vec, "tdx/dcapqvl-v4-uptodate/quote.bin")
	srv, hits := fakePCCS(t, filepath.Join(vec, "tdx/dcapqvl-v4-uptodate/collateral"))
	at := "--at=2025-07-01T00:00:00Z"
	code, out, errOut := runCLI(t, "verify", at, "--cache-dir", t.TempDir(), "--pcs-url", srv.URL, quote)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if hits.Load() != 4 {
		t.Fatalf("%d requests to the PCCS, want 4 (TCB Info, QE Identity, PCK CRL, Root CA CRL)", hits.Load())
	}
	fetchedFolderVerifies(t, at, quote, "--pcs-url", srv.URL)
}

// cachedOffline verifies evidence at at through the server named by the
// flags server (which it must ask want times in all) into a new cache,
// then offline from that cache without naming the server.
func cachedOffline(t *testing.T, at, evidence, name string, hits *atomic.Int32, want int32, server ...string) {
	t.Helper()
	cache := t.TempDir()
	args := append([]string{"verify", at, "--cache-dir", cache}, server...)
	code, out, errOut := runCLI(t, append(args, evidence)...)
	if code != 0 || hits.Load() != want {
		t.Fatalf("through the %s: exit %d after %d requests\n%s\n%s", name, code, hits.Load(), out, errOut)
	}
	code, out, errOut = runCLI(t, "verify", at, "--offline", "--cache-dir", cache, evidence)
	if code != 0 {
		t.Fatalf("offline without the %s flag: exit %d\n%s\n%s", name, code, out, errOut)
	}
}

// TestCacheKeyedByIdentityNotMirror: collateral fetched through a mirror
// (--kds-url) or a PCCS (--pcs-url) is cached as what it is, so a later
// offline verification that does not name the mirror finds it.
func TestCacheKeyedByIdentityNotMirror(t *testing.T) {
	vec := vectortest.Dir(t)
	t.Run("kds-vcek", func(t *testing.T) {
		report, srv, hits := genoaKDS(t)
		cachedOffline(t, "--at=2025-08-08T17:21:41Z", report, "mirror", hits, 1, "--kds-url", srv.URL)
	})
	t.Run("pcs-tcb-info", func(t *testing.T) {
		quote := filepath.Join(vec, "tdx/dcapqvl-v4-uptodate/quote.bin")
		srv, hits := fakePCCS(t, filepath.Join(vec, "tdx/dcapqvl-v4-uptodate/collateral"))
		cachedOffline(t, "--at=2025-07-01T00:00:00Z", quote, "PCCS", hits, 4, "--pcs-url", srv.URL)
	})
}
