package collateral

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cloudra/cloudra/internal/boundedio"
)

// Defaults of [HTTPOptions].
const (
	DefaultTimeout        = 30 * time.Second
	DefaultMaxBody        = 4 << 20 // a PCS TCB Info is ~10 KiB, a CRL a few KiB
	DefaultInitialBackoff = 5 * time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultBudget         = 2 * time.Minute
)

// HTTPOptions configure [NewHTTP]. The zero value is usable.
type HTTPOptions struct {
	// Client sends the requests; nil means a client with
	// http.DefaultTransport (proxies from the environment).
	Client *http.Client
	// Timeout bounds each attempt, body included (DefaultTimeout).
	Timeout time.Duration
	// MaxBody caps a response body; larger answers are an error wrapping
	// ErrTooLarge (DefaultMaxBody).
	MaxBody int64
	// Version goes into the User-Agent "cloudra/<Version>" ("dev").
	Version string

	// InitialBackoff and MaxBackoff shape the exponential backoff after
	// 429 and 503 answers without Retry-After; Budget bounds the whole
	// fetch, waits included. A Retry-After that would overrun the budget
	// ends the fetch at once with the StatusError. AMD KDS rate-limits per
	// client: go-sev-guest waits 20 s, caps at 30 s and stops after 2 min.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Budget         time.Duration

	// Now and Sleep replace the clock (tests). Sleep must return ctx.Err()
	// when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	// Progress, when set, receives one line per event ("fetching URL",
	// "retrying URL in 20s (HTTP 429)") for the CLI to print on stderr.
	Progress func(event string)
}

// HTTP fetches collateral over HTTP(S) with timeouts, a body cap and
// rate-limit aware retries. It is safe for concurrent use.
type HTTP struct {
	o HTTPOptions
}

var _ Fetcher = (*HTTP)(nil)

// NewHTTP returns an HTTP fetcher; zero option fields take their defaults.
func NewHTTP(opts HTTPOptions) *HTTP {
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = DefaultInitialBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	return &HTTP{o: opts}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (h *HTTP) progress(format string, args ...any) {
	if h.o.Progress != nil {
		h.o.Progress(fmt.Sprintf(format, args...))
	}
}

// Fetch implements [Fetcher]. It retries 429 and 503 answers, honouring
// Retry-After (delta-seconds or HTTP-date, RFC 9110 §10.2.3), otherwise
// backing off exponentially from InitialBackoff to MaxBackoff, until Budget
// is spent. 404 is a [*NotFoundError]; other statuses are a [*StatusError]
// without retry.
func (h *HTTP) Fetch(ctx context.Context, rawURL string) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("collateral: %q is not an http(s) URL", rawURL)
	}
	start := h.o.Now()
	backoff := h.o.InitialBackoff
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("collateral: %s: %w", rawURL, err)
		}
		h.progress("fetching %s", rawURL)
		resp, retryAfter, err := h.once(ctx, rawURL)
		if err == nil {
			h.progress("fetched %s (%d bytes)", rawURL, len(resp.Body))
			return resp, nil
		}
		var se *StatusError
		if !errors.As(err, &se) || (se.StatusCode != http.StatusTooManyRequests && se.StatusCode != http.StatusServiceUnavailable) {
			return nil, err
		}
		// Retry-After is honoured as given (the server knows its limit);
		// without it, back off exponentially up to MaxBackoff.
		wait := min(backoff, h.o.MaxBackoff)
		if retryAfter >= 0 {
			wait = retryAfter
		} else {
			backoff = min(2*backoff, h.o.MaxBackoff)
		}
		if spent := h.o.Now().Sub(start); spent+wait > h.o.Budget {
			return nil, fmt.Errorf("%w (gave up after %d attempts in %s; next wait %s exceeds the %s budget; hint: try again later)",
				err, attempt, spent.Round(time.Second), wait, h.o.Budget)
		}
		h.progress("retrying %s in %s (HTTP %d)", rawURL, wait, se.StatusCode)
		if err := h.o.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("collateral: %s: waiting to retry: %w", rawURL, err)
		}
	}
}

// once makes one attempt. retryAfter is -1 when the answer had no usable
// Retry-After.
func (h *HTTP) once(ctx context.Context, rawURL string) (*Response, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, -1, fmt.Errorf("collateral: %s: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", "cloudra/"+h.o.Version)
	resp, err := h.o.Client.Do(req)
	if err != nil {
		return nil, -1, fmt.Errorf("collateral: %w (hint: check network access)", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, -1, &NotFoundError{URL: rawURL, Hint: notFoundHint(rawURL)}
	default:
		snip, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		ra := parseRetryAfter(resp.Header.Get("Retry-After"), h.o.Now())
		return nil, ra, &StatusError{URL: rawURL, StatusCode: resp.StatusCode, Snippet: printable(snip)}
	}
	if resp.ContentLength > h.o.MaxBody {
		return nil, -1, fmt.Errorf("collateral: %s: body of %d bytes exceeds %d: %w", rawURL, resp.ContentLength, h.o.MaxBody, ErrTooLarge)
	}
	body, err := boundedio.ReadAll(resp.Body, h.o.MaxBody)
	switch {
	case errors.Is(err, boundedio.ErrTooLarge):
		return nil, -1, fmt.Errorf("collateral: %s: body exceeds %d bytes: %w", rawURL, h.o.MaxBody, ErrTooLarge)
	case err != nil:
		return nil, -1, fmt.Errorf("collateral: %s: reading body: %w", rawURL, err)
	}
	return &Response{URL: rawURL, Body: body, Header: keptHeaders(resp.Header), FetchedAt: h.o.Now()}, -1, nil
}

// parseRetryAfter reads delta-seconds or an HTTP-date (RFC 9110 §10.2.3);
// -1 means absent or unusable. A date in the past means "now" (0).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return -1
	}
	return max(t.Sub(now), 0)
}

// printable keeps an error snippet on one readable line.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(b))
	return strings.TrimSpace(s)
}
