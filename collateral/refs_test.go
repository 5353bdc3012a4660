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
