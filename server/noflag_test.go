package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/server"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// TestResponsesNameNoFlag: no answer of the server, for any of the errors
// that leave no decision or for a rejection, names a command-line flag:
// the library's errors carry none, and the hints naming flags are the
// CLI's.
func TestResponsesNameNoFlag(t *testing.T) {
	offline, _ := newServer(t, func(c *server.Config) { c.Fetcher = collateral.Offline(nil) })
	plain, _ := newServer(t, nil)
	attest := cloudra.Artifact{Kind: cloudra.KindTPMAttest, Data: []byte{0xff, 'T', 'C', 'G', 0x80, 0x18}}
	for _, c := range []struct {
		name   string
		s      *server.Server
		status int
		bundle func(h http.Handler) []byte
	}{
		{"missing collateral, offline fetcher", offline, http.StatusUnprocessableEntity, func(h http.Handler) []byte {
			return snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, false)
		}},
		{"missing collateral, no fetcher", plain, http.StatusUnprocessableEntity, func(h http.Handler) []byte {
			return snpBundle(t, nonce(t, h), snpsim.ReportOptions{}, false)
		}},
		{"unknown artifact", plain, http.StatusUnprocessableEntity, func(h http.Handler) []byte {
			return bundle(t, nonce(t, h), cloudra.Artifact{Kind: "unknown/kind", Data: []byte{1}})
		}},
		{"ambiguous bundle", plain, http.StatusUnprocessableEntity, func(h http.Handler) []byte {
			return bundle(t, nonce(t, h), attest, attest,
				cloudra.Artifact{Kind: cloudra.KindTPMSig, Data: []byte{1}}, cloudra.Artifact{Kind: cloudra.KindTPMAKPub, Data: []byte{1}})
		}},
		{"incomplete evidence", plain, http.StatusUnprocessableEntity, func(h http.Handler) []byte {
			return bundle(t, nonce(t, h), attest)
		}},
		{"malformed bundle", plain, http.StatusBadRequest, func(http.Handler) []byte { return []byte(`{"schema":"cloudra.evidence/v1","x":1}`) }},
		{"rejected evidence", plain, http.StatusOK, func(h http.Handler) []byte {
			return snpBundle(t, nonce(t, h), snpsim.ReportOptions{Debug: true}, true)
		}},
	} {
		h := c.s.Handler()
		code, out := do(t, h, http.MethodPost, "/v1/verify", c.bundle(h))
		if code != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, code, c.status, out)
		}
		if bytes.Contains(out, []byte("--")) || bytes.Contains(out, []byte("cloudra collect")) {
			t.Errorf("%s: the answer names a flag or command: %s", c.name, out)
		}
	}
}

func bundle(t *testing.T, n []byte, arts ...cloudra.Artifact) []byte {
	t.Helper()
	b, err := (&cloudra.Bundle{Nonce: n, Artifacts: arts}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
