package platform_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/policy"
)

// memFetcher serves collateral from memory: serve decides the answer for
// each URL. It records every URL asked for.
type memFetcher struct {
	mu    sync.Mutex
	urls  []string
	serve func(ctx context.Context, url string) ([]byte, error)
}

func (m *memFetcher) Fetch(ctx context.Context, url string) (*collateral.Response, error) {
	m.mu.Lock()
	m.urls = append(m.urls, url)
	m.mu.Unlock()
	body, err := m.serve(ctx, url)
	if err != nil {
		return nil, err
	}
	return &collateral.Response{URL: url, Body: body}, nil
}

func (m *memFetcher) calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.urls...)
}

// fetchFixture is a real Milan report whose VCEK the collateral at hand
// lacks (the AMD chain above it is compiled in).
func fetchFixture(t *testing.T) (platform.Input, []byte) {
	t.Helper()
	report, vcek, at := oakMilan(t)
	return platform.Input{
		Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema,
			Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: report,
				Meta: map[string]string{"product": "Milan"}}}},
		Collateral: &cloudra.Collateral{}, Options: cloudra.Options{Time: at}}, vcek
}

// unrelatedCert is a well-formed certificate that is no one's VCEK: the
// verifier keeps naming the VCEK as missing however many arrive.
func unrelatedCert(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unrelated"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func isCRL(url string) bool { return strings.HasSuffix(url, "/crl") }

// TestVerifyFetchingFetchesTheNamedItem: the item the verifier names is
// fetched (and only it), the evidence passes, and the caller's collateral
// set is left as it was.
func TestVerifyFetchingFetchesTheNamedItem(t *testing.T) {
	in, vcek := fetchFixture(t)
	vs, err := platform.New()
	if err != nil {
		t.Fatal(err)
	}
	f := &memFetcher{serve: func(_ context.Context, url string) ([]byte, error) {
		if isCRL(url) {
			return nil, fmt.Errorf("%s: %w", url, collateral.ErrNotFound)
		}
		return vcek, nil
	}}
	var progress []string
	fetched := &cloudra.Collateral{}
	res, err := vs.VerifyFetching(context.Background(), in, f,
		platform.FetchOptions{Progress: func(ev string) { progress = append(progress, ev) },
			Fetched: func(c *cloudra.Collateral) { fetched.Merge(c) }})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("VerifyFetching = %v, %v; want pass", res, err)
	}
	if len(fetched.Certificates) != 1 || !bytes.Equal(fetched.Certificates[0].Raw, vcek) {
		t.Errorf("Fetched was given %d certificates, want the VCEK", len(fetched.Certificates))
	}
	if got := f.calls(); len(got) != 1 || !strings.Contains(got[0], "/vcek/") {
		t.Errorf("fetched %q, want the VCEK once", got)
	}
	if len(progress) != 1 || !strings.HasPrefix(progress[0], "fetching VCEK") {
		t.Errorf("progress %q", progress)
	}
	if len(in.Collateral.Certificates) != 0 {
		t.Errorf("the caller's collateral set gained %d certificates", len(in.Collateral.Certificates))
	}
}

// TestVerifyFetchingRewrite: Rewrite chooses where an item is fetched from.
func TestVerifyFetchingRewrite(t *testing.T) {
	in, vcek := fetchFixture(t)
	vs, _ := platform.New()
	f := &memFetcher{serve: func(_ context.Context, url string) ([]byte, error) {
		if !strings.HasPrefix(url, "http://mirror.test/") {
			return nil, errors.New("not the mirror")
		}
		return vcek, nil
	}}
	rewrite := func(u string) string { return "http://mirror.test/" + u[strings.Index(u, "/vcek/")+1:] }
	res, err := vs.VerifyFetching(context.Background(), in, f, platform.FetchOptions{Rewrite: rewrite})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("VerifyFetching through the mirror = %v, %v", res, err)
	}
}

// TestVerifyFetchingGivesUpAfterMaxRounds: a verifier that keeps naming a
// missing item is answered at most MaxRounds times (DefaultMaxRounds when
// zero), then the missing-collateral error is returned.
func TestVerifyFetchingGivesUpAfterMaxRounds(t *testing.T) {
	in, _ := fetchFixture(t)
	vs, _ := platform.New()
	junk := unrelatedCert(t)
	for _, tc := range []struct{ max, want int }{{0, platform.DefaultMaxRounds}, {1, 1}, {5, 5}} {
		f := &memFetcher{serve: func(context.Context, string) ([]byte, error) { return junk, nil }}
		_, err := vs.VerifyFetching(context.Background(), in, f, platform.FetchOptions{MaxRounds: tc.max})
		var miss *cloudra.MissingCollateralError
		if !errors.As(err, &miss) {
			t.Fatalf("MaxRounds %d: err = %v, want *cloudra.MissingCollateralError", tc.max, err)
		}
		var fe *platform.FetchError
		if errors.As(err, &fe) {
			t.Errorf("MaxRounds %d: rounds used up reported as a fetch failure: %v", tc.max, err)
		}
		if got := len(f.calls()); got != tc.want {
			t.Errorf("MaxRounds %d: %d fetches, want %d", tc.max, got, tc.want)
		}
	}
}

