// Package server is cloudra's verification service: an [http.Handler] that
// issues single-use challenges and verifies evidence bundles bound to them.
//
// # API
//
//	POST /v1/nonce   → 200 {"nonce": "<64 hex digits>", "expires": "<RFC 3339>"}
//	POST /v1/verify  body: a cloudra.evidence/v1 bundle whose "nonce" is one
//	                 this server issued → 200 with the cloudra.result/v1 document
//	GET  /healthz    → 200 "ok"
//
// A verify request consumes its nonce on first use, whatever the verdict.
// An unknown, expired or already used nonce gives HTTP 200 with a rejected
// result whose failed check "nonce.fresh" has class fresh: the request was
// well-formed, the evidence is stale (pitfalls H2). The nonce is the
// expected REPORT_DATA (zero-padded to 64 bytes) and the TPM quote nonce.
//
// Status codes of /v1/verify: 200 for pass and fail verdicts; 400 for a body
// that is not an evidence bundle; 413 for a body over MaxBody; 422 when no
// decision is possible from what the server has (collateral missing and no
// fetcher, nothing verifiable); 503 when fetching missing collateral failed,
// too many challenges are outstanding, or a verification ran past
// VerifyTimeout (or the client left: the work stops then, nobody reads the
// answer). Errors are JSON: {"error": "…"},
// plus "missing" (what and where) for missing collateral.
//
// The policy is fixed when the server starts: no endpoint changes it, so
// there is no administrative surface to protect (pitfalls H3).
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/policy"
)

// Defaults for [Config].
const (
	// DefaultNonceTTL is how long a challenge stays usable (Veraison's
	// challenge TTL; pitfalls H2).
	DefaultNonceTTL = 2*time.Minute + 30*time.Second
	// DefaultMaxBody bounds a verify request body (KBS's
	// payload_request_size; pitfalls H4).
	DefaultMaxBody = 2 << 20
	// DefaultMaxNonces bounds the outstanding challenges kept in memory.
	DefaultMaxNonces = 100_000
	// NonceSize is the size of an issued nonce in bytes (pitfalls H1).
	NonceSize = 32
	// maxFetchRounds bounds verify/fetch rounds, as the CLI does.
	maxFetchRounds = 3
	// DefaultVerifyTimeout bounds one verification of a request. A cold
	// verification costs milliseconds and the collateral search is capped
	// (docs/collateral.md), so five seconds is only reached by a machine in
	// trouble; it stays well under the HTTP server's write timeout (60 s in
	// `cloudra serve`), after which the answer could not be sent anyway.
	DefaultVerifyTimeout = 5 * time.Second
)

// Config configures a [Server].
type Config struct {
	// Verifiers verifies evidence; required.
	Verifiers *platform.Verifiers
	// Policy is the appraisal policy, loaded at start and never changed by
	// any endpoint; nil means the default policy.
	Policy *policy.Policy
	// Collateral is what the operator provided (--collateral folders); it
	// is only read.
	Collateral *cloudra.Collateral
	// Fetcher fetches missing collateral; nil means offline: missing
	// collateral gives 422 and the server never dials.
	Fetcher collateral.Fetcher
	// Now is the clock for verification and nonce expiry; nil means time.Now.
	Now func() time.Time
	// NonceTTL is how long an issued nonce stays usable (default
	// DefaultNonceTTL).
	NonceTTL time.Duration
	// MaxBody bounds a verify request body in bytes (default DefaultMaxBody).
	MaxBody int64
	// MaxNonces bounds outstanding nonces (default DefaultMaxNonces).
	MaxNonces int
	// AllowTestRoots also trusts cloudra's simulator roots (never in
	// production).
	AllowTestRoots bool
	// VerifyTimeout bounds each verification of a request (default
	// DefaultVerifyTimeout). It runs under a context derived from the
	// request's, so a client that leaves stops it too. Fetching missing
	// collateral is bounded by the fetcher's own timeouts and by the
	// request's context, not by VerifyTimeout.
	VerifyTimeout time.Duration
}

// Server is the verification service. It is safe for concurrent use.
type Server struct {
	cfg Config

	mu     sync.Mutex
	nonces map[string]time.Time // hex nonce → expiry
}

