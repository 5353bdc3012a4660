package dcap_test

import (
	"bytes"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
)

func claim(t *testing.T, b []byte, name string) string {
	t.Helper()
	cs, err := dcap.Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c.Value.(string)
		}
	}
	t.Fatalf("no field %s", name)
	return ""
}

// The Azure MRTD lesson: MAA printed tdx_mrtd fe27b2aa…0a in
// quote order, a parser printed the same 48 bytes reversed (0a0d930a…fe).
// cloudra prints quote order: the bytes at TD report offset 136 as they are.
func TestMRTDPrintedInQuoteOrder(t *testing.T) {
	const maa = "fe27b2aa3a05ec56864c308aff03dd13c189a6112d21e417ec1afe626a8cb9d91482d1379ec02fe6308972950a930d0a"
	const reversed = "0a0d930a95728930e62fc09e37d18214d9b98c6a62fe1aec17e4212d11a689c113dd03ff8a304c8656ec053aaab227fe"
	mrtd, _ := hex.DecodeString(maa)
	k := dcaptest.New(dcaptest.DefaultConfig())
	q := k.TDQuote(4, false)
	body := dcaptest.TDBody(false)
	copy(body.MRTD[:], mrtd)
	q.Body = body.Marshal()
	b := q.Bytes()
	if !bytes.Equal(b[48+136:48+136+48], mrtd) {
		t.Fatal("MRTD not at body offset 136")
	}
	if got := claim(t, b, "MRTD"); got != maa || got == reversed {
		t.Fatalf("MRTD printed %s, want quote order %s", got, maa)
	}
	// The same rule on a real Azure TD quote (PROVENANCE: MRTD 024a32b0…7b).
	az := vectortest.Read(t, "azure-hcl/trustee-az-tdx-vtpm/td_quote.bin")
	if got := claim(t, az, "MRTD"); got != "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b" {
		t.Fatalf("Azure MRTD %s", got)
	}
	if got, want := claim(t, az, "MRTD"), hex.EncodeToString(az[48+136:48+184]); got != want {
		t.Fatalf("%s != raw bytes %s", got, want)
	}
}

func TestInspectNamesAndRoundTrip(t *testing.T) {
	k := dcaptest.New(dcaptest.DefaultConfig())
	for _, b := range [][]byte{k.TDQuote(4, false).Bytes(), k.TDQuote(5, true).Bytes(), k.SGXQuote().Bytes()} {
		cs, err := dcap.Inspect(b)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		for _, want := range []string{"Quote Header.Version", "QE Report.MRSIGNER", "REPORTDATA", "Signature Data.ECDSA Attestation Key"} {
			if !slices.Contains(names, want) {
				t.Errorf("no %s in %v", want, names)
			}
		}
		q, err := dcap.ParseQuote(b)
		if err != nil {
			t.Fatal(err)
		}
		// Bodies re-marshal byte for byte.
		switch q := q.(type) {
		case dcap.TDQuote:
			if !bytes.Equal(q.TDReport().Marshal(), q.TDReport().Raw) {
				t.Error("TD report round trip")
			}
		case *dcap.QuoteV3:
			if !bytes.Equal(q.Body.Marshal(), q.Body.Raw[:]) {
				t.Error("enclave report round trip")
			}
		}
	}
}
