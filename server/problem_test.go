package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/server"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// TestServerErrorsAreProblemJSON: every error answer, the mux's own 404
// and 405 included, is an RFC 9457 problem details object with a stable
// type URI, and a 405 keeps its Allow header.
func TestServerErrorsAreProblemJSON(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	big := append([]byte(`{"schema":"cloudra.evidence/v1","artifacts":[],"pad":"`), bytes.Repeat([]byte("a"), 3<<20)...)
	unverifiable, _ := (&cloudra.Bundle{Nonce: nonce(t, h), Artifacts: []cloudra.Artifact{{Kind: "unknown/kind", Data: []byte{1}}}}).Marshal()
	offline := snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, false)

	sFetch, _ := newServer(t, func(c *server.Config) { c.Fetcher = &fetcher{err: errors.New("test: 503 from upstream")} })
	hFetch := sFetch.Handler()
	fetchFails := snpBundle(t, nonce(t, hFetch), snpsim.ReportOptions{}, false)

	sFull, _ := newServer(t, func(c *server.Config) { c.MaxNonces = 1 })
	hFull := sFull.Handler()
	nonce(t, hFull)

	cases := []struct {
		name         string
		h            http.Handler
		method, path string
		body         []byte
		status       int
		kind         string
		allow        string
		missing      bool
	}{
		{"unknown path", h, http.MethodGet, "/v1/nope", nil, 404, "not-found", "", false},
		{"root", h, http.MethodPost, "/", nil, 404, "not-found", "", false},
		{"GET verify", h, http.MethodGet, "/v1/verify", nil, 405, "method-not-allowed", "POST", false},
		{"DELETE healthz", h, http.MethodDelete, "/healthz", nil, 405, "method-not-allowed", "GET, HEAD", false},
		{"too large", h, http.MethodPost, "/v1/verify", big, 413, "body-too-large", "", false},
		{"not a bundle", h, http.MethodPost, "/v1/verify", []byte("not json"), 400, "malformed-evidence", "", false},
		{"nothing verifiable", h, http.MethodPost, "/v1/verify", unverifiable, 422, "undecidable", "", false},
		{"missing collateral", h, http.MethodPost, "/v1/verify", offline, 422, "missing-collateral", "", true},
		{"fetch fails", hFetch, http.MethodPost, "/v1/verify", fetchFails, 503, "collateral-unavailable", "", true},
		{"too many nonces", hFull, http.MethodPost, "/v1/nonce", nil, 503, "too-many-challenges", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, bytes.NewReader(c.body)))
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if c.allow != "" && rec.Header().Get("Allow") != c.allow {
				t.Errorf("Allow %q, want %q", rec.Header().Get("Allow"), c.allow)
			}
			var raw map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			for _, m := range []string{"type", "title", "status", "detail"} {
				if _, ok := raw[m]; !ok {
					t.Errorf("member %q missing: %s", m, rec.Body)
				}
			}
			var p server.Problem
			json.Unmarshal(rec.Body.Bytes(), &p)
			if p.Type != server.ProblemTypePrefix+c.kind || p.Status != c.status || p.Title == "" || p.Detail == "" {
				t.Errorf("problem %+v, want type %s%s status %d", p, server.ProblemTypePrefix, c.kind, c.status)
			}
			if c.missing != (len(p.Missing) > 0) {
				t.Errorf("missing member: %+v", p.Missing)
			}
			if strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("old error member: %s", rec.Body)
			}
		})
	}
}
