package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/internal/simroots"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/policy"
	"github.com/cloudra/cloudra/server"
	cloudrasim "github.com/cloudra/cloudra/sim"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// clock is an injectable clock the tests move forward.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return t0.Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

var (
	verifiersOnce sync.Once
	verifiers     *platform.Verifiers
	verifiersErr  error
)

func newServer(t *testing.T, mod func(*server.Config)) (*server.Server, *clock) {
	t.Helper()
	verifiersOnce.Do(func() { verifiers, verifiersErr = platform.New(platform.WithTestRoots(simroots.Demo)) })
	if verifiersErr != nil {
		t.Fatal(verifiersErr)
	}
	c := &clock{}
	cfg := server.Config{Verifiers: verifiers, Now: c.now, AllowTestRoots: true}
	if mod != nil {
		mod(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func do(t *testing.T, h http.Handler, method, path string, body []byte) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
	return rec.Code, rec.Body.Bytes()
}

func nonce(t *testing.T, h http.Handler) []byte {
	t.Helper()
	code, body := do(t, h, http.MethodPost, "/v1/nonce", nil)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/nonce: %d %s", code, body)
	}
	var r server.NonceResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	n, err := hex.DecodeString(r.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	simOnce sync.Once
	sim     *snpsim.Platform
	simErr  error
)

// snpBundle is simulated SEV-SNP evidence for nonce, as `cloudra collect
// --simulate` would send it: the extended report's certificate table and
// the simulated ARK's CRL travel in the bundle.
func snpBundle(t *testing.T, n []byte, o snpsim.ReportOptions, withCertTable bool) []byte {
	t.Helper()
	simOnce.Do(func() { sim, simErr = snpsim.New([]byte(cloudrasim.DemoSeed)) })
	if simErr != nil {
		t.Fatal(simErr)
	}
	var rd [64]byte
	copy(rd[:], n)
	o.Extended = withCertTable
	raw, err := sim.Provider(o).Report(rd, 0)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := sim.CRL(t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Platform: "sev-snp", Cloud: "simulated", Nonce: n,
		Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: raw.Report,
			Meta: map[string]string{"vmpl": "0", "interface": raw.Interface}}},
		Collateral: []cloudra.Artifact{{Kind: cloudra.KindCRL, Name: "simulated-ark.crl", Data: crl}}}
	if withCertTable {
		b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindSNPCertTable, Data: raw.CertTable})
	}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type resultDoc struct {
	Schema  string `json:"schema"`
	Verdict string `json:"verdict"`
	Checks  []struct {
		Name    string `json:"name"`
		Outcome string `json:"outcome"`
		Class   string `json:"class"`
	} `json:"checks"`
	Violations []struct {
		Rule  string `json:"rule"`
		Class string `json:"class"`
	} `json:"violations"`
}

func verify(t *testing.T, h http.Handler, body []byte) resultDoc {
	t.Helper()
	code, out := do(t, h, http.MethodPost, "/v1/verify", body)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/verify: %d %s", code, out)
	}
	var r resultDoc
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.Schema != cloudra.ResultSchema {
		t.Fatalf("schema %q", r.Schema)
	}
	return r
}

func hasClass(r resultDoc, class string) bool {
	for _, c := range r.Checks {
		if c.Outcome == "fail" && c.Class == class {
			return true
		}
	}
	for _, v := range r.Violations {
		if v.Class == class {
			return true
		}
	}
	return false
}

func wantFresh(t *testing.T, r resultDoc) {
	t.Helper()
	if r.Verdict != "fail" || !hasClass(r, "fresh") {
		t.Fatalf("want fail/fresh, got %+v", r)
	}
}

// H1: 1,000 challenges are pairwise distinct 32-byte values.
func TestNonceUnique(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		n := nonce(t, h)
		if len(n) != 32 {
			t.Fatalf("nonce is %d bytes", len(n))
		}
		if seen[string(n)] {
			t.Fatalf("nonce %x issued twice", n)
		}
		seen[string(n)] = true
	}
	code, body := do(t, h, http.MethodPost, "/v1/nonce", nil)
	var r server.NonceResponse
	if code != 200 || json.Unmarshal(body, &r) != nil || !r.Expires.Equal(t0.Add(server.DefaultNonceTTL)) {
		t.Fatalf("nonce response %d %s", code, body)
	}
}

func TestNonceBounded(t *testing.T) {
	s, c := newServer(t, func(c *server.Config) { c.MaxNonces = 3 })
	h := s.Handler()
	for i := 0; i < 3; i++ {
		nonce(t, h)
	}
	if code, _ := do(t, h, http.MethodPost, "/v1/nonce", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("4th outstanding nonce: %d, want 503", code)
	}
	c.advance(server.DefaultNonceTTL)
	nonce(t, h) // expired ones are purged
}

func TestPass(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	r := verify(t, h, snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, true))
	if r.Verdict != "pass" {
		t.Fatalf("verdict %s: %+v", r.Verdict, r)
	}
}

