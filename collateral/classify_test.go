package collateral

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

func dirs(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(vectortest.Dir(t), pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no vectors match %s", pattern)
	}
	return m
}

func TestLoadDirDCAPVectors(t *testing.T) {
	for _, d := range append(dirs(t, "tdx/*/collateral"), dirs(t, "sgx/*/collateral")...) {
		t.Run(filepath.Base(filepath.Dir(d)), func(t *testing.T) {
			col, skipped, err := LoadDir(d)
			if err != nil {
				t.Fatal(err)
			}
			if len(skipped) != 0 {
				t.Errorf("skipped %v", skipped)
			}
			if len(col.CRLs) != 2 {
				t.Errorf("%d CRLs, want 2 (PCK CRL, root CA CRL)", len(col.CRLs))
			}
			if len(col.Certificates) < 3 {
				t.Errorf("%d certificates, want ≥ 3 (TCB signing, PCK CA, root)", len(col.Certificates))
			}
			kinds := map[string]cloudra.Document{}
			for _, doc := range col.Documents {
				kinds[doc.Kind] = doc
			}
			for _, k := range []string{KindTCBInfo, KindQEIdentity} {
				doc, ok := kinds[k]
				if !ok {
					t.Errorf("no %s document", k)
					continue
				}
				if len(doc.IssuerChain) == 0 {
					t.Errorf("%s: issuer chain not paired", k)
				}
				if !strings.HasPrefix(filepath.Base(doc.Source), strings.ReplaceAll(k, "-", "_")) {
					t.Errorf("%s sourced from %s", k, doc.Source)
				}
			}
			checkSources(t, col)
		})
	}
}

// checkSources asserts every item has a source path keyed by its hash.
func checkSources(t *testing.T, col *cloudra.Collateral) {
	t.Helper()
	var raws [][]byte
	for _, c := range col.Certificates {
		raws = append(raws, c.Raw)
	}
	for _, c := range col.CRLs {
		raws = append(raws, c.Raw)
	}
	for _, d := range col.Documents {
		raws = append(raws, d.Raw)
	}
	for _, r := range raws {
		if col.Sources[hexSum(r)] == "" {
			t.Errorf("item %s has no source", hexSum(r)[:8])
		}
	}
}

