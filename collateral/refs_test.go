package collateral

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
)

type mapFetcher map[string][]byte

func (m mapFetcher) Fetch(_ context.Context, u string) (*Response, error) {
	if b, ok := m[u]; ok {
		return &Response{URL: u, Body: b, Header: http.Header{}}, nil
	}
	return nil, &NotFoundError{URL: u}
}

// FetchRefs goes on past an unavailable alternative, asks the rewritten
// source, classifies what arrives, and reports each fetch.
func TestFetchRefs(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f := mapFetcher{"http://mirror/b": der}
	var events []string
	refs := []cloudra.CollateralRef{{What: "a", URL: "https://origin/a"}, {What: "b", URL: "https://origin/b"}}
	col, got, errs := FetchRefs(context.Background(), f, refs,
		func(u string) string { return "http://mirror/" + u[len("https://origin/"):] },
		func(ev string) { events = append(events, ev) })
	if got != 1 || len(col.Certificates) != 1 || len(events) != 2 {
		t.Fatalf("got %d, %d certificates, events %v", got, len(col.Certificates), events)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrNotFound) {
		t.Fatalf("errs %v", errs)
	}
}

// TestFetchRefsCachesUnderCanonicalURL: an item fetched through a mirror is
// cached under the canonical URL its ref names, so an offline run that
// does not know the mirror finds it; the mirror is kept as its source.
func TestFetchRefsCachesUnderCanonicalURL(t *testing.T) {
	up := &counting{}
	ts := start(t, up)
	clk := newFakeClock()
	c := newCacheT(t, clk, CacheOptions{})
	canon := "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain"
	mirror := func(u string) string { return ts.URL + "/mirror/vcek/v1/Milan/cert_chain" }
	refs := []cloudra.CollateralRef{{What: "chain", URL: canon}}
	// counting's bodies are not collateral: only the cache matters here.
	_, _, _ = FetchRefs(context.Background(), Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), c), refs, mirror, nil)
	if up.hits.Load() != 1 {
		t.Fatalf("%d upstream hits, want 1", up.hits.Load())
	}
	r, err := Offline(c).Fetch(context.Background(), canon)
	if err != nil {
		t.Fatalf("offline by canonical URL: %v", err)
	}
	if r.URL != mirror(canon) || string(r.Body) != "body of /mirror/vcek/v1/Milan/cert_chain" {
		t.Errorf("cached %q from %s", r.Body, r.URL)
	}
	// Online again through another mirror: served from the cache.
	other := func(string) string { return ts.URL + "/other" }
	if _, err := FetchFrom(context.Background(), Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep}), c), canon, other(canon)); err != nil || up.hits.Load() != 1 {
		t.Fatalf("second source: %v, %d hits", err, up.hits.Load())
	}
}