func TestDebugGuestFails(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	r := verify(t, h, snpBundle(t, nonce(t, h), snpsim.ReportOptions{Debug: true}, true))
	if r.Verdict != "fail" || !hasClass(r, "policy") {
		t.Fatalf("debug guest: %+v", r)
	}
}

func TestTestRootsNotAllowed(t *testing.T) {
	s, _ := newServer(t, func(c *server.Config) { c.AllowTestRoots = false })
	h := s.Handler()
	r := verify(t, h, snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, true))
	if r.Verdict != "fail" || !hasClass(r, "chain") {
		t.Fatalf("simulator root without AllowTestRoots: %+v", r)
	}
}

// H2: the same evidence twice; the second is rejected as fresh.
func TestReplay(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	b := snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, true)
	if r := verify(t, h, b); r.Verdict != "pass" {
		t.Fatalf("first: %+v", r)
	}
	wantFresh(t, verify(t, h, b))
}

// H2: a nonce is consumed by a failed attempt too.
func TestConsumedOnFailure(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	n := nonce(t, h)
	if r := verify(t, h, snpBundle(t, n, snpsim.ReportOptions{Debug: true}, true)); r.Verdict != "fail" {
		t.Fatalf("debug: %+v", r)
	}
	wantFresh(t, verify(t, h, snpBundle(t, n, snpsim.ReportOptions{}, true)))
}

// H2: evidence for challenge A submitted with challenge B fails binding.
func TestCrossChallenge(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	a, b := nonce(t, h), nonce(t, h)
	var bundle cloudra.Bundle
	if err := json.Unmarshal(snpBundle(t, a, snpsim.ReportOptions{}, true), &bundle); err != nil {
		t.Fatal(err)
	}
	bundle.Nonce = b
	body, _ := bundle.Marshal()
	r := verify(t, h, body)
	if r.Verdict != "fail" || !hasClass(r, "binding") {
		t.Fatalf("cross-challenge: %+v", r)
	}
}

func TestExpired(t *testing.T) {
	s, c := newServer(t, nil)
	h := s.Handler()
	n := nonce(t, h)
	c.advance(server.DefaultNonceTTL + time.Second)
	wantFresh(t, verify(t, h, snpBundle(t, n, snpsim.ReportOptions{}, true)))
}

func TestUnknownAndMissingNonce(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	unknown := bytes.Repeat([]byte{0x5a}, 32)
	wantFresh(t, verify(t, h, snpBundle(t, unknown, snpsim.ReportOptions{}, true)))
	wantFresh(t, verify(t, h, snpBundle(t, nil, snpsim.ReportOptions{}, true)))
	// A nonce from another server instance is unknown here.
	other, _ := newServer(t, nil)
	wantFresh(t, verify(t, h, snpBundle(t, nonce(t, other.Handler()), snpsim.ReportOptions{}, true)))
}

// H4: bodies over MaxBody are refused with 413.
func TestTooLarge(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	body := append([]byte(`{"schema":"cloudra.evidence/v1","artifacts":[],"pad":"`), bytes.Repeat([]byte("a"), 3<<20)...)
	code, out := do(t, h, http.MethodPost, "/v1/verify", body)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("3 MB body: %d %s", code, out)
	}
	s2, _ := newServer(t, func(c *server.Config) { c.MaxBody = 1000 })
	if code, _ := do(t, s2.Handler(), http.MethodPost, "/v1/verify", snpBundle(t, nil, snpsim.ReportOptions{}, true)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("MaxBody 1000: %d", code)
	}
}

func TestMalformed(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	for _, body := range []string{
		"", "not json", "{", `{"schema":"other/v1","artifacts":[]}`,
		`{"schema":"cloudra.evidence/v1","artifacts":[{"data":"00"}]}`,
		`{"schema":"cloudra.evidence/v1","artifacts":[],"unknown":1}`,
		`{"schema":"cloudra.evidence/v1","artifacts":[]} {}`,
		`{"schema":"cloudra.evidence/v1","nonce":"zz","artifacts":[]}`,
	} {
		code, out := do(t, h, http.MethodPost, "/v1/verify", []byte(body))
		if code != http.StatusBadRequest {
			t.Errorf("%q: %d %s", body, code, out)
			continue
		}
		var e server.Problem
		if err := json.Unmarshal(out, &e); err != nil || e.Detail == "" {
			t.Errorf("%q: error body %s", body, out)
		}
	}
}

func TestNothingVerifiable(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	b, _ := (&cloudra.Bundle{Nonce: nonce(t, h), Artifacts: []cloudra.Artifact{{Kind: "unknown/kind", Data: []byte{1}}}}).Marshal()
	if code, out := do(t, h, http.MethodPost, "/v1/verify", b); code != http.StatusUnprocessableEntity {
		t.Fatalf("%d %s", code, out)
	}
}