func TestLoadDirSNPVectors(t *testing.T) {
	var certs, skippedBins int
	for _, d := range dirs(t, "snp/*") {
		col, skipped, err := LoadDir(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		checkSources(t, col)
		certs += len(col.Certificates)
		for _, s := range skipped {
			base := filepath.Base(s.Path)
			switch {
			case strings.HasSuffix(base, ".bin") || base == "PROVENANCE.md" || strings.Contains(s.Path, "/orig/"):
				skippedBins++
			case strings.HasPrefix(base, "test-vcek-invalid"):
				// deliberately malformed certificates: skipped with a reason
			default:
				t.Errorf("%s skipped: %s", s.Path, s.Reason)
			}
			if s.Reason == "" {
				t.Errorf("%s skipped without a reason", s.Path)
			}
		}
		for _, e := range mustReadDir(t, d) {
			p := filepath.Join(d, e.Name())
			if strings.HasSuffix(e.Name(), ".pem") || (strings.HasSuffix(e.Name(), ".der") && !strings.Contains(e.Name(), "invalid")) {
				if !slices.ContainsFunc(col.Certificates, func(c *x509.Certificate) bool { return col.Sources[hexSum(c.Raw)] == p }) &&
					!isDuplicate(t, p, col) {
					t.Errorf("%s: no certificate loaded", p)
				}
			}
		}
	}
	if certs < 30 || skippedBins == 0 {
		t.Errorf("%d certificates, %d skipped non-collateral files", certs, skippedBins)
	}
}

// isDuplicate reports whether every certificate in p is present (from another file).
func isDuplicate(t *testing.T, p string, col *cloudra.Collateral) bool {
	data, _ := os.ReadFile(p)
	c, err := Classify(data, p)
	if err != nil {
		return false
	}
	for _, x := range c.Certificates {
		if !slices.ContainsFunc(col.Certificates, func(y *x509.Certificate) bool { return bytes.Equal(x.Raw, y.Raw) }) {
			return false
		}
	}
	return true
}

func mustReadDir(t *testing.T, d string) []os.DirEntry {
	t.Helper()
	es, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestClassifyJWKSVectors(t *testing.T) {
	for _, d := range dirs(t, "maa/*") {
		p := filepath.Join(d, "jwks.json")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		col, err := Classify(data, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(col.Documents) != 1 || col.Documents[0].Kind != KindJWKS || !bytes.Equal(col.Documents[0].Raw, data) {
			t.Errorf("%s: %+v", p, col.Documents)
		}
		// The token and its decoded header are JSON too, but not collateral.
		for _, other := range []string{"token.header.json", "token.payload.json", "token.jwt"} {
			b, _ := os.ReadFile(filepath.Join(d, other))
			if _, err := Classify(b, other); !errors.Is(err, ErrUnrecognized) {
				t.Errorf("%s classified: %v", other, err)
			}
		}
	}
}

func TestWriteDirRoundTrip(t *testing.T) {
	srcs := append(dirs(t, "tdx/*/collateral"), dirs(t, "sgx/*/collateral")...)
	srcs = append(srcs, dirs(t, "snp/*")...)
	srcs = append(srcs, dirs(t, "maa/*")...)
	all := &cloudra.Collateral{}
	for _, d := range srcs {
		col, _, err := LoadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		all.Merge(col)
		out := t.TempDir()
		if _, err := WriteDir(out, col); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		back, skipped, err := LoadDir(out)
		if err != nil || len(skipped) != 0 {
			t.Fatalf("%s: reload: %v %v", d, err, skipped)
		}
		if a, b := summary(col), summary(back); a != b {
			t.Errorf("%s: round trip differs:\n%s\nvs\n%s", d, a, b)
		}
	}
	// Everything at once: distinct items never collide on a name.
	out := t.TempDir()
	paths, err := WriteDir(out, all)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := LoadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := summary(all), summary(back); a != b {
		t.Errorf("merged round trip differs")
	}
	for _, p := range paths {
		b := filepath.Base(p)
		if !(strings.HasPrefix(b, "cert-") || strings.HasPrefix(b, "crl-") || strings.HasPrefix(b, "tcb-info-") ||
			strings.HasPrefix(b, "qe-identity-") || strings.HasPrefix(b, "jwks-")) {
			t.Errorf("unexpected name %s", b)
		}
	}
	t.Logf("%d items written for %d source folders", len(paths), len(srcs))
}

// summary is an order-independent description of a collateral set.
func summary(c *cloudra.Collateral) string {
	var lines []string
	for _, x := range c.Certificates {
		lines = append(lines, "cert "+hexSum(x.Raw))
	}
	for _, x := range c.CRLs {
		lines = append(lines, "crl "+hexSum(x.Raw))
	}
	seen := map[string]bool{}
	for _, d := range c.Documents {
		l := "doc " + d.Kind + " " + hexSum(d.Raw) + " chain " + hexSum(d.IssuerChain)
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestClassifyResponseIssuerChainHeader(t *testing.T) {
	d := dirs(t, "tdx/dcapqvl-v4-uptodate/collateral")[0]
	body, _ := os.ReadFile(filepath.Join(d, "tcb_info.json"))
	chain, _ := os.ReadFile(filepath.Join(d, "tcb_info_issuer_chain.pem"))
	// PCS percent-encodes the PEM; some proxies leave '+' alone, which a
	// query-style unescape would turn into a space.
	for name, enc := range map[string]string{
		"escaped":    url.QueryEscape(string(chain)),
		"plus-kept":  strings.NewReplacer("\n", "%0A", " ", "%20", "=", "%3D").Replace(string(chain)),
		"path-style": url.PathEscape(string(chain)),
	} {
		r := &Response{URL: "https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=00806F050000", Body: body,
			Header: http.Header{"Tcb-Info-Issuer-Chain": {enc}, "Content-Type": {"application/json"}}}
		col, err := ClassifyResponse(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(col.Documents) != 1 || col.Documents[0].Kind != KindTCBInfo || !bytes.Equal(col.Documents[0].IssuerChain, chain) {
			t.Fatalf("%s: documents %+v", name, col.Documents)
		}
		if len(col.Certificates) != 2 {
			t.Errorf("%s: %d chain certificates, want 2", name, len(col.Certificates))
		}
		if col.Sources[hexSum(body)] != r.URL {
			t.Errorf("%s: source %q", name, col.Sources[hexSum(body)])
		}
	}
	// A CRL response: the header chain joins Certificates.
	crl, _ := os.ReadFile(filepath.Join(d, "pck_crl.der"))
	crlChain, _ := os.ReadFile(filepath.Join(d, "pck_crl_issuer_chain.pem"))
	col, err := ClassifyResponse(&Response{URL: "https://x/pckcrl", Body: crl, Header: http.Header{"Sgx-Pck-Crl-Issuer-Chain": {url.QueryEscape(string(crlChain))}}})
	if err != nil || len(col.CRLs) != 1 || len(col.Certificates) != 2 {
		t.Fatalf("pck crl response: %v %+v", err, col)
	}
	if _, err := ClassifyResponse(&Response{URL: "u", Body: crl, Header: http.Header{"Tcb-Info-Issuer-Chain": {"%zz"}}}); err == nil {
		t.Error("bad percent-encoding accepted")
	}
	if _, err := ClassifyResponse(&Response{URL: "u", Body: crl, Header: http.Header{"Tcb-Info-Issuer-Chain": {"not pem"}}}); err == nil {
		t.Error("non-PEM chain accepted")
	}
}

func TestClassifyRejects(t *testing.T) {
	cert := selfSigned(t)
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})
	for name, data := range map[string][]byte{
		"empty":          nil,
		"spaces":         []byte(" \n"),
		"random":         []byte("\x01\x02\x03"),
		"private key":    append(pemCert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})...),
		"bad pem cert":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}),
		"truncated pem":  pemCert[:len(pemCert)-30],
		"der + trailing": append(append([]byte(nil), cert...), 0),
		"der sequence":   {0x30, 0x03, 0x02, 0x01, 0x00},
		"json array":     []byte(`[1]`),
		"json other":     []byte(`{"tcbInfo":{}}`),
		"json sig num":   []byte(`{"tcbInfo":{},"signature":1}`),
		"json keys obj":  []byte(`{"keys":{}}`),
		"json broken":    []byte(`{"keys":[`),
		"json trailing":  []byte(`{"keys":[]} {}`),
	} {
		if col, err := Classify(data, name); err == nil {
			t.Errorf("%s: accepted as %+v", name, col)
		}
	}
	// Text around PEM blocks (openssl -text output, comments) is fine.
	col, err := Classify(append([]byte("Certificate:\n  Data: …\n"), pemCert...), "commented")
	if err != nil || len(col.Certificates) != 1 {
		t.Errorf("commented PEM: %v", err)
	}
}

