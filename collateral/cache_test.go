package collateral

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counting serves a distinct body per URL path and counts upstream hits.
type counting struct {
	hits atomic.Int32
	gate chan struct{} // when set, every answer waits for it
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.hits.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	w.Header().Set("SGX-Enclave-Identity-Issuer-Chain", "chain-for-"+r.URL.Path)
	w.Header().Set("X-Dropped", "1")
	fmt.Fprintf(w, "body of %s", r.URL.Path)
}

func newCacheT(t *testing.T, clk *fakeClock, o CacheOptions) *Cache {
	t.Helper()
	o.Now = clk.Now
	c, err := NewCache(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCachedTTL(t *testing.T) {
	up := &counting{}
	ts := start(t, up)
	clk := newFakeClock()
	c := newCacheT(t, clk, CacheOptions{TTLFor: func(u string) time.Duration {
		if u == ts.URL+"/vcek" {
			return 30 * 24 * time.Hour
		}
		return 0 // default
	}})
	f := Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), c)
	ctx := context.Background()
	fetch := func(p string) *Response {
		t.Helper()
		r, err := f.Fetch(ctx, ts.URL+p)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Body) != "body of "+p {
			t.Fatalf("body %q", r.Body)
		}
		return r
	}
	first := fetch("/tcb")
	fetch("/vcek")
	r := fetch("/tcb")
	if up.hits.Load() != 2 {
		t.Fatalf("%d upstream hits, want 2 (second /tcb from cache)", up.hits.Load())
	}
	if !r.FetchedAt.Equal(first.FetchedAt) || r.Header.Get("Sgx-Enclave-Identity-Issuer-Chain") != "chain-for-/tcb" || r.Header.Get("X-Dropped") != "" {
		t.Errorf("cached response %+v", r)
	}
	clk.Advance(DefaultTTL + time.Minute)
	fetch("/tcb")  // expired: refetched
	fetch("/vcek") // long TTL: still cached
	if up.hits.Load() != 3 {
		t.Fatalf("%d upstream hits after TTL, want 3", up.hits.Load())
	}
	if r, err := c.Get(ts.URL+"/tcb", true); err != nil || !r.FetchedAt.Equal(clk.Now()) {
		t.Errorf("refetched entry not stored: %v", err)
	}
}

func TestSuggestedTTL(t *testing.T) {
	for u, want := range map[string]time.Duration{
		"https://kdsintf.amd.com/vcek/v1/Milan/3ac3?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115": 30 * 24 * time.Hour,
		"https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain":                                  7 * 24 * time.Hour,
		"https://kdsintf.amd.com/vlek/v1/Milan/crl":                                         DefaultTTL,
		"https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=00806F050000": DefaultTTL,
		"::bad": DefaultTTL,
	} {
		if got := SuggestedTTL(u); got != want {
			t.Errorf("SuggestedTTL(%s) = %s, want %s", u, got, want)
		}
	}
}

func TestCacheCorruptionRefetched(t *testing.T) {
	up := &counting{}
	ts := start(t, up)
	clk := newFakeClock()
	c := newCacheT(t, clk, CacheOptions{})
	f := Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), c)
	u := ts.URL + "/crl"
	ctx := context.Background()
	if _, err := f.Fetch(ctx, u); err != nil {
		t.Fatal(err)
	}
	blob := c.blobPath(hexSum([]byte("body of /crl")))
	for i, corrupt := range []func(){
		func() { os.WriteFile(blob, []byte("body of /crX"), 0o644) },      // bit rot
		func() { os.Remove(blob) },                                        // lost blob
		func() { os.WriteFile(c.indexPath(u), []byte(`{"url":`), 0o644) }, // torn index
		func() { os.WriteFile(c.indexPath(u), []byte(`{"url":"other","blob":"00"}`), 0o644) },
	} {
		corrupt()
		if _, err := c.Get(u, true); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("case %d: corrupted entry served: %v", i, err)
		}
		r, err := f.Fetch(ctx, u)
		if err != nil || string(r.Body) != "body of /crl" {
			t.Fatalf("case %d: refetch: %v", i, err)
		}
		if got := up.hits.Load(); got != int32(i+2) {
			t.Errorf("case %d: %d hits, want %d", i, got, i+2)
		}
	}
}

func TestCoalescing(t *testing.T) {
	const n = 16
	up := &counting{gate: make(chan struct{})}
	ts := start(t, up)
	clk := newFakeClock()
	c := newCacheT(t, clk, CacheOptions{})
	var joined sync.WaitGroup
	joined.Add(n)
	f := Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), c).(*cached)
	f.testOnlyJoined = joined.Done
	u := ts.URL + "/tcb?fmspc=00806F050000"
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			r, err := f.Fetch(context.Background(), u)
			if err == nil && string(r.Body) != "body of /tcb" {
				err = fmt.Errorf("body %q", r.Body)
			}
			if err == nil {
				r.Body[0] = 'X' // each caller owns its copy
			}
			errs <- err
		})
	}
	joined.Wait() // all n callers share the one in-flight request
	close(up.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := up.hits.Load(); got != 1 {
		t.Fatalf("%d concurrent callers made %d upstream requests, want 1", n, got)
	}
}

