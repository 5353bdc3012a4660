// Package collateral fetches, caches and sorts the collateral that verifiers
// need: AMD KDS certificates and CRLs, Intel PCS TCB Info, QE Identity, CRLs
// and issuer chains, JWKS documents. It is the only code in cloudra that
// touches the network, and it knows no evidence formats: platforms build the
// URLs (pure functions of the evidence) and report them in a
// [cloudra.MissingCollateralError]; the caller fetches them through a
// [Fetcher] and verifies again.
//
// The pieces compose:
//
//	f := collateral.Cached(collateral.NewHTTP(collateral.HTTPOptions{…}), cache)
//	f := collateral.Offline(cache) // --offline: never dials
//
// [Classify] and [LoadDir] sort raw bytes into a [cloudra.Collateral] by
// content, never by file name; [WriteDir] writes one back out.
// See docs/collateral.md.
package collateral

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Fetcher gets one collateral item by URL.
type Fetcher interface {
	// Fetch returns the body of url. It must return an error wrapping
	// [ErrNotFound] when the server answers that the item does not exist,
	// and an error wrapping [ErrOffline] when it may not use the network
	// and has no copy; any other error is a transport or server failure.
	// Fetch honours ctx at every wait.
	Fetch(ctx context.Context, url string) (*Response, error)
}

// SourcedFetcher is a [Fetcher] that can get an item named by its canonical
// URL from another source serving the same paths (a PCCS, a mirror, a
// cloud's cache) while keeping what it caches under the canonical URL, so
// that where an item came from does not change what it is.
// [Cached] and [Offline] are SourcedFetchers.
type SourcedFetcher interface {
	Fetcher
	// FetchFrom returns the item named url, asking source for it.
	FetchFrom(ctx context.Context, url, source string) (*Response, error)
}

// FetchFrom gets the item named url from source: through f's FetchFrom
// when f is a [SourcedFetcher], else by fetching source.
func FetchFrom(ctx context.Context, f Fetcher, url, source string) (*Response, error) {
	if source == "" || source == url {
		return f.Fetch(ctx, url)
	}
	if sf, ok := f.(SourcedFetcher); ok {
		return sf.FetchFrom(ctx, url, source)
	}
	return f.Fetch(ctx, source)
}

// Response is one fetched collateral item.
type Response struct {
	URL  string
	Body []byte
	// Header keeps only the headers a verifier can use: Content-Type and the
	// PCS issuer-chain headers (TCB-Info-Issuer-Chain,
	// SGX-TCB-Info-Issuer-Chain, SGX-Enclave-Identity-Issuer-Chain,
	// SGX-PCK-CRL-Issuer-Chain, …: every header ending in -Issuer-Chain).
	Header    http.Header
	FetchedAt time.Time
}

// keepHeader reports whether a response header is worth keeping and caching.
func keepHeader(name string) bool {
	name = http.CanonicalHeaderKey(name)
	return name == "Content-Type" || strings.HasSuffix(name, "-Issuer-Chain")
}

func keptHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if keepHeader(k) {
			out[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
	}
	return out
}

// ErrNotFound is wrapped by errors for collateral the server does not have
// (HTTP 404). Retrying will not help; see [NotFoundError.Hint].
var ErrNotFound = errors.New("collateral not found")

// ErrOffline is wrapped by errors of the [Offline] fetcher for items that
// are not in the cache.
var ErrOffline = errors.New("collateral not available offline")

// ErrTooLarge is wrapped when a response or file exceeds its size cap.
var ErrTooLarge = errors.New("collateral too large")

// NotFoundError is returned for HTTP 404. It wraps [ErrNotFound].
type NotFoundError struct {
	URL  string
	Hint string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("collateral: %s: not found (404) (hint: %s)", e.URL, e.Hint)
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// StatusError is an HTTP answer other than 200 and 404 that was not, or no
// longer, retried.
type StatusError struct {
	URL        string
	StatusCode int
	// Snippet is the start of the response body, for the message.
	Snippet string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("collateral: %s: HTTP %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Snippet != "" {
		s += ": " + e.Snippet
	}
	return s
}

// notFoundHint says what a 404 usually means for the well-known servers.
func notFoundHint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "check the URL"
	}
	switch {
	case u.Host == "kdsintf.amd.com" && strings.HasPrefix(u.Path, "/vcek/"):
		return "AMD KDS has no certificate for this chip and TCB; reports with MASK_CHIP_ID or signed by a VLEK cannot fetch a VCEK, and the SPLs must be REPORTED_TCB"
	case strings.HasSuffix(u.Host, "trustedservices.intel.com") || strings.Contains(u.Path, "/certification/v"):
		return "the PCS/PCCS has no collateral for these parameters (an unknown FMSPC or CA); check the platform is registered"
	}
	return "the server has no such collateral; check the URL"
}