func TestLoadDirLimitsAndNesting(t *testing.T) {
	d := t.TempDir()
	cert := selfSigned(t)
	must(t, os.WriteFile(filepath.Join(d, "a.der"), cert, 0o644))
	must(t, os.MkdirAll(filepath.Join(d, "sub", "deeper"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "sub", "b.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}), 0o644))
	must(t, os.WriteFile(filepath.Join(d, "sub", "deeper", "c.der"), cert, 0o644))
	must(t, os.WriteFile(filepath.Join(d, "big.pem"), make([]byte, MaxFileSize+1), 0o644))
	must(t, os.Symlink("/dev/null", filepath.Join(d, "devnull")))
	col, skipped, err := LoadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(col.Certificates) != 1 {
		t.Errorf("%d certificates", len(col.Certificates))
	}
	reasons := map[string]string{}
	for _, s := range skipped {
		reasons[strings.TrimPrefix(s.Path, d+"/")] = s.Reason
	}
	if len(reasons) != 3 || !strings.Contains(reasons["big.pem"], "exceeds") ||
		!strings.Contains(reasons["sub/deeper"], "nested") || !strings.Contains(reasons["devnull"], "regular") {
		t.Errorf("skipped %q", reasons)
	}
	if _, _, err := LoadDir(filepath.Join(d, "missing")); err == nil {
		t.Error("missing dir accepted")
	}
}

func TestWriteDirRejectsMislabelledDocument(t *testing.T) {
	col := &cloudra.Collateral{Documents: []cloudra.Document{{Kind: KindTCBInfo, Raw: []byte(`{"keys":[]}`)}}}
	if _, err := WriteDir(t.TempDir(), col); err == nil {
		t.Error("mislabelled document written")
	}
}

func FuzzClassify(f *testing.F) {
	if d, ok := vectortest.Find(); ok {
		for _, pat := range []string{"tdx/*/collateral/*", "sgx/*/collateral/*", "snp/*/*.pem", "snp/*/*.der", "maa/*/jwks.json"} {
			m, _ := filepath.Glob(filepath.Join(d, pat))
			for _, p := range m {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Add([]byte(`{"tcbInfo":{},"signature":"00"}`))
	f.Add([]byte(`{"enclaveIdentity":{},"signature":"00"}`))
	f.Add([]byte("-----BEGIN X509 CRL-----\nMA==\n-----END X509 CRL-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		col, err := Classify(data, "fuzz")
		if err != nil {
			if col != nil {
				t.Error("collateral returned with an error")
			}
			return
		}
		if len(col.Certificates)+len(col.CRLs)+len(col.Documents) == 0 {
			t.Error("empty collateral without an error")
		}
		checkSources(t, col)
	})
}

func selfSigned(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	tmpl.Subject.CommonName = "test/../../root"
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteDirHostileNames(t *testing.T) {
	cert, err := x509.ParseCertificate(selfSigned(t)) // CN "test/../../root"
	must(t, err)
	tcb := []byte(`{"tcbInfo":{"id":"../../x","fmspc":"/etc/passwd"},"signature":"00"}`)
	col := &cloudra.Collateral{Certificates: []*x509.Certificate{cert}, Documents: []cloudra.Document{{Kind: KindTCBInfo, Raw: tcb}}}
	dir := t.TempDir()
	paths, err := WriteDir(dir, col)
	must(t, err)
	for _, p := range paths {
		if filepath.Dir(p) != dir || strings.Contains(filepath.Base(p), "/") {
			t.Errorf("wrote outside %s: %s", dir, p)
		}
	}
	if got := filepath.Base(paths[0]); !strings.HasPrefix(got, "cert-test-..-..-root-") {
		t.Errorf("certificate name %s", got)
	}
	if got := filepath.Base(paths[1]); !strings.HasPrefix(got, "tcb-info-x-etc-passwd-") {
		t.Errorf("document name %s", got)
	}
}

func TestClassifyHexDER(t *testing.T) {
	// Intel PCCS serves /sgx/certification/v4/rootcacrl as hex text.
	der := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/collateral/root_ca_crl.der")
	for _, enc := range []string{hex.EncodeToString(der), strings.ToUpper(hex.EncodeToString(der)) + "\n"} {
		col, err := Classify([]byte(enc), "pccs")
		if err != nil || len(col.CRLs) != 1 || !bytes.Equal(col.CRLs[0].Raw, der) || col.Sources[hexSum(der)] != "pccs" {
			t.Fatalf("hex CRL: %v", err)
		}
	}
	cert := selfSigned(t)
	if col, err := Classify([]byte(hex.EncodeToString(cert)), "hex cert"); err != nil || len(col.Certificates) != 1 {
		t.Errorf("hex certificate: %v", err)
	}
	for _, bad := range []string{"0200000001", hex.EncodeToString(append(der, 0)), "abc", "0x3082"} {
		if _, err := Classify([]byte(bad), "bad"); err == nil {
			t.Errorf("%.20q accepted", bad)
		}
	}
}

// TestLoadDirReportsUnreadable: files that are recognisably collateral but
// do not parse (a corrupt DER or PEM VCEK, a truncated PCS document) are in
// the collateral's Unreadable with their reason; files that are plainly
// not collateral are only skipped.
func TestLoadDirReportsUnreadable(t *testing.T) {
	v := vectortest.Dir(t)
	vcek, err := os.ReadFile(filepath.Join(v, "snp/virtee-sev-milan-v2-vcek/vcek.der"))
	must(t, err)
	tcb, err := os.ReadFile(filepath.Join(v, "tdx/dcapqvl-v4-uptodate/collateral/tcb_info.json"))
	must(t, err)
	corrupt := bytes.Clone(vcek)
	corrupt[8] = 0x05 // the TBS version tag: no longer parses
	if _, err := x509.ParseCertificate(corrupt); err == nil {
		t.Fatal("corruption still parses")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	d := t.TempDir()
	files := map[string][]byte{
		"vcek.der":       corrupt,
		"vcek-short.der": vcek[:len(vcek)-100],
		"vcek.pem":       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: corrupt}),
		"cut.pem":        pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vcek})[:200],
		"tcb_info.json":  tcb[:len(tcb)/2],
		"README.md":      []byte("# collateral for the demo\n"),
		"notes.txt":      []byte("fetched 2025-01-01\n"),
		"token.json":     []byte(`{"alg":"RS256"}`),
		"key.der":        keyDER,
		"dump.snap":      []byte(`pem: "-----BEGIN CERTIFICATE-----\nMIIB"` + "\n"), // PEM quoted in a debug dump
	}
	for name, b := range files {
		must(t, os.WriteFile(filepath.Join(d, name), b, 0o644))
	}
	col, skipped, err := LoadDir(d)
	must(t, err)
	if len(skipped) != len(files) {
		t.Errorf("%d skipped, want %d", len(skipped), len(files))
	}
	got := map[string]string{}
	for _, u := range col.Unreadable {
		got[filepath.Base(u.Source)] = u.Reason
	}
	for _, name := range []string{"vcek.der", "vcek-short.der", "vcek.pem", "cut.pem", "tcb_info.json"} {
		if got[name] == "" {
			t.Errorf("%s not reported unreadable (unreadable: %q)", name, got)
		}
	}
	if len(got) != 5 {
		t.Errorf("unreadable %q, want the 5 corrupt items only", got)
	}
	// Merge keeps them, once.
	all := &cloudra.Collateral{}
	all.Merge(col)
	all.Merge(col)
	if len(all.Unreadable) != 5 {
		t.Errorf("merged %d unreadable items", len(all.Unreadable))
	}
}
