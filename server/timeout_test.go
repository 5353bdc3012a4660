package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/server"
	cloudrasim "github.com/cloudra/cloudra/sim"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	tdxsim "github.com/cloudra/cloudra/sim/tdx"
)

// junkTDXBundle is a simulated TD quote bound to n plus junk collateral
// aimed at its platform, the bundle just under DefaultMaxBody; col is the
// real collateral the operator would provide.
func junkTDXBundle(t *testing.T, n []byte) (body []byte, col *cloudra.Collateral) {
	t.Helper()
	p, err := tdxsim.New([]byte(cloudrasim.DemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	var rd [64]byte
	copy(rd[:], n)
	q, err := p.Quote(rd, tdxsim.QuoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	col, err = p.Collateral(t0, sgxsim.CollateralOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pki := p.Machine().PKI()
	// Base64 in the bundle's JSON: 1.4 MiB of junk fills the 2 MiB body.
	junk := dcaptest.Junk(dcaptest.JunkConfig{Now: t0, FMSPC: p.Machine().FMSPC(), TDX: true,
		RootSubject: pki.Root().RawSubject, PCKCASubject: pki.PCKCA().RawSubject, Size: 1400 << 10, Newer: true})
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Platform: "tdx", Cloud: "simulated", Nonce: n,
		Artifacts: []cloudra.Artifact{{Kind: cloudra.KindTDXQuote, Data: q}}}
	for _, c := range junk.Certificates {
		b.Collateral = append(b.Collateral, cloudra.Artifact{Kind: cloudra.KindCertificate, Name: "junk.der", Data: c.Raw})
	}
	for _, l := range junk.CRLs {
		b.Collateral = append(b.Collateral, cloudra.Artifact{Kind: cloudra.KindCRL, Name: "junk.crl", Data: l.Raw})
	}
	for _, d := range junk.Documents {
		b.Collateral = append(b.Collateral, cloudra.Artifact{Kind: cloudra.KindPCSJSON, Name: "junk.json", Data: d.Raw})
	}
	body, err = b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > server.DefaultMaxBody {
		t.Fatalf("bundle is %d bytes, over the body limit", len(body))
	}
	return body, col
}

func verifyWith(t *testing.T, h http.Handler, ctx context.Context, body []byte) (int, server.Problem, time.Duration) {
	t.Helper()
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/verify", bytes.NewReader(body)).WithContext(ctx))
	took := time.Since(start)
	var e server.Problem
	if rec.Code != http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
		}
	}
	return rec.Code, e, took
}

// A verification runs under Config.VerifyTimeout: past it, the work stops
// (the DCAP engine checks its context between stages and collateral
// candidates) and the answer is 503, promptly, even for a body-limit-sized
// bundle of junk collateral. With the default timeout the same bundle is
// decided (the junk crowds out nothing the operator provided).
func TestServerStopsVerificationOnTimeout(t *testing.T) {
	s, _ := newServer(t, func(c *server.Config) { c.VerifyTimeout = time.Nanosecond })
	h := s.Handler()
	body, _ := junkTDXBundle(t, nonce(t, h))
	code, e, took := verifyWith(t, h, context.Background(), body)
	if code != http.StatusServiceUnavailable || !strings.Contains(e.Detail, "deadline exceeded") || e.Type != server.ProblemTypePrefix+"verification-stopped" {
		t.Fatalf("%d %q, want 503 naming the deadline", code, e.Detail)
	}
	if took > 10*time.Second {
		t.Errorf("the handler took %s", took)
	}
}

// A client that leaves stops its verification: the handler returns without
// a verdict instead of working on for nobody.
func TestServerStopsVerificationWhenClientLeaves(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	body, _ := junkTDXBundle(t, nonce(t, h))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, e, took := verifyWith(t, h, ctx, body)
	if code != http.StatusServiceUnavailable || !strings.Contains(e.Detail, "client left") {
		t.Fatalf("%d %q, want 503: the client left", code, e.Detail)
	}
	if took > 10*time.Second {
		t.Errorf("the handler took %s", took)
	}
}

// With the default timeout the junk bundle is decided: the operator's
// collateral comes first, and the bundle's junk (which reads as newer, so it
// crowds the operator's out of the candidates tried) fails the collateral
// steps with class collateral, after bounded work.
func TestServerDecidesJunkBundle(t *testing.T) {
	_, col := junkTDXBundle(t, make([]byte, server.NonceSize))
	s, _ := newServer(t, func(c *server.Config) { c.Collateral = col })
	h := s.Handler()
	body, _ := junkTDXBundle(t, nonce(t, h))
	start := time.Now()
	r := verify(t, h, body)
	if r.Verdict != "fail" || !hasClass(r, "collateral") {
		t.Fatalf("want fail/collateral, got %+v", r)
	}
	t.Logf("decided in %s", time.Since(start))
}
