package server_test

import (
	"testing"

	"github.com/cloudra/cloudra"
	cloudrasim "github.com/cloudra/cloudra/sim"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
)

// nitroBundle is a simulated Nitro enclave's document answering nonce, as
// `cloudra collect --simulate --platform nitro` would send it, made at the
// server's clock.
func nitroBundle(t *testing.T, c *clock, n []byte, debug bool) []byte {
	t.Helper()
	nsm, err := nitrosim.New([]byte(cloudrasim.DemoSeed), c.now, nitrosim.Options{Debug: debug})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := nsm.Attest(nil, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Platform: "nitro", Nonce: n,
		Artifacts: []cloudra.Artifact{{Kind: cloudra.KindNitroDoc, Data: doc}}}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNitroChallenge: a Nitro enclave answers the server's challenge in its
// document's nonce field: the document made for the challenge passes; the
// same document under another challenge fails as binding; sent twice it is
// a replay (fresh); a debug-mode enclave fails the default policy.
func TestNitroChallenge(t *testing.T) {
	s, c := newServer(t, nil)
	h := s.Handler()
	b := nitroBundle(t, c, nonce(t, h), false)
	if r := verify(t, h, b); r.Verdict != "pass" {
		t.Fatalf("genuine: %+v", r)
	}
	wantFresh(t, verify(t, h, b))
	if r := verify(t, h, nitroBundle(t, c, nonce(t, h), true)); r.Verdict != "fail" || !hasClass(r, "policy") {
		t.Fatalf("debug enclave: %+v", r)
	}
	// The bundle's nonce names one challenge, the document answers another.
	a := nonce(t, h)
	other := nitroBundle(t, c, nonce(t, h), false)
	bundle, err := cloudra.ParseBundle(other)
	if err != nil {
		t.Fatal(err)
	}
	bundle.Nonce = a
	body, err := bundle.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if r := verify(t, h, body); r.Verdict != "fail" || !hasClass(r, "binding") {
		t.Fatalf("cross-challenge: %+v", r)
	}
}
