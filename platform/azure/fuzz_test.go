package azure

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// fuzzSeeds are the real HCL reports (when present) and synthetic ones.
func fuzzSeeds(f *testing.F) [][]byte {
	var out [][]byte
	if _, ok := vectortest.Find(); ok {
		for _, v := range vectors {
			out = append(out, vectortest.Read(f, v.dir+"/hcl_report.bin"))
		}
	}
	// Synthetic: a TDX-typed report around a zero TDREPORT of type 0x81.
	claims := []byte(`{"keys":[],"user-data":"00"}`)
	b := make([]byte, ClaimsOffset+len(claims)+8)
	le := binary.LittleEndian
	le.PutUint32(b[0:], Signature)
	le.PutUint32(b[4:], 2)
	le.PutUint32(b[8:], uint32(ClaimsOffset+len(claims)))
	le.PutUint32(b[12:], RequestAKCert)
	b[HeaderSize] = tdReportTypeTDX
	le.PutUint32(b[RuntimeDataOffset:], uint32(RuntimeDataHeaderSize+len(claims)))
	le.PutUint32(b[RuntimeDataOffset+4:], 1)
	le.PutUint32(b[RuntimeDataOffset+8:], uint32(ReportTypeTDX))
	le.PutUint32(b[RuntimeDataOffset+12:], uint32(HashSHA512))
	le.PutUint32(b[RuntimeDataOffset+16:], uint32(len(claims)))
	copy(b[ClaimsOffset:], claims)
	out = append(out, b, b[:ClaimsOffset], []byte("HCLA"))
	return out
}

// FuzzParseHCLReport: no panic; an accepted report's parts are exactly the
// input's bytes at their offsets, and the claims parser never panics.
func FuzzParseHCLReport(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHCLReport(b)
		if err != nil {
			if h != nil {
				t.Fatal("report with error")
			}
			return
		}
		if int(h.ReportSize)+h.Padding != len(b) || !bytes.Equal(h.Raw, b) {
			t.Fatalf("size %d + padding %d ≠ %d", h.ReportSize, h.Padding, len(b))
		}
		if !bytes.Equal(h.Claims, b[ClaimsOffset:h.ReportSize]) {
			t.Fatal("claims are not the stored bytes")
		}
		if !bytes.Equal(h.HardwareReport, b[HeaderSize:HeaderSize+len(h.HardwareReport)]) {
			t.Fatal("hardware report is not the stored bytes")
		}
		if (h.SNP == nil) == (h.TDReport == nil) {
			t.Fatal("exactly one hardware report expected")
		}
		_ = h.Fields()
		if rc, err := ParseRuntimeClaims(h.Claims); err == nil {
			_, _ = rc.AKPub()
		}
	})
}

// FuzzParseRuntimeClaims: no panic on any JSON.
func FuzzParseRuntimeClaims(f *testing.F) {
	if _, ok := vectortest.Find(); ok {
		for _, v := range vectors {
			f.Add(vectortest.Read(f, v.dir+"/runtime_claims.json"))
		}
	}
	f.Add([]byte(`{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AA","n":"AQAB"}],"user-data":"Ab","vm-configuration":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rc, err := ParseRuntimeClaims(b)
		if err != nil {
			return
		}
		for i := range rc.Keys {
			_, _ = rc.Keys[i].RSAPublicKey()
		}
		if rc.UserData != nil && rc.VMConfiguration != nil {
			_ = rc.VMConfiguration.Fields
		}
	})
}
