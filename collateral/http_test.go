package collateral

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances only when the code under test sleeps.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// server answers with the scripted statuses in order, then 200 with body.
type server struct {
	hits   atomic.Int32
	script []func(w http.ResponseWriter)
	body   string
	ua     atomic.Value
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.hits.Add(1))
	s.ua.Store(r.Header.Get("User-Agent"))
	if n <= len(s.script) {
		s.script[n-1](w)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	fmt.Fprint(w, s.body)
}

func status(code int, retryAfter string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
		fmt.Fprint(w, "slow down\n")
	}
}

func start(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h) // loopback only
	t.Cleanup(ts.Close)
	return ts
}

func newTestHTTP(clk *fakeClock, events *[]string) *HTTP {
	return NewHTTP(HTTPOptions{
		Version: "test", InitialBackoff: time.Second, MaxBackoff: 3 * time.Second, Budget: time.Minute,
		Now: clk.Now, Sleep: clk.Sleep,
		Progress: func(e string) { *events = append(*events, e) },
	})
}

func TestRetryAfterSecondsHonoured(t *testing.T) {
	s := &server{script: []func(http.ResponseWriter){status(429, "20"), status(503, "7")}, body: "vcek"}
	ts := start(t, s)
	clk := newFakeClock()
	var ev []string
	r, err := newTestHTTP(clk, &ev).Fetch(context.Background(), ts.URL+"/vcek/v1/Milan/ab")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Body) != "vcek" || s.hits.Load() != 3 {
		t.Fatalf("body %q after %d hits", r.Body, s.hits.Load())
	}
	if got := fmt.Sprint(clk.Waits()); got != "[20s 7s]" {
		t.Errorf("waits %s, want [20s 7s] (Retry-After honoured beyond MaxBackoff)", got)
	}
	if s.ua.Load() != "cloudra/test" {
		t.Errorf("User-Agent %q", s.ua.Load())
	}
	if !r.FetchedAt.Equal(clk.Now()) {
		t.Errorf("FetchedAt %v, want %v", r.FetchedAt, clk.Now())
	}
	joined := strings.Join(ev, "\n")
	if !strings.Contains(joined, "retrying "+ts.URL+"/vcek/v1/Milan/ab in 20s (HTTP 429)") ||
		!strings.Contains(joined, "retrying "+ts.URL+"/vcek/v1/Milan/ab in 7s (HTTP 503)") {
		t.Errorf("progress events:\n%s", joined)
	}
}

