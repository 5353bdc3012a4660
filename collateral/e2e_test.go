package collateral

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// fakeUpstream mimics AMD KDS (spec #57230) and Intel PCS v4 (Intel PCS API v4) on
// loopback, serving real vector files: DER VCEK, PEM ASK+ARK, TCB Info
// and QE Identity with URL-encoded issuer-chain headers, a DER PCK CRL.
// The first request to each path is rate-limited once.
func fakeUpstream(t *testing.T) (*upstream, map[string][]byte) {
	t.Helper()
	v := vectortest.Dir(t)
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(v, rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dc := "tdx/dcapqvl-v4-uptodate/collateral/"
	files := map[string][]byte{
		"vcek":      read("snp/gosevguest-milan-v2-vcek/vcek.der"),
		"chain":     read("snp/gosevguest-milan-v2-vcek/ask_ark_milan.pem"),
		"tcb":       read(dc + "tcb_info.json"),
		"tcbchain":  read(dc + "tcb_info_issuer_chain.pem"),
		"qe":        read(dc + "qe_identity.json"),
		"qechain":   read(dc + "qe_identity_issuer_chain.pem"),
		"pckcrl":    read(dc + "pck_crl.der"),
		"crlchain":  read(dc + "pck_crl_issuer_chain.pem"),
		"rootcrl":   read(dc + "root_ca_crl.der"),
		"unrelated": []byte("<html>not collateral</html>"),
	}
	u := &upstream{seen: map[string]bool{}}
	mux := http.NewServeMux()
	serve := func(body []byte, header, chain string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			u.hits.Add(1)
			if u.first(r.URL.Path) {
				w.Header().Set("Retry-After", "20")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			if header != "" {
				w.Header().Set(header, url.QueryEscape(string(files[chain])))
			}
			w.Write(body)
		}
	}
	mux.HandleFunc("/vcek/v1/Milan/cert_chain", serve(files["chain"], "", ""))
	mux.HandleFunc("/vcek/v1/Milan/{hwid}", serve(files["vcek"], "", ""))
	mux.HandleFunc("/tdx/certification/v4/tcb", serve(files["tcb"], "TCB-Info-Issuer-Chain", "tcbchain"))
	mux.HandleFunc("/tdx/certification/v4/qe/identity", serve(files["qe"], "SGX-Enclave-Identity-Issuer-Chain", "qechain"))
	mux.HandleFunc("/sgx/certification/v4/pckcrl", serve(files["pckcrl"], "SGX-PCK-CRL-Issuer-Chain", "crlchain"))
	mux.HandleFunc("/IntelSGXRootCA.der", serve(files["rootcrl"], "", ""))
	mux.HandleFunc("/sgx/certification/v4/rootcacrl", serve([]byte(hex.EncodeToString(files["rootcrl"])), "", "")) // PCCS: hex
	mux.HandleFunc("/html", serve(files["unrelated"], "", ""))
	u.URL = start(t, mux).URL
	return u, files
}

type upstream struct {
	URL  string
	hits atomic.Int32
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether this is the first request for path p.
func (u *upstream) first(p string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	f := !u.seen[p]
	u.seen[p] = true
	return f
}

// TestFetchClassifyWriteLoad runs the CLI's flow: fetch every missing item
// through the cache (riding out one 429 each), classify the responses, write
// the folder, read it back offline.
func TestFetchClassifyWriteLoad(t *testing.T) {
	up, files := fakeUpstream(t)
	ts := up.URL

	clk := newFakeClock()
	cache := newCacheT(t, clk, CacheOptions{TTLFor: SuggestedTTL})
	var events []string
	f := Cached(NewHTTP(HTTPOptions{Now: clk.Now, Sleep: clk.Sleep, Progress: func(e string) { events = append(events, e) }}), cache)
	missing := &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{
		{What: "VCEK", URL: ts + "/vcek/v1/Milan/3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"},
		{What: "ASK+ARK", URL: ts + "/vcek/v1/Milan/cert_chain"},
		{What: "TCB Info", URL: ts + "/tdx/certification/v4/tcb?fmspc=00806F050000"},
		{What: "QE Identity", URL: ts + "/tdx/certification/v4/qe/identity"},
		{What: "PCK CRL", URL: ts + "/sgx/certification/v4/pckcrl?ca=platform&encoding=der"},
		{What: "root CA CRL", URL: ts + "/IntelSGXRootCA.der"},
		{What: "root CA CRL via PCCS", URL: ts + "/sgx/certification/v4/rootcacrl"},
	}}
	col := &cloudra.Collateral{}
	for _, it := range missing.Items {
		r, err := f.Fetch(context.Background(), it.URL)
		if err != nil {
			t.Fatalf("%s: %v", it.What, err)
		}
		got, err := ClassifyResponse(r)
		if err != nil {
			t.Fatalf("%s: %v", it.What, err)
		}
		col.Merge(got)
	}
	if n := up.hits.Load(); n != 14 {
		t.Errorf("%d upstream hits, want 14 (one 429 and one answer per item)", n)
	}
	if got := len(clk.Waits()); got != 7 {
		t.Errorf("%d waits, want 7", got)
	}
	if !strings.Contains(strings.Join(events, "\n"), "in 20s (HTTP 429)") {
		t.Errorf("no retry event in %q", events)
	}
	// VCEK + ASK + ARK + TCB signing + PCK platform CA + Intel root = 6;
	// the hex root CA CRL from the PCCS is the same CRL as the DER one.
	if len(col.Certificates) != 6 || len(col.CRLs) != 2 || len(col.Documents) != 2 {
		t.Fatalf("classified %d certs, %d CRLs, %d documents", len(col.Certificates), len(col.CRLs), len(col.Documents))
	}
	for _, d := range col.Documents {
		want := map[string]string{KindTCBInfo: "tcbchain", KindQEIdentity: "qechain"}[d.Kind]
		if string(d.IssuerChain) != string(files[want]) {
			t.Errorf("%s: issuer chain not taken from its header", d.Kind)
		}
	}

	// The folder written by `cloudra collateral fetch` reads back equal.
	dir := t.TempDir()
	if _, err := WriteDir(dir, col); err != nil {
		t.Fatal(err)
	}
	back, skipped, err := LoadDir(dir)
	if err != nil || len(skipped) != 0 || summary(back) != summary(col) {
		t.Fatalf("reload: %v %v\n%s\nvs\n%s", err, skipped, summary(back), summary(col))
	}

	// A year later, offline: everything is still served, nothing dials.
	clk.Advance(365 * 24 * time.Hour)
	hits := up.hits.Load()
	off := Offline(cache)
	for _, it := range missing.Items {
		if _, err := off.Fetch(context.Background(), it.URL); err != nil {
			t.Errorf("offline %s: %v", it.What, err)
		}
	}
	if _, err := off.Fetch(context.Background(), ts+"/html"); !errors.Is(err, ErrOffline) {
		t.Errorf("uncached offline: %v", err)
	}
	if up.hits.Load() != hits {
		t.Error("offline fetcher reached the server")
	}

	// Non-collateral answers are refused by ClassifyResponse.
	r, err := f.Fetch(context.Background(), ts+"/html")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClassifyResponse(r); !errors.Is(err, ErrUnrecognized) {
		t.Errorf("html classified: %v", err)
	}
}