// TestVerifyFetchingOffline: without a Fetcher nothing is fetched and the
// verifier's missing-collateral error is returned as it is; a Fetcher that
// may not use the network gives a *FetchError that says so and still names
// the missing items.
func TestVerifyFetchingOffline(t *testing.T) {
	in, _ := fetchFixture(t)
	vs, _ := platform.New()
	_, want := vs.Verify(context.Background(), in)
	_, err := vs.VerifyFetching(context.Background(), in, nil, platform.FetchOptions{Revocation: true})
	var miss *cloudra.MissingCollateralError
	if !errors.As(err, &miss) || err.Error() != want.Error() {
		t.Fatalf("offline: err = %v, want %v", err, want)
	}

	f := &memFetcher{serve: func(_ context.Context, url string) ([]byte, error) {
		return nil, fmt.Errorf("%s: %w", url, collateral.ErrOffline)
	}}
	_, err = vs.VerifyFetching(context.Background(), in, f, platform.FetchOptions{})
	var fe *platform.FetchError
	if !errors.As(err, &fe) || !fe.Offline() || !errors.Is(err, collateral.ErrOffline) {
		t.Fatalf("offline fetcher: err = %v, want an offline *platform.FetchError", err)
	}
	if !errors.As(err, &miss) || len(miss.Items) == 0 || fe.Verify.Error() != want.Error() {
		t.Errorf("the fetch error does not carry the missing items: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "fetching collateral: ") || strings.Contains(err.Error(), "--") {
		t.Errorf("message %q", err)
	}

	f = &memFetcher{serve: func(context.Context, string) ([]byte, error) { return nil, errors.New("connection refused") }}
	_, err = vs.VerifyFetching(context.Background(), in, f, platform.FetchOptions{})
	if !errors.As(err, &fe) || fe.Offline() {
		t.Fatalf("failing fetcher: err = %v, want a *platform.FetchError, not offline", err)
	}
}

// TestVerifyFetchingStopsOnCancel: a cancelled context stops the loop: no
// further round is fetched and the error says why.
func TestVerifyFetchingStopsOnCancel(t *testing.T) {
	in, _ := fetchFixture(t)
	vs, _ := platform.New()
	junk := unrelatedCert(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &memFetcher{serve: func(ctx context.Context, _ string) ([]byte, error) {
		cancel()
		return junk, nil // arrives, but the next round must not start
	}}
	_, err := vs.VerifyFetching(ctx, in, f, platform.FetchOptions{MaxRounds: 5})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := len(f.calls()); got != 1 {
		t.Errorf("%d fetches after cancellation, want 1", got)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	f = &memFetcher{serve: func(ctx context.Context, _ string) ([]byte, error) {
		cancel2()
		return nil, ctx.Err()
	}}
	_, err = vs.VerifyFetching(ctx2, in, f, platform.FetchOptions{MaxRounds: 5})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("fetch cancelled: err = %v, want context.Canceled", err)
	}
}

// TestVerifyFetchingRevocation: with Revocation the SEV-SNP CRL is asked
// for before the first verification; a failure is a warning on the result,
// or a *RevocationError when the policy requires a CRL.
func TestVerifyFetchingRevocation(t *testing.T) {
	in, vcek := fetchFixture(t)
	vs, _ := platform.New()
	f := &memFetcher{serve: func(_ context.Context, url string) ([]byte, error) {
		if isCRL(url) {
			return nil, fmt.Errorf("%s: %w", url, collateral.ErrNotFound)
		}
		return vcek, nil
	}}
	res, err := vs.VerifyFetching(context.Background(), in, f, platform.FetchOptions{Revocation: true})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("VerifyFetching = %v, %v", res, err)
	}
	if got := f.calls(); len(got) != 2 || !isCRL(got[0]) {
		t.Errorf("fetched %q, want the CRL first, then the VCEK", got)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "collateral: not fetched, revocation may go unchecked: ")
	}) {
		t.Errorf("no warning for the CRL not fetched: %q", res.Warnings)
	}

	in.Policy = policy.Default().With(sevsnp.Platform, &sevsnp.Policy{RequireCRL: true})
	_, err = vs.VerifyFetching(context.Background(), in, f, platform.FetchOptions{Revocation: true})
	var rev *platform.RevocationError
	if !errors.As(err, &rev) || !errors.Is(err, collateral.ErrNotFound) {
		t.Fatalf("require-crl: err = %v, want *platform.RevocationError", err)
	}
}
