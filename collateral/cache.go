package collateral

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultTTL is how long a cached item is served without refetching.
const DefaultTTL = 24 * time.Hour

// CacheOptions configure [NewCache].
type CacheOptions struct {
	// TTL is the default lifetime of an entry (DefaultTTL).
	TTL time.Duration
	// TTLFor, when set, gives the lifetime for one URL; a result ≤ 0 falls
	// back to TTL. [SuggestedTTL] is a ready-made choice.
	TTLFor func(url string) time.Duration
	// MaxBody caps a blob read back from disk (DefaultMaxBody).
	MaxBody int64
	// Now replaces the clock (tests).
	Now func() time.Time
}

// Cache is a content-addressed collateral cache in a directory:
//
//	DIR/blobs/<sha256 of body>           the bodies, named by their hash
//	DIR/index/<sha256 of key>.json       key → blob hash, source, fetched-at, headers
//
// The key is what the item is: the canonical URL that names it (the AMD
// KDS or Intel PCS URL a platform builds from the evidence: product, chip
// ID and TCB; FMSPC; CA type), not the URL it was fetched from. An item
// fetched through a mirror or PCCS ([SourcedFetcher]) is found again by a
// later run that does not name the mirror. (Entries written before the key
// was canonical, under a mirror's URL, are found only when that mirror URL
// is asked for again, by [Offline]; otherwise they are ignored.)
//
// Every file is written to a temporary name and renamed into place, so
// processes sharing DIR see either the old or the new entry, never a torn
// one. A blob whose content no longer matches its name is treated as a miss
// (and removed), so a corrupted cache heals on the next fetch.
type Cache struct {
	dir string
	o   CacheOptions
}

// NewCache opens (creating if needed) a cache in dir.
func NewCache(dir string, opts CacheOptions) (*Cache, error) {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, sub := range []string{"blobs", "index"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("collateral: cache: %w (hint: pass a writable cache directory)", err)
		}
	}
	return &Cache{dir: dir, o: opts}, nil
}

// SuggestedTTL gives long lifetimes to items that never change for a given
// URL and short ones to items that Intel and AMD reissue:
// a VCEK is named by chip and TCB and valid for 7 years (30 days here);
// the AMD ARK/ASK chains change with product generations (7 days);
// CRLs, TCB Info and QE Identity are reissued at least monthly and carry
// their own nextUpdate (DefaultTTL). Whatever the TTL, the cache never
// serves an item past its own nextUpdate as fresh (see [Cache.Get]).
func SuggestedTTL(raw string) time.Duration {
	u, err := url.Parse(raw)
	if err != nil {
		return DefaultTTL
	}
	// AMD KDS, AMD KDS spec #57230: /vcek/v1/{product}/{hwid|cert_chain|crl}.
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) == 4 && (parts[0] == "vcek" || parts[0] == "vlek") && parts[1] == "v1" {
		switch parts[3] {
		case "crl":
			return DefaultTTL
		case "cert_chain":
			return 7 * 24 * time.Hour
		case "cert":
			return 30 * 24 * time.Hour // VLEK
		default:
			return 30 * 24 * time.Hour // VCEK by hwid and TCB
		}
	}
	return DefaultTTL
}

