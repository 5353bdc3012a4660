package tpm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/google/go-tpm/tpm2"
)

// seedFiles adds every vector file whose name contains one of the markers.
func seedFiles(f *testing.F, markers ...string) {
	dir, ok := vectortest.Find()
	if !ok {
		return
	}
	for _, sub := range []string{"tpm", "azure-hcl"} {
		_ = filepath.WalkDir(filepath.Join(dir, sub), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			for _, m := range markers {
				if strings.Contains(filepath.Base(p), m) {
					if b, err := os.ReadFile(p); err == nil && len(b) < 8192 {
						f.Add(b)
					}
				}
			}
			return nil
		})
	}
}

// FuzzParseAttest: no panic; accepted inputs re-marshal byte-exactly; and
// everything cloudra accepts, go-tpm accepts too (the converse fails by
// design: go-tpm skips the magic and trailing-byte checks, D1).
func FuzzParseAttest(f *testing.F) {
	seedFiles(f, "tpms_attest", "quote_msg")
	raw, _ := goodAttest([]byte("nonce")).Marshal()
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAttest(b)
		if err != nil {
			if a != nil {
				t.Fatal("attest returned with an error")
			}
			return
		}
		m, err := a.Marshal()
		if err != nil || !bytes.Equal(m, b) {
			t.Fatalf("round trip: %v", err)
		}
		if _, err := tpm2.Unmarshal[tpm2.TPMSAttest](b); err != nil {
			t.Fatalf("cloudra accepts, go-tpm rejects: %v", err)
		}
	})
}

// FuzzParseSignature: no panic; accepted inputs round-trip.
func FuzzParseSignature(f *testing.F) {
	seedFiles(f, "tpmt_signature")
	f.Add([]byte{0, 0x18, 0, 0x0b, 0, 1, 1, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignature(b)
		if err != nil {
			return
		}
		m, err := s.Marshal()
		if err != nil || !bytes.Equal(m, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzParsePublic: no panic; a TPMT_PUBLIC that parses has a Name whose
// algorithm prefix is its nameAlg.
func FuzzParsePublic(f *testing.F) {
	seedFiles(f, "tpmt_public", "akpub.pem", "hcl_akpub.pem")
	keys(f)
	f.Add(tpmtRSA(&forgeRSA.PublicKey, AKAttributes, AlgRSASSA, AlgSHA256))
	f.Add(tpmtECC(&forgeEC.PublicKey, AKAttributes))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePublic(b)
		if err != nil {
			return
		}
		if p.Key == nil {
			t.Fatal("no key")
		}
		if p.Raw != nil && (len(p.Name) < 2 || Alg(uint16(p.Name[0])<<8|uint16(p.Name[1])) != p.NameAlg) {
			t.Fatal("bad name")
		}
	})
}

// FuzzParsePCRValues: no panic on any PCR file.
func FuzzParsePCRValues(f *testing.F) {
	seedFiles(f, "pcrs")
	if b, err := MarshalPCRsSerialized(sel0to7(), testPCRs()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePCRValues(b)
	})
}
