package dcap

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap/intelroot"
)

// vectorQuotes lists every real quote with what its PROVENANCE.md states.
var vectorQuotes = []struct {
	path    string
	version uint16
	pad     int
	ca      string
	fmspc   string
	at      string
	field   string // Intel field name → expected hex
	want    string
}{
	{"tdx/dcapqvl-v4-uptodate/quote.bin", 4, 70, "platform", "b0c06f000000", "2025-07-01T00:00:00Z", "MRTD", "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"},
	{"tdx/dcapqvl-near-v4/quote.bin", 4, 70, "", "20a06f000000", "2025-09-15T00:00:00Z", "MRTD", "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077"},
	{"tdx/dcapqvl-v5-td15-tcb-not-supported/quote.bin", 5, 0, "", "90c06f000000", "2026-03-01T00:00:00Z", "TEE_TCB_SVN_2", "0d010300000000000000000000000000"},
	{"tdx/gotdxguest-v5-td15/quote.bin", 5, 0, "", "90c06f000000", "2026-02-25T00:00:00Z", "MRTD", "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876"},
	{"tdx/trustee-v4-spr-tdx_quote_4/quote.bin", 4, 0, "", "50806f000000", "2023-07-01T01:00:00Z", "RTMR0", "e940da7c2712d2790e2961e00484f4fa8e6f9eed71361655ae22699476b14f9e63867eb41edd4b480fef0c59f496b288"},
	{"tdx/trustee-v5-alibaba-tdx_quote_5/quote.bin", 5, 0, "", "", "2025-06-25T00:00:00Z", "MRTD", "dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a"},
	{"tdx/automata-v4-gcp/quote.bin", 4, 3065, "", "00806f050000", "2025-10-24T07:10:18Z", "TEE_TCB_SVN", "04010700000000000000000000000000"},
	{"azure-hcl/trustee-az-tdx-vtpm/td_quote.bin", 4, 70, "platform", "00806f050000", "2025-10-24T07:10:18Z", "MRTD", "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b"},
	{"sgx/dcapqvl-v3-configuration-swhardening/quote.bin", 3, 0, "processor", "00a067110000", "2025-07-01T00:00:00Z", "MRENCLAVE", "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"},
	{"sgx/automata-v3-00606a-swhardening/quote.bin", 3, 0, "platform", "00606a000000", "2025-08-15T05:45:00Z", "MRSIGNER", "8f2dbc0f9c5d3378d596974b2deed1f93223cc49242899f83809bcc92546132c"},
	{"sgx/trustee-occlum-v3-debug-outofdate/quote.bin", 3, 0, "", "", "2025-08-15T05:45:00Z", "ATTRIBUTES", "0700000000000000e700000000000000"},
}

func field(fs []Field, section, name string) (string, bool) {
	for _, f := range fs {
		if (section == "" || f.Section == section) && f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

func TestParseVectors(t *testing.T) {
	root, err := intelroot.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vectorQuotes {
		t.Run(filepath.Dir(v.path), func(t *testing.T) {
			b := vectortest.Read(t, v.path)
			q, err := ParseQuote(b)
			if err != nil {
				t.Fatal(err)
			}
			if q.QuoteHeader().Version != v.version || q.Padding() != v.pad {
				t.Errorf("version %d pad %d", q.QuoteHeader().Version, q.Padding())
			}
			sec := "TD Quote Body"
			if v.version == 3 {
				sec = "ISV Enclave Report Body"
			}
			if got, _ := field(q.Fields(), sec, v.field); got != v.want {
				t.Errorf("%s = %s, want %s", v.field, got, v.want)
			}
			if err := VerifyQuoteSignature(q); err != nil {
				t.Error(err)
			}
			if err := CheckQEBinding(q.Signature()); err != nil {
				t.Error(err)
			}
			certs, err := ParsePCKChain(q.Signature().QE.Cert.Data)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := VerifyPCKChain(certs, []*x509.Certificate{root}, vectortest.Time(t, v.at))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyQEReportSignature(&q.Signature().QE, ch.LeafKey); err != nil {
				t.Error(err)
			}
			if v.ca != "" && ch.CA != v.ca {
				t.Errorf("CA %s, want %s", ch.CA, v.ca)
			}
			if v.fmspc != "" && hex.EncodeToString(ch.Ext.FMSPC[:]) != v.fmspc {
				t.Errorf("FMSPC %x, want %s", ch.Ext.FMSPC, v.fmspc)
			}
			// The same chain fifty years later has expired.
			if _, err := VerifyPCKChain(certs, []*x509.Certificate{root}, vectortest.Time(t, v.at).AddDate(50, 0, 0)); !errors.Is(err, ErrValidity) {
				t.Errorf("at +50y: %v, want ErrValidity", err)
			}
		})
	}
}

// The go-tdx-guest sample quote carries 39 ASCII bytes its authors appended
// ("\nextra bytes(only for testing purpose)\n"). They are outside every
// signature; cloudra rejects them as trailing data (parse), and the quote
// Intel's QE produced — the first 4935 bytes — parses and verifies.
func TestTrailingASCIIRejected(t *testing.T) {
	b := vectortest.Read(t, "tdx/gotdxguest-v4-spr-e4/quote.bin")
	_, err := ParseQuote(b)
	var pe *ParseError
	if !errors.Is(err, ErrTrailingData) || !errors.As(err, &pe) {
		t.Fatalf("got %v, want a ParseError wrapping ErrTrailingData", err)
	}
	if !strings.Contains(string(b[4935:]), "extra bytes") {
		t.Fatal("vector changed")
	}
	q, err := ParseQuote(b[:4935])
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyQuoteSignature(q); err != nil {
		t.Fatal(err)
	}
	got, _ := field(q.Fields(), "", "MRTD")
	if got != "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb" {
		t.Errorf("MRTD %s", got)
	}
	// Zero padding is accepted and reported.
	q, err = ParseQuote(append(b[:4935:4935], make([]byte, 100)...))
	if err != nil || q.Padding() != 100 {
		t.Fatalf("padding: %v", err)
	}
}

func TestPCKExtensionVectors(t *testing.T) {
	b := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/quote.bin")
	q, err := ParseQuote(b)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParsePCKChain(q.Signature().QE.Cert.Data)
	if err != nil {
		t.Fatal(err)
	}
	x, err := PCKExtensionOf(certs[0])
	if err != nil {
		t.Fatal(err)
	}
	if x.PCESVN != 11 || hex.EncodeToString(x.CPUSVN[:]) != "03030202040100050000000000000000" || x.CompSVN[4] != 4 {
		t.Errorf("got %s comp %v", x, x.CompSVN)
	}
	if _, err := PCKExtensionOf(certs[1]); err == nil {
		t.Error("intermediate has no SGX extension")
	}
}