type indexEntry struct {
	// URL is the key: the canonical URL of the item.
	URL  string `json:"url"`
	Blob string `json:"blob"`
	// Source is where the body was fetched from when that was not URL
	// (a mirror, a PCCS), for explanations.
	Source    string      `json:"source,omitempty"`
	FetchedAt time.Time   `json:"fetched_at"`
	Header    http.Header `json:"header,omitempty"`
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (c *Cache) indexPath(u string) string {
	return filepath.Join(c.dir, "index", hexSum([]byte(u))+".json")
}

func (c *Cache) blobPath(sum string) string {
	return filepath.Join(c.dir, "blobs", sum)
}

func (c *Cache) ttl(u string) time.Duration {
	if c.o.TTLFor != nil {
		if d := c.o.TTLFor(u); d > 0 {
			return d
		}
	}
	return c.o.TTL
}

// errMiss is internal: the entry is absent, expired or corrupted.
var errMiss = errors.New("cache miss")

// Get returns the cached response for u. With fresh set, an entry older
// than its TTL is a miss, and so is a CRL (RFC 5280 §5.1.2.5), TCB Info or
// QE Identity whose own nextUpdate has passed: a reissued list must be
// fetched then, however long the TTL. A corrupted entry is removed and is a miss.
// A miss returns an error wrapping fs.ErrNotExist.
func (c *Cache) Get(u string, fresh bool) (*Response, error) {
	r, err := c.get(u, fresh)
	if errors.Is(err, errMiss) {
		return nil, fmt.Errorf("collateral: cache: %s: %w", u, fs.ErrNotExist)
	}
	return r, err
}

func (c *Cache) get(u string, fresh bool) (*Response, error) {
	ip := c.indexPath(u)
	ib, err := readCapped(ip, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errMiss
	}
	if err != nil {
		return nil, fmt.Errorf("collateral: cache: %w", err)
	}
	var e indexEntry
	if json.Unmarshal(ib, &e) != nil || e.URL != u || !isHexSum(e.Blob) {
		_ = os.Remove(ip) // torn or foreign entry: heal by refetching
		return nil, errMiss
	}
	// An entry from the future (clock stepped back, copied cache) is stale
	// too, or it would stay fresh for as long as the skew.
	if age := c.o.Now().Sub(e.FetchedAt); fresh && (age < 0 || age >= c.ttl(u)) {
		return nil, errMiss
	}
	body, err := readCapped(c.blobPath(e.Blob), c.o.MaxBody)
	if err != nil || hexSum(body) != e.Blob {
		// Missing or corrupted blob (disk error, partial copy, tampering).
		_ = os.Remove(ip)
		if err == nil {
			_ = os.Remove(c.blobPath(e.Blob))
		}
		return nil, errMiss
	}
	if next := nextUpdate(body); fresh && !next.IsZero() && !c.o.Now().Before(next) {
		return nil, errMiss
	}
	src := u
	if e.Source != "" {
		src = e.Source
	}
	return &Response{URL: src, Body: body, Header: keptHeaders(e.Header), FetchedAt: e.FetchedAt}, nil
}

// Put stores r under its own URL (its body by hash, then the index entry).
func (c *Cache) Put(r *Response) error { return c.put(r.URL, r) }

// put stores r under key; r.URL, when different, is kept as its source.
func (c *Cache) put(key string, r *Response) error {
	if int64(len(r.Body)) > c.o.MaxBody {
		return fmt.Errorf("collateral: cache: %s: %d bytes exceeds %d: %w", r.URL, len(r.Body), c.o.MaxBody, ErrTooLarge)
	}
	sum := hexSum(r.Body)
	bp := c.blobPath(sum)
	if b, err := readCapped(bp, c.o.MaxBody); err != nil || hexSum(b) != sum {
		if err := writeAtomic(bp, r.Body); err != nil {
			return fmt.Errorf("collateral: cache: %w (hint: check the cache directory is writable)", err)
		}
	}
	e := indexEntry{URL: key, Blob: sum, FetchedAt: r.FetchedAt, Header: keptHeaders(r.Header)}
	if r.URL != key {
		e.Source = r.URL
	}
	ib, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("collateral: cache: %w", err)
	}
	if err := writeAtomic(c.indexPath(key), ib); err != nil {
		return fmt.Errorf("collateral: cache: %w (hint: check the cache directory is writable)", err)
	}
	return nil
}