// New checks cfg, fills in defaults and returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.Verifiers == nil {
		return nil, errors.New("server: Config.Verifiers is required")
	}
	if cfg.Policy == nil {
		cfg.Policy = policy.Default()
	}
	if cfg.Collateral == nil {
		cfg.Collateral = &cloudra.Collateral{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NonceTTL <= 0 {
		cfg.NonceTTL = DefaultNonceTTL
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxNonces <= 0 {
		cfg.MaxNonces = DefaultMaxNonces
	}
	if cfg.VerifyTimeout <= 0 {
		cfg.VerifyTimeout = DefaultVerifyTimeout
	}
	return &Server{cfg: cfg, nonces: make(map[string]time.Time)}, nil
}

// Handler returns the HTTP handler serving the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/nonce", s.handleNonce)
	mux.HandleFunc("POST /v1/verify", s.handleVerify)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return mux
}

// NonceResponse is the body of POST /v1/nonce.
type NonceResponse struct {
	Nonce   string    `json:"nonce"`
	Expires time.Time `json:"expires"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Error   string        `json:"error"`
	Missing []MissingItem `json:"missing,omitempty"`
}

// MissingItem names one item of collateral the server lacked.
type MissingItem struct {
	What string `json:"what"`
	URL  string `json:"url"`
}

var errTooManyNonces = errors.New("server: too many outstanding challenges; retry later")

// issue creates and records a fresh nonce.
func (s *Server) issue() (string, time.Time, error) {
	var b [NonceSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("server: reading random bytes: %w", err)
	}
	now := s.cfg.Now()
	exp := now.Add(s.cfg.NonceTTL)
	n := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.nonces) >= s.cfg.MaxNonces {
		for k, e := range s.nonces {
			if !now.Before(e) {
				delete(s.nonces, k)
			}
		}
		// When still full, refuse rather than evict: evicting would let
		// a client flush other clients' live challenges.
		if len(s.nonces) >= s.cfg.MaxNonces {
			return "", time.Time{}, errTooManyNonces
		}
	}
	s.nonces[n] = exp
	return n, exp, nil
}

// consume removes nonce and reports whether it was issued here and is live.
// It is removed in every case: a nonce is good for one attempt only.
func (s *Server) consume(nonce []byte) (ok bool, why string) {
	if len(nonce) != NonceSize {
		return false, fmt.Sprintf("nonce is %d bytes; this server issues %d-byte nonces (POST /v1/nonce)", len(nonce), NonceSize)
	}
	k := hex.EncodeToString(nonce)
	now := s.cfg.Now()
	s.mu.Lock()
	exp, found := s.nonces[k]
	delete(s.nonces, k)
	s.mu.Unlock()
	switch {
	case !found:
		return false, "nonce unknown or already used (get a fresh one: POST /v1/nonce)"
	case !now.Before(exp):
		return false, fmt.Sprintf("nonce expired at %s", exp.UTC().Format(time.RFC3339))
	}
	return true, ""
}

func (s *Server) handleNonce(w http.ResponseWriter, _ *http.Request) {
	n, exp, err := s.issue()
	if err != nil {
		if errors.Is(err, errTooManyNonces) {
			w.Header().Set("Retry-After", "5")
		}
		writeError(w, http.StatusServiceUnavailable, err, nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, NonceResponse{Nonce: n, Expires: exp.UTC().Truncate(time.Second)})
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("server: body larger than %d bytes", s.cfg.MaxBody), nil)
			return
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("server: reading body: %w", err), nil)
		return
	}
	bundle, err := cloudra.ParseBundle(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("server: %w (hint: send a %s bundle)", err, cloudra.EvidenceSchema), nil)
		return
	}
	if ok, why := s.consume(bundle.Nonce); !ok {
		res := &cloudra.Result{Platform: bundle.Platform, Cloud: bundle.Cloud}
		res.Failf("nonce.fresh", cloudra.ClassFresh, "%s", why)
		writeResult(w, res.Finish())
		return
	}
	// The nonce binds the evidence: expected REPORT_DATA on a copy of the
	// policy (SetReportData replaces, never writes, the shared sections),
	// and the bundle's nonce is the TPM quote's qualifying data.
	pol := *s.cfg.Policy
	platform.SetReportData(&pol, bundle.Nonce)
	col := &cloudra.Collateral{}
	col.Merge(s.cfg.Collateral)
	in := platform.Input{Bundle: bundle, Collateral: col, Policy: &pol,
		Options: cloudra.Options{Time: s.cfg.Now().UTC(), AllowTestRoots: s.cfg.AllowTestRoots}}
	res, status, eresp := s.verifyFetching(r.Context(), in)
	if eresp != nil {
		writeJSON(w, status, eresp)
		return
	}
	writeResult(w, res)
}

// verifyFetching verifies and, while the verifiers name missing collateral
// and a fetcher is configured, fetches it and verifies again (as `cloudra
// verify` does). in.Collateral must be the request's own set.
func (s *Server) verifyFetching(ctx context.Context, in platform.Input) (*cloudra.Result, int, *ErrorResponse) {
	for round := 0; ; round++ {
		vctx, cancel := context.WithTimeout(ctx, s.cfg.VerifyTimeout)
		res, err := s.cfg.Verifiers.Verify(vctx, in)
		cancel()
		if err == nil {
			return res, http.StatusOK, nil
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			why := fmt.Sprintf("server: verification stopped after %s: %v", s.cfg.VerifyTimeout, err)
			if ctx.Err() != nil {
				why = fmt.Sprintf("server: verification stopped, the client left: %v", err)
			}
			return nil, http.StatusServiceUnavailable, &ErrorResponse{Error: why}
		}
		var miss *cloudra.MissingCollateralError
		if !errors.As(err, &miss) {
			return nil, http.StatusUnprocessableEntity, &ErrorResponse{Error: "server: cannot decide: " + err.Error()}
		}
		missing := make([]MissingItem, 0, len(miss.Items))
		for _, it := range miss.Items {
			missing = append(missing, MissingItem{What: it.What, URL: it.URL})
		}
		if s.cfg.Fetcher == nil || round >= maxFetchRounds {
			return nil, http.StatusUnprocessableEntity, &ErrorResponse{Error: "server: cannot decide: " + err.Error(), Missing: missing}
		}
		// Items may be alternatives (a v2 report's VCEK under each product
		// line): go on when at least one arrived.
		c, got, errs := collateral.FetchRefs(ctx, s.cfg.Fetcher, miss.Items, nil, nil)
		in.Collateral.Merge(c)
		if got == 0 {
			status := http.StatusServiceUnavailable
			if errors.Is(errors.Join(errs...), collateral.ErrOffline) {
				status = http.StatusUnprocessableEntity
			}
			return nil, status, &ErrorResponse{Error: fmt.Sprintf("server: fetching collateral: %v", errors.Join(errs...)), Missing: missing}
		}
	}
}

func writeResult(w http.ResponseWriter, res *cloudra.Result) {
	writeJSON(w, http.StatusOK, cloudra.Report{Result: res})
}

func writeError(w http.ResponseWriter, status int, err error, missing []MissingItem) {
	writeJSON(w, status, &ErrorResponse{Error: err.Error(), Missing: missing})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(&ErrorResponse{Error: "server: encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