func TestExponentialBackoffCapped(t *testing.T) {
	s := &server{script: []func(http.ResponseWriter){status(503, ""), status(503, ""), status(429, ""), status(429, "bogus")}, body: "ok"}
	ts := start(t, s)
	clk := newFakeClock()
	var ev []string
	if _, err := newTestHTTP(clk, &ev).Fetch(context.Background(), ts.URL); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(clk.Waits()); got != "[1s 2s 3s 3s]" {
		t.Errorf("waits %s, want [1s 2s 3s 3s]", got)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	clk := newFakeClock()
	date := clk.Now().Add(9 * time.Second).Format(http.TimeFormat)
	s := &server{script: []func(http.ResponseWriter){status(429, date)}, body: "ok"}
	ts := start(t, s)
	var ev []string
	if _, err := newTestHTTP(clk, &ev).Fetch(context.Background(), ts.URL); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(clk.Waits()); got != "[9s]" {
		t.Errorf("waits %s, want [9s]", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                                 -1,
		"0":                                0,
		" 120 ":                            2 * time.Minute,
		"-5":                               -1,
		"1.5":                              -1,
		"99999999999":                      -1,
		"Sat, 01 Nov 2025 12:00:30 GMT":    30 * time.Second,
		"Sat, 01 Nov 2025 11:00:00 GMT":    0,           // in the past: retry now
		"Saturday, 01-Nov-25 12:01:00 GMT": time.Minute, // RFC 850
		"tomorrow":                         -1,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestBudgetExhausted(t *testing.T) {
	s := &server{body: "never"}
	for range 10 {
		s.script = append(s.script, status(429, "50"))
	}
	ts := start(t, s)
	clk := newFakeClock()
	var ev []string
	h := newTestHTTP(clk, &ev)
	h.o.Budget = 2 * time.Minute
	_, err := h.Fetch(context.Background(), ts.URL)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 429 {
		t.Fatalf("err = %v, want StatusError 429", err)
	}
	if s.hits.Load() != 3 || fmt.Sprint(clk.Waits()) != "[50s 50s]" {
		t.Errorf("%d hits, waits %v; want 3 hits, [50s 50s] within the 2m budget", s.hits.Load(), clk.Waits())
	}
	if !strings.Contains(err.Error(), "hint:") {
		t.Errorf("no hint in %q", err)
	}
}

func TestNotFoundNoRetry(t *testing.T) {
	s := &server{script: []func(http.ResponseWriter){status(404, "")}}
	ts := start(t, s)
	clk := newFakeClock()
	var ev []string
	_, err := newTestHTTP(clk, &ev).Fetch(context.Background(), ts.URL+"/vcek/v1/Milan/00")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Hint == "" || !strings.Contains(err.Error(), "hint:") {
		t.Errorf("err = %#v, want NotFoundError with a hint", err)
	}
	if s.hits.Load() != 1 || len(clk.Waits()) != 0 {
		t.Errorf("404 retried: %d hits", s.hits.Load())
	}
	if h := notFoundHint("https://kdsintf.amd.com/vcek/v1/Milan/00?blSPL=1"); !strings.Contains(h, "REPORTED_TCB") {
		t.Errorf("KDS hint %q", h)
	}
	if h := notFoundHint("https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=00"); !strings.Contains(h, "FMSPC") {
		t.Errorf("PCS hint %q", h)
	}
}

func TestOther4xxNoRetry(t *testing.T) {
	for _, code := range []int{400, 401, 403, 410, 500} {
		s := &server{script: []func(http.ResponseWriter){status(code, "1")}}
		ts := start(t, s)
		clk := newFakeClock()
		var ev []string
		_, err := newTestHTTP(clk, &ev).Fetch(context.Background(), ts.URL)
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != code || se.Snippet != "slow down" {
			t.Errorf("%d: err = %v", code, err)
		}
		if s.hits.Load() != 1 {
			t.Errorf("%d retried (%d hits)", code, s.hits.Load())
		}
	}
}

func TestBodyCap(t *testing.T) {
	big := strings.Repeat("x", 11)
	for name, h := range map[string]http.HandlerFunc{
		"content-length": func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, big) },
		"chunked": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, big[:5])
			w.(http.Flusher).Flush()
			fmt.Fprint(w, big[5:])
		},
	} {
		ts := start(t, h)
		f := NewHTTP(HTTPOptions{MaxBody: 10})
		if _, err := f.Fetch(context.Background(), ts.URL); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", name, err)
		}
		f = NewHTTP(HTTPOptions{MaxBody: 11})
		if r, err := f.Fetch(context.Background(), ts.URL); err != nil || string(r.Body) != big {
			t.Errorf("%s: at the cap: %v", name, err)
		}
	}
}

func TestKeptHeaders(t *testing.T) {
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("TCB-Info-Issuer-Chain", "chain")
		w.Header().Set("SGX-PCK-CRL-Issuer-Chain", "crlchain")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "x=y")
		w.Header().Set("Request-ID", "abc")
		fmt.Fprint(w, "{}")
	}))
	r, err := NewHTTP(HTTPOptions{}).Fetch(context.Background(), ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Header) != 3 || r.Header.Get("Tcb-Info-Issuer-Chain") != "chain" ||
		r.Header.Get("Sgx-Pck-Crl-Issuer-Chain") != "crlchain" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("kept headers %v", r.Header)
	}
}

func TestContextCancelDuringWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &server{script: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		cancel() // the caller gives up while the server says "come back in an hour"
		status(429, "3600")(w)
	}}}
	ts := start(t, s)
	// The real sleep: it must return at once because ctx is done.
	f := NewHTTP(HTTPOptions{Budget: 2 * time.Hour})
	t0 := time.Now()
	_, err := f.Fetch(ctx, ts.URL)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("cancel took %s", d)
	}
}

func TestContextCancelDuringRequest(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	_, err := NewHTTP(HTTPOptions{}).Fetch(ctx, ts.URL)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPerRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	_, err := NewHTTP(HTTPOptions{Timeout: 50 * time.Millisecond}).Fetch(context.Background(), ts.URL)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestRejectsNonHTTPURL(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "ftp://x/y", "/relative", "https://"} {
		if _, err := NewHTTP(HTTPOptions{}).Fetch(context.Background(), u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