// With no fetcher, missing collateral is 422 with what is missing, and the
// server never dials.
func TestOfflineNeverDials(t *testing.T) {
	var dialed atomic.Int32
	old := http.DefaultTransport
	http.DefaultTransport = &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		dialed.Add(1)
		return nil, fmt.Errorf("test: dial %s refused", addr)
	}}
	t.Cleanup(func() { http.DefaultTransport = old })
	s, _ := newServer(t, nil)
	h := s.Handler()
	code, out := do(t, h, http.MethodPost, "/v1/verify", snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, false))
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("%d %s", code, out)
	}
	var e server.Problem
	if err := json.Unmarshal(out, &e); err != nil || len(e.Missing) == 0 || !strings.Contains(e.Detail, "missing collateral") {
		t.Fatalf("error body %s", out)
	}
	if n := dialed.Load(); n != 0 {
		t.Fatalf("server dialed %d times", n)
	}
}

func TestMethodsAndHealth(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	if code, body := do(t, h, http.MethodGet, "/healthz", nil); code != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := do(t, h, http.MethodGet, "/v1/verify", nil); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/verify: %d", code)
	}
	if code, _ := do(t, h, http.MethodGet, "/v1/nonce", nil); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/nonce: %d", code)
	}
	// No endpoint changes the policy (H3).
	for _, p := range []string{"/v1/policy", "/v1/admin/policy", "/../../etc/passwd"} {
		if code, _ := do(t, h, http.MethodPost, p, []byte(`{"version":1}`)); code != http.StatusNotFound && code != http.StatusTemporaryRedirect && code != http.StatusMovedPermanently {
			t.Fatalf("POST %s: %d", p, code)
		}
	}
}

// Concurrent clients over loopback, each with its own challenge (run with -race).
func TestConcurrent(t *testing.T) {
	s, _ := newServer(t, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	const clients = 16
	post := func(path string, body []byte) (int, []byte, error) {
		resp, err := ts.Client().Post(ts.URL+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	// Phase 1: challenges, concurrently.
	nonces := make([][]byte, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, err := post("/v1/nonce", nil)
			var nr server.NonceResponse
			if err == nil && (code != 200 || json.Unmarshal(body, &nr) != nil) {
				err = fmt.Errorf("nonce: %d %s", code, body)
			}
			nonces[i], _ = hex.DecodeString(nr.Nonce)
			errs[i] = err
		}()
	}
	wg.Wait()
	bundles := make([][]byte, clients)
	for i := range clients {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		bundles[i] = snpBundle(t, nonces[i], snpsim.ReportOptions{Debug: i%4 == 0}, true)
	}
	// Phase 2: verification, concurrently; every fourth guest is debug.
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, err := post("/v1/verify", bundles[i])
			var r resultDoc
			if err == nil && (code != 200 || json.Unmarshal(body, &r) != nil) {
				err = fmt.Errorf("verify: %d %s", code, body)
			}
			if want := map[bool]string{false: "pass", true: "fail"}[i%4 == 0]; err == nil && r.Verdict != want {
				err = fmt.Errorf("client %d: verdict %s, want %s", i, r.Verdict, want)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// fetcher serves every URL from one body, or fails.
type fetcher struct {
	body  []byte
	err   error
	calls atomic.Int32
}

func (f *fetcher) Fetch(_ context.Context, u string) (*collateral.Response, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	return &collateral.Response{URL: u, Body: f.body, FetchedAt: t0}, nil
}

// Missing collateral is fetched through Config.Fetcher, as `cloudra verify`
// does; a fetch failure is 503, never a verdict.
func TestFetcher(t *testing.T) {
	simOnce.Do(func() { sim, simErr = snpsim.New([]byte(cloudrasim.DemoSeed)) })
	if simErr != nil {
		t.Fatal(simErr)
	}
	var pemChain []byte
	for _, c := range []*x509.Certificate{sim.VCEK(), sim.ASK(), sim.ARK()} {
		pemChain = append(pemChain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	good := &fetcher{body: pemChain}
	s, _ := newServer(t, func(c *server.Config) { c.Fetcher = good })
	h := s.Handler()
	if r := verify(t, h, snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, false)); r.Verdict != "pass" {
		t.Fatalf("with fetched VCEK: %+v", r)
	}
	if good.calls.Load() == 0 {
		t.Fatal("fetcher not called")
	}
	bad := &fetcher{err: errors.New("test: 503 from upstream")}
	s, _ = newServer(t, func(c *server.Config) { c.Fetcher = bad })
	h = s.Handler()
	code, out := do(t, h, http.MethodPost, "/v1/verify", snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, false))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("failing fetcher: %d %s", code, out)
	}
}

// The configured policy is never written: the nonce goes into a copy.
func TestPolicyUnchanged(t *testing.T) {
	pol := policy.Default()
	pol = pol.With(sevsnp.Platform, &sevsnp.Policy{})
	s, _ := newServer(t, func(c *server.Config) { c.Policy = pol })
	h := s.Handler()
	if r := verify(t, h, snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, true)); r.Verdict != "pass" {
		t.Fatalf("%+v", r)
	}
	if sevsnp.PolicyOf(pol).ReportData != nil || tdx.PolicyOf(pol) != nil || sgx.PolicyOf(pol) != nil {
		t.Fatalf("policy written: %+v", pol)
	}
}
