package azure

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
)

// vector is one azure-hcl folder with what its PROVENANCE.md states.
type vector struct {
	dir    string
	at     string   // verification time of the hardware report
	certs  []string // SNP VCEK and chain files
	quotes []string // vTPM quote prefixes
	pcrs   bool     // quote PCR values present
	nonce  []byte
	// userData is the expected user-data echo (v2 evidence).
	userData []byte
	// claimsHash is REPORT_DATA[0:32] (from PROVENANCE.md).
	claimsHash string
	tdx        bool
}

var v2Nonce = mustHex("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef")

var vectors = []vector{
	{dir: "azure-hcl/trustee-az-snp-vtpm-milan-2023", at: "2023-05-03T21:22:19Z", certs: []string{"vcek_chain.pem"},
		quotes: []string{"quote_v1", "quote_bin"}, pcrs: true, nonce: []byte("challenge"),
		claimsHash: "b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac"},
	{dir: "azure-hcl/trustee-az-snp-vtpm-evidence-v0", at: "2025-01-29T16:26:55Z", certs: []string{"vcek.pem", "ask_ark_milan.pem"},
		quotes: []string{"quote"}, pcrs: true, nonce: []byte("challenge"),
		claimsHash: "af2910341dd8108360e485f1b72494255190b9cdd5ccb44b73b883037cf99f21"},
	{dir: "azure-hcl/trustee-az-snp-vtpm-evidence-v1", at: "2025-01-29T16:26:55Z", certs: []string{"vcek.der", "ask_ark_milan.pem"},
		quotes: []string{"quote"}, pcrs: true, nonce: []byte("challenge"),
		claimsHash: "af2910341dd8108360e485f1b72494255190b9cdd5ccb44b73b883037cf99f21"},
	{dir: "azure-hcl/trustee-az-snp-vtpm-evidence-v2", at: "2025-01-29T16:33:43Z", certs: []string{"vcek.der", "ask_ark_milan.pem"},
		quotes: []string{"quote"}, pcrs: true, nonce: v2Nonce, userData: v2Nonce,
		claimsHash: "cf7cc0731c50f64876804b3943b2bfbd93dba69f5928e3df223e78ff34dd46ee"},
	{dir: "azure-hcl/trustee-old-2048-snp-milan-2023", at: "2023-01-25T17:58:26Z", certs: []string{"vcek.pem", "ask_ark_milan.pem"},
		quotes: []string{"quote"}, nonce: []byte("challenge"),
		claimsHash: "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2"},
	{dir: "azure-hcl/trustee-az-tdx-vtpm", at: "2025-10-24T07:10:18Z", tdx: true,
		quotes: []string{"quote_v1", "quote_bin"}, pcrs: true, nonce: []byte("challenge"),
		claimsHash: "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839"},
	{dir: "azure-hcl/kinvolk-azure-cvm-tooling-snp", at: "2023-06-01T00:00:00Z", certs: []string{"certs.pem"},
		claimsHash: "1d0a466a9eed975e88f889f7aed4abc1c97e87c4f43e5e3478c9a4a5853cbd7d"},
}

func newVerifier(t testing.TB) *Verifier {
	t.Helper()
	roots, err := sevsnp.DefaultRoots()
	if err != nil {
		t.Fatal(err)
	}
	tv, err := tdx.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	return NewVerifier(sevsnp.NewVerifier(roots), tv)
}

// loadCerts reads PEM (any number of blocks) or DER certificate files.
func loadCerts(t testing.TB, dir string, files ...string) *cloudra.Collateral {
	t.Helper()
	col := &cloudra.Collateral{}
	for _, f := range files {
		b := vectortest.Read(t, dir+"/"+f)
		if strings.HasSuffix(f, ".der") {
			c, err := x509.ParseCertificate(b)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			col.AddCertificate(c)
			continue
		}
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			col.AddCertificate(c)
		}
	}
	return col
}

func loadQuote(t testing.TB, v vector, prefix string) *tpm.Quote {
	t.Helper()
	q := &tpm.Quote{
		Attest:         vectortest.Read(t, v.dir+"/"+prefix+".tpms_attest.bin"),
		Signature:      vectortest.Read(t, v.dir+"/"+prefix+".signature_rsassa_sha256.bin"),
		PlainSignature: true,
	}
	if v.pcrs {
		p, err := tpm.ParsePCRValues(vectortest.Read(t, v.dir+"/"+prefix+".pcrs_sha256.json"))
		if err != nil {
			t.Fatal(err)
		}
		q.PCRs = p
	}
	return q
}

// evidence assembles the vector's evidence with its first quote.
func evidence(t testing.TB, v vector) (Evidence, *cloudra.Collateral, cloudra.Options) {
	t.Helper()
	ev := Evidence{HCLReport: vectortest.Read(t, v.dir+"/hcl_report.bin"), Nonce: v.nonce, UserData: v.userData}
	if len(v.quotes) > 0 {
		ev.Quote = loadQuote(t, v, v.quotes[0])
	}
	var col *cloudra.Collateral
	if v.tdx {
		ev.TDQuote = vectortest.Read(t, v.dir+"/td_quote.bin")
		col = tdxCollateral(t)
	} else {
		col = loadCerts(t, v.dir, v.certs...)
	}
	return ev, col, cloudra.Options{Time: vectortest.Time(t, v.at)}
}

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return b
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	panic("bad hex")
}

func hasViolation(r *cloudra.Result, rule string) bool {
	for _, v := range r.Violations {
		if v.Rule == rule {
			return true
		}
	}
	for _, p := range r.Parts {
		if hasViolation(p, rule) {
			return true
		}
	}
	return false
}

func tdxCollateral(t testing.TB) *cloudra.Collateral {
	t.Helper()
	return dcaptest.LoadCollateral(t, "tdx/automata-v4-gcp/collateral")
}

func asMissing(err error, out **cloudra.MissingCollateralError) bool { return errors.As(err, out) }
