package dcap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

func vectorFiles() [][]byte {
	d, ok := vectortest.Find()
	if !ok {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(d, "*", "*", "quote.bin"))
	files = append(files, filepath.Join(d, "azure-hcl", "trustee-az-tdx-vtpm", "td_quote.bin"))
	var out [][]byte
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// FuzzParseQuote: no panic, bounded work, and accepted quotes keep their
// signed bytes as a prefix of the input.
func FuzzParseQuote(f *testing.F) {
	for _, b := range vectorFiles() {
		f.Add(b)
		f.Add(b[:1020])
	}
	f.Add(make([]byte, 1020))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseQuote(b)
		if err != nil {
			if q != nil {
				t.Fatal("quote returned with an error")
			}
			return
		}
		if !bytes.HasPrefix(b, q.SignedBytes()) {
			t.Fatal("signed bytes are not the input's prefix")
		}
		_ = q.Fields()
		// Fixed layouts re-marshal byte for byte.
		switch q := q.(type) {
		case TDQuote:
			if !bytes.Equal(q.TDReport().Marshal(), q.TDReport().Raw) {
				t.Fatal("TD report does not round-trip")
			}
		case *QuoteV3:
			if !bytes.Equal(q.Body.Marshal(), q.Body.Raw[:]) {
				t.Fatal("enclave report does not round-trip")
			}
		}
		if qe := &q.Signature().QE.Report; !bytes.Equal(qe.Marshal(), qe.Raw[:]) {
			t.Fatal("QE report does not round-trip")
		}
		_ = VerifyQuoteSignature(q)
		_ = CheckQEBinding(q.Signature())
		_, _ = ParsePCKChain(q.Signature().QE.Cert.Data)
	})
}

// FuzzParseCertData: certification data type 6 content and the PEM chain.
func FuzzParseCertData(f *testing.F) {
	for _, b := range vectorFiles() {
		q, err := ParseQuote(b)
		if err != nil {
			continue
		}
		qe := q.Signature().QE
		f.Add(qe.Cert.Data)
		if v4, ok := q.(*QuoteV4); ok {
			// The type-6 content: from the QE report to the end of the signature data.
			start := len(v4.Signed) + 4 + 128 + 6
			f.Add(v4.Raw[start:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if qe, err := ParseQECertData(b); err == nil {
			_ = CheckQEBinding(&SignatureData{QE: *qe})
		}
		_, _ = ParsePCKChain(b)
	})
}

// FuzzParsePCKExtension: the SGX extension DER.
func FuzzParsePCKExtension(f *testing.F) {
	for _, b := range vectorFiles() {
		q, err := ParseQuote(b)
		if err != nil {
			continue
		}
		certs, err := ParsePCKChain(q.Signature().QE.Cert.Data)
		if err != nil {
			continue
		}
		for _, e := range certs[0].Extensions {
			if e.Id.Equal(OIDSGXExtension()) {
				f.Add(e.Value)
			}
		}
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ParsePCKExtension(b)
		if err == nil && x == nil {
			t.Fatal("nil extension without error")
		}
	})
}
