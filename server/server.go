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
// well-formed, the evidence is stale (docs/pitfalls-server.md H2). The bundle's "nonce"
// only names which issued challenge it answers; once consumed, that
// challenge (never the bundle's word) is what the evidence must carry, as
// each platform binds one (platform.Input.Challenge): the REPORT_DATA,
// zero-padded to 64 bytes, of an SNP report, TD or SGX quote; a TPM quote's
// extraData; an Azure CVM's vTPM quote extraData or user-data echo.
//
// Status codes of /v1/verify: 200 for pass and fail verdicts; 400 for a body
// that is not an evidence bundle; 413 for a body over MaxBody; 422 when no
// decision is possible from what the server has (collateral missing and no
// fetcher, nothing verifiable); 503 when fetching missing collateral failed,
// too many challenges are outstanding, or a verification ran past
// VerifyTimeout (or the client left: the work stops then, nobody reads the
// answer). An unknown path is 404 and a
// known path with another method 405 (with Allow).
//
// # Errors
//
// Every error answer, 404 and 405 included, is an RFC 9457 problem details
// object, Content-Type application/problem+json, with the members type,
// title, status and detail (§3.1), plus the extension member "missing"
// (what and where) for missing collateral (§3.2). The type URIs are tag
// URIs (RFC 4151), which RFC 9457 §3.1.1 allows for types that need not
// be dereferenced; they are stable, and clients branch on them, not on
// title or detail:
//
//	tag:cloudra,2026:problem/not-found              404 no such endpoint
//	tag:cloudra,2026:problem/method-not-allowed     405 see the Allow header
//	tag:cloudra,2026:problem/unreadable-body        400 the body could not be read
//	tag:cloudra,2026:problem/malformed-evidence     400 the body is not a cloudra.evidence/v1 bundle
//	tag:cloudra,2026:problem/body-too-large         413 the body is over MaxBody
//	tag:cloudra,2026:problem/undecidable            422 nothing verifiable, or the evidence cannot be decided
//	tag:cloudra,2026:problem/missing-collateral     422 collateral missing and no fetcher (see "missing")
//	tag:cloudra,2026:problem/collateral-unavailable 503 fetching the missing collateral failed (see "missing")
//	tag:cloudra,2026:problem/too-many-challenges    503 too many outstanding nonces (see Retry-After)
//	tag:cloudra,2026:problem/verification-stopped   503 the verification ran past VerifyTimeout, or the client left
//	tag:cloudra,2026:problem/internal               500 the server failed (random source, encoding)
//
// The policy is fixed when the server starts: no endpoint changes it, so
// there is no administrative surface to protect (docs/pitfalls-server.md H3).
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
	// challenge TTL; docs/pitfalls-server.md H2).
	DefaultNonceTTL = 2*time.Minute + 30*time.Second
	// DefaultMaxBody bounds a verify request body (KBS's
	// payload_request_size; docs/pitfalls-server.md H4).
	DefaultMaxBody = 2 << 20
	// DefaultMaxNonces bounds the outstanding challenges kept in memory.
	DefaultMaxNonces = 100_000
	// NonceSize is the size of an issued nonce in bytes (docs/pitfalls-server.md H1).
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
	return problemMux{mux}
}

// problemMux answers what the ServeMux itself would answer with a plain
// text 404 or 405 as problem details instead, keeping the Allow header the
// mux computes for a 405 (RFC 9110 §15.5.6 requires it).
type problemMux struct{ mux *http.ServeMux }

func (p problemMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A matched pattern (redirects to a cleaned path included) is served as
	// the mux serves it; an empty one is its 404 or 405.
	h, pattern := p.mux.Handler(r)
	if pattern != "" {
		p.mux.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeProblem(w, http.StatusMethodNotAllowed, probMethod,
			fmt.Sprintf("%s is not served on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow")), nil)
		return
	}
	writeProblem(w, http.StatusNotFound, probNotFound, fmt.Sprintf("no endpoint %s (see POST /v1/nonce, POST /v1/verify, GET /healthz)", r.URL.Path), nil)
}

// statusRecorder keeps the status and headers the mux's own 404/405
// handler writes, and drops its plain-text body.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *statusRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(b), nil
}

// NonceResponse is the body of POST /v1/nonce.
type NonceResponse struct {
	Nonce   string    `json:"nonce"`
	Expires time.Time `json:"expires"`
}

// Problem is the body of every error answer: an RFC 9457 problem details
// object (application/problem+json). Type is one of the stable tag URIs
// listed in the package documentation.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Missing is an extension member (RFC 9457 §3.2): the collateral the
	// server lacked, for missing-collateral and collateral-unavailable.
	Missing []MissingItem `json:"missing,omitempty"`
}

// ProblemTypePrefix starts every Problem.Type.
const ProblemTypePrefix = "tag:cloudra,2026:problem/"

// problemKind is one kind of error answer: its type URI suffix and title.
type problemKind struct{ slug, title string }

var (
	probNotFound      = problemKind{"not-found", "No such endpoint"}
	probMethod        = problemKind{"method-not-allowed", "Method not allowed"}
	probUnreadable    = problemKind{"unreadable-body", "Request body could not be read"}
	probMalformed     = problemKind{"malformed-evidence", "Body is not an evidence bundle"}
	probTooLarge      = problemKind{"body-too-large", "Request body too large"}
	probUndecidable   = problemKind{"undecidable", "Cannot decide"}
	probMissing       = problemKind{"missing-collateral", "Collateral missing"}
	probUnavailable   = problemKind{"collateral-unavailable", "Collateral could not be fetched"}
	probTooManyNonces = problemKind{"too-many-challenges", "Too many outstanding challenges"}
	probStopped       = problemKind{"verification-stopped", "Verification stopped"}
	probInternal      = problemKind{"internal", "Internal server error"}
)