func TestCachedCallerCancelDoesNotFailOthers(t *testing.T) {
	up := &counting{gate: make(chan struct{})}
	ts := start(t, up)
	clk := newFakeClock()
	c := newCacheT(t, clk, CacheOptions{})
	var joined sync.WaitGroup
	joined.Add(2)
	f := Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), c).(*cached)
	f.testOnlyJoined = joined.Done
	u := ts.URL + "/vcek"

	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error, 1)
	go func() { _, err := f.Fetch(ctx, u); impatient <- err }()
	patient := make(chan error, 1)
	go func() { _, err := f.Fetch(context.Background(), u); patient <- err }()
	joined.Wait()
	cancel()
	if err := <-impatient; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
	close(up.gate)
	if err := <-patient; err != nil {
		t.Errorf("other caller failed: %v", err)
	}
	if _, err := c.Get(u, true); err != nil {
		t.Errorf("shared fetch did not fill the cache: %v", err)
	}
}

func TestCachedErrorsNotCached(t *testing.T) {
	s := &server{script: []func(http.ResponseWriter){status(404, "")}, body: "later"}
	ts := start(t, s)
	clk := newFakeClock()
	f := Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), newCacheT(t, clk, CacheOptions{}))
	if _, err := f.Fetch(context.Background(), ts.URL); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if r, err := f.Fetch(context.Background(), ts.URL); err != nil || string(r.Body) != "later" {
		t.Fatalf("404 was cached: %v", err)
	}
}

// failTransport fails the test if anything dials.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("offline fetcher used the network: %s", r.URL)
	return nil, errors.New("network used")
}

func TestOfflineNeverDials(t *testing.T) {
	// Offline holds no fetcher at all; to prove no dial through the
	// default stack either, the default transport fails the test.
	saved := http.DefaultTransport
	http.DefaultTransport = failTransport{t}
	defer func() { http.DefaultTransport = saved }()

	clk := newFakeClock()
	c := newCacheT(t, clk, CacheOptions{})
	const u = "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain"
	if err := c.Put(&Response{URL: u, Body: []byte("chain"), FetchedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(365 * 24 * time.Hour) // expired entries are still served offline
	f := Offline(c)
	if r, err := f.Fetch(context.Background(), u); err != nil || string(r.Body) != "chain" {
		t.Fatalf("cached item: %v", err)
	}
	for _, f := range []Fetcher{f, Offline(nil)} {
		_, err := f.Fetch(context.Background(), "https://kdsintf.amd.com/vcek/v1/Milan/crl")
		if !errors.Is(err, ErrOffline) {
			t.Fatalf("err = %v, want ErrOffline", err)
		}
		// The hint naming the CLI's flags is the CLI's (cli.TestHints).
		if strings.Contains(err.Error(), "--") {
			t.Errorf("%q names a command-line flag", err)
		}
	}
}

func TestCacheConcurrentWriters(t *testing.T) {
	// Several writers (standing in for processes) share one directory:
	// readers must only ever see complete entries.
	dir := t.TempDir()
	clk := newFakeClock()
	const u = "https://example.test/x"
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c, err := NewCache(dir, CacheOptions{Now: clk.Now})
			if err != nil {
				t.Error(err)
				return
			}
			for j := range 20 {
				body := fmt.Appendf(nil, "writer %d round %d", i, j)
				if err := c.Put(&Response{URL: u, Body: body, FetchedAt: clk.Now()}); err != nil {
					t.Error(err)
				}
				if _, err := c.Get(u, true); err != nil {
					t.Errorf("torn read: %v", err)
				}
			}
		})
	}
	wg.Wait()
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestCacheFutureEntryAndCap(t *testing.T) {
	clk := newFakeClock()
	c := newCacheT(t, clk, CacheOptions{MaxBody: 8})
	const u = "https://example.test/tcb"
	if err := c.Put(&Response{URL: u, Body: []byte("123456789")}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized put: %v", err)
	}
	must(t, c.Put(&Response{URL: u, Body: []byte("tcb"), FetchedAt: clk.Now().Add(48 * time.Hour)}))
	if _, err := c.Get(u, true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("entry from the future served as fresh: %v", err)
	}
	if r, err := c.Get(u, false); err != nil || string(r.Body) != "tcb" {
		t.Errorf("stale read: %v", err)
	}
}

// testCRL mints a CRL valid from thisUpdate to nextUpdate under a fresh key.
func testCRL(t *testing.T, thisUpdate, nextUpdate time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ARK-Test"},
		NotBefore: thisUpdate.Add(-time.Hour), NotAfter: nextUpdate.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// TestCacheCRLFreshUntilNextUpdate: a cached CRL is fresh for its TTL but
// never past its own nextUpdate; offline still serves it (the verifier
// judges its dates).
func TestCacheCRLFreshUntilNextUpdate(t *testing.T) {
	clk := newFakeClock()
	crl := testCRL(t, clk.Now().Add(-time.Hour), clk.Now().Add(2*time.Hour))
	var hits atomic.Int32
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(crl)
	}))
	c := newCacheT(t, clk, CacheOptions{TTL: 30 * 24 * time.Hour})
	f := Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), c)
	u := ts.URL + "/vcek/v1/Milan/crl"
	for range 2 {
		if _, err := f.Fetch(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d upstream hits before nextUpdate, want 1", hits.Load())
	}
	clk.Advance(2 * time.Hour)
	if _, err := c.Get(u, true); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CRL past its nextUpdate served as fresh: %v", err)
	}
	if _, err := Offline(c).Fetch(context.Background(), u); err != nil {
		t.Fatalf("offline: %v", err)
	}
	if _, err := f.Fetch(context.Background(), u); err != nil || hits.Load() != 2 {
		t.Fatalf("after nextUpdate: %v, %d hits, want a refetch", err, hits.Load())
	}
}