// nextUpdate is the earliest nextUpdate of the CRLs or PCS documents in a
// body, or zero when it has none (certificates, JWKS, unknown bytes).
func nextUpdate(body []byte) time.Time {
	col, err := classify(body, "cache")
	if err != nil {
		return time.Time{}
	}
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, crl := range col.CRLs {
		earliest(crl.NextUpdate)
	}
	for _, d := range col.Documents {
		// PCS TCB Info and QE Identity: {"tcbInfo"|"enclaveIdentity":
		// {"nextUpdate": RFC 3339, …}, "signature": …}.
		var v struct {
			TCBInfo *struct {
				NextUpdate time.Time `json:"nextUpdate"`
			} `json:"tcbInfo"`
			EnclaveIdentity *struct {
				NextUpdate time.Time `json:"nextUpdate"`
			} `json:"enclaveIdentity"`
		}
		if json.Unmarshal(d.Raw, &v) != nil {
			continue
		}
		if v.TCBInfo != nil {
			earliest(v.TCBInfo.NextUpdate)
		}
		if v.EnclaveIdentity != nil {
			earliest(v.EnclaveIdentity.NextUpdate)
		}
	}
	return next
}

func isHexSum(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// writeAtomic writes data beside path and renames it into place.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// readCapped reads a regular file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes exceeds %d: %w", path, st.Size(), limit, ErrTooLarge)
	}
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if n != len(b) {
		return nil, fmt.Errorf("%s: short read: %w", path, err)
	}
	return b, nil
}

// Cached serves fresh cache entries and fetches the rest through f, storing
// what it gets. Concurrent Fetches of one URL share one upstream request
// (singleflight); the shared request runs detached from any one caller's
// context, bounded by f's own timeouts, so a caller that gives up neither
// fails the others nor wastes the work (it still fills the cache).
// A nil c only coalesces.
func Cached(f Fetcher, c *Cache) Fetcher {
	return &cached{f: f, c: c}
}

type cached struct {
	f Fetcher
	c *Cache
	g singleflight.Group
	// testOnlyJoined runs once a caller has joined (or started) the shared
	// request, so tests can release the upstream only when all have joined.
	testOnlyJoined func()
}

func (k *cached) Fetch(ctx context.Context, u string) (*Response, error) {
	return k.FetchFrom(ctx, u, u)
}

// FetchFrom implements [SourcedFetcher]: the cache and the coalescing are
// keyed on u, the request goes to source.
func (k *cached) FetchFrom(ctx context.Context, u, source string) (*Response, error) {
	if k.c != nil {
		r, err := k.c.get(u, true)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, errMiss) {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collateral: %s: %w", u, err)
	}
	detached := context.WithoutCancel(ctx)
	ch := k.g.DoChan(u, func() (any, error) {
		r, err := k.f.Fetch(detached, source)
		if err != nil {
			return nil, err
		}
		if k.c != nil {
			if err := k.c.put(u, r); err != nil {
				return nil, err
			}
		}
		return r, nil
	})
	if k.testOnlyJoined != nil {
		k.testOnlyJoined()
	}
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("collateral: %s: %w", u, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return cloneResponse(res.Val.(*Response)), nil
	}
}

// cloneResponse gives each coalesced caller its own copy to keep.
func cloneResponse(r *Response) *Response {
	return &Response{URL: r.URL, Body: append([]byte(nil), r.Body...), Header: r.Header.Clone(), FetchedAt: r.FetchedAt}
}

// Offline returns a Fetcher that never touches the network: it serves
// every entry in c, expired ones included (the verifier judges freshness
// from the collateral's own dates and the verification time), and returns
// an error wrapping [ErrOffline] for anything else. c may be nil.
func Offline(c *Cache) Fetcher { return offline{c} }

type offline struct{ c *Cache }

func (o offline) Fetch(ctx context.Context, u string) (*Response, error) {
	return o.FetchFrom(ctx, u, u)
}

// FetchFrom implements [SourcedFetcher]: it serves the entry cached under
// u, else one cached under source by an older cache that keyed entries by
// the URL asked.
func (o offline) FetchFrom(_ context.Context, u, source string) (*Response, error) {
	if o.c != nil {
		for _, key := range []string{u, source} {
			r, err := o.c.get(key, false)
			if err == nil {
				return r, nil
			}
			if !errors.Is(err, errMiss) {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("collateral: %s: %w", u, ErrOffline)
}