func newProblem(status int, k problemKind, detail string, missing []MissingItem) *Problem {
	return &Problem{Type: ProblemTypePrefix + k.slug, Title: k.title, Status: status, Detail: detail, Missing: missing}
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
			writeProblem(w, http.StatusServiceUnavailable, probTooManyNonces, err.Error(), nil)
			return
		}
		writeProblem(w, http.StatusInternalServerError, probInternal, err.Error(), nil)
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
			writeProblem(w, http.StatusRequestEntityTooLarge, probTooLarge, fmt.Sprintf("server: body larger than %d bytes", s.cfg.MaxBody), nil)
			return
		}
		writeProblem(w, http.StatusBadRequest, probUnreadable, fmt.Sprintf("server: reading body: %v", err), nil)
		return
	}
	bundle, err := cloudra.ParseBundle(body)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, probMalformed, fmt.Sprintf("server: %v (hint: send a %s bundle)", err, cloudra.EvidenceSchema), nil)
		return
	}
	if ok, why := s.consume(bundle.Nonce); !ok {
		res := &cloudra.Result{Platform: "unknown"}
		if bundle.Platform != "" || bundle.Cloud != "" {
			res.Claimed = &cloudra.Claimed{Platform: bundle.Platform, Cloud: bundle.Cloud}
		}
		res.Failf("nonce.fresh", cloudra.ClassFresh, "%s", why)
		writeResult(w, res.Finish())
		return
	}
	// The nonce was issued here and is now consumed: it is the challenge
	// the evidence must answer, as each platform binds one (REPORT_DATA,
	// a TPM quote's extraData, an Azure CVM's vTPM quote or user-data).
	col := &cloudra.Collateral{}
	col.Merge(s.cfg.Collateral)
	in := platform.Input{Bundle: bundle, Collateral: col, Policy: s.cfg.Policy, Challenge: bundle.Nonce,
		Options: cloudra.Options{Time: s.cfg.Now().UTC(), AllowTestRoots: s.cfg.AllowTestRoots}}
	res, prob := s.verifyFetching(r.Context(), in)
	if prob != nil {
		writeJSONAs(w, prob.Status, "application/problem+json", prob)
		return
	}
	writeResult(w, res)
}

// verifyFetching verifies and, while the verifiers name missing collateral
// and a fetcher is configured, fetches it and verifies again (the loop
// `cloudra verify` uses, platform.Verifiers.VerifyFetching), each
// verification bounded by VerifyTimeout.
func (s *Server) verifyFetching(ctx context.Context, in platform.Input) (*cloudra.Result, *Problem) {
	res, err := s.cfg.Verifiers.VerifyFetching(ctx, in, s.cfg.Fetcher,
		platform.FetchOptions{MaxRounds: maxFetchRounds, VerifyTimeout: s.cfg.VerifyTimeout})
	// A rejection is a verdict, answered with the result like a pass.
	if err == nil || errors.Is(err, cloudra.ErrRejected) && res != nil {
		return res, nil
	}
	var miss *cloudra.MissingCollateralError
	var fe *platform.FetchError
	switch {
	case errors.As(err, &fe):
		errors.As(fe.Verify, &miss)
		detail := "server: " + fe.Error()
		if fe.Offline() {
			return nil, newProblem(http.StatusUnprocessableEntity, probMissing, detail, missingItems(miss))
		}
		return nil, newProblem(http.StatusServiceUnavailable, probUnavailable, detail, missingItems(miss))
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		why := fmt.Sprintf("server: verification stopped after %s: %v", s.cfg.VerifyTimeout, err)
		if ctx.Err() != nil {
			why = fmt.Sprintf("server: verification stopped, the client left: %v", err)
		}
		return nil, newProblem(http.StatusServiceUnavailable, probStopped, why, nil)
	case errors.As(err, &miss):
		return nil, newProblem(http.StatusUnprocessableEntity, probMissing, "server: cannot decide: "+err.Error(), missingItems(miss))
	}
	return nil, newProblem(http.StatusUnprocessableEntity, probUndecidable, "server: cannot decide: "+err.Error(), nil)
}

// missingItems lists what miss names, for the problem document.
func missingItems(miss *cloudra.MissingCollateralError) []MissingItem {
	if miss == nil {
		return nil
	}
	out := make([]MissingItem, 0, len(miss.Items))
	for _, it := range miss.Items {
		out = append(out, MissingItem{What: it.What, URL: it.URL})
	}
	return out
}

func writeResult(w http.ResponseWriter, res *cloudra.Result) {
	writeJSON(w, http.StatusOK, cloudra.Report{Result: res})
}

func writeProblem(w http.ResponseWriter, status int, k problemKind, detail string, missing []MissingItem) {
	writeJSONAs(w, status, "application/problem+json", newProblem(status, k, detail, missing))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, status, "application/json", v)
}

func writeJSONAs(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		b, _ = json.Marshal(newProblem(status, probInternal, "server: encoding response: "+err.Error(), nil))
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
