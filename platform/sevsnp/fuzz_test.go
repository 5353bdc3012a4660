package sevsnp

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra/internal/sevsnptest"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// vectorFiles returns the SNP reports and certificates of the collection
// (none when it is absent: fuzzing still runs on the synthetic seeds).
func vectorFiles(pattern ...string) [][]byte {
	d, ok := vectortest.Find()
	if !ok {
		return nil
	}
	var out [][]byte
	for _, p := range pattern {
		m, _ := filepath.Glob(filepath.Join(d, p))
		for _, f := range m {
			if b, err := os.ReadFile(f); err == nil {
				out = append(out, b)
			}
		}
	}
	return out
}

func FuzzParseReport(f *testing.F) {
	for _, b := range vectorFiles("snp/*/*.bin", "azure-hcl/*/snp_report.bin") {
		f.Add(b)
	}
	for _, v := range []uint32{2, 3, 5} {
		f.Add(sevsnptest.NewReport(sevsnptest.ReportOptions{Version: v, Product: Turin}))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b)
		if err != nil {
			if r != nil {
				t.Error("report returned with an error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		// Accepted input: exact size, bytes kept as received.
		if len(b) != ReportSize || string(r.Raw) != string(b) {
			t.Fatal("Raw differs from input")
		}
		if r.Version < 2 || r.Version > 5 || r.SignatureAlgo != 1 {
			t.Fatalf("accepted version %d algo %d", r.Version, r.SignatureAlgo)
		}
		_ = r.Fields()
		(&claims{r: r, product: Turin}).Claims()
	})
}

func FuzzParseCertTable(f *testing.F) {
	f.Add(sevsnptest.CertTable(sevsnptest.Entry{GUID: GUIDVCEK(), Data: []byte("vcek")}, sevsnptest.Entry{GUID: GUIDASK(), Data: []byte("ask")}))
	f.Add(sevsnptest.CertTable())
	for _, c := range vectorFiles("snp/*/*.der") {
		f.Add(sevsnptest.CertTable(sevsnptest.Entry{GUID: GUIDVCEK(), Data: c}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ct, err := ParseCertTable(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		seen := map[GUID]bool{}
		for _, e := range ct.Entries {
			if seen[e.GUID] {
				t.Fatal("duplicate accepted")
			}
			seen[e.GUID] = true
			if uint64(e.Offset)+uint64(e.Length) > uint64(len(b)) || len(e.Data) != int(e.Length) {
				t.Fatal("entry outside the buffer")
			}
		}
	})
}

// FuzzParseExtensions fuzzes the AMD extension parser. Input: a sequence of
// [oid selector][length][value] records turned into extensions; seeds are
// the extensions of every VCEK/VLEK in the collection.
func FuzzParseExtensions(f *testing.F) {
	oids := []asn1.ObjectIdentifier{oidStructVersion, oidProductName, oidHWID, oidCSPID,
		{1, 3, 6, 1, 4, 1, 3704, 1, 3, 1}, {1, 3, 6, 1, 4, 1, 3704, 1, 3, 2}, {1, 3, 6, 1, 4, 1, 3704, 1, 3, 3},
		{1, 3, 6, 1, 4, 1, 3704, 1, 3, 8}, {1, 3, 6, 1, 4, 1, 3704, 1, 3, 9}, {1, 3, 6, 1, 4, 1, 3704, 1, 3, 4}}
	encode := func(exts []pkix.Extension) []byte {
		var out []byte
		for _, e := range exts {
			for i, o := range oids {
				if o.Equal(e.Id) && len(e.Value) < 256 {
					out = append(out, byte(i), byte(len(e.Value)))
					out = append(out, e.Value...)
				}
			}
		}
		return out
	}
	for _, der := range vectorFiles("snp/*/*.der") {
		if c, err := x509.ParseCertificate(der); err == nil {
			f.Add(encode(c.Extensions))
		}
	}
	f.Add([]byte{0, 3, 2, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var exts []pkix.Extension
		for len(b) >= 2 {
			sel, n := int(b[0])%len(oids), int(b[1])
			b = b[2:]
			if n > len(b) {
				n = len(b)
			}
			exts = append(exts, pkix.Extension{Id: oids[sel], Value: b[:n]})
			b = b[n:]
		}
		e, err := ParseExtensions(exts)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if e.HWID != nil && len(e.HWID) != 64 && len(e.HWID) != 8 {
			t.Fatalf("hwid of %d bytes accepted", len(e.HWID))
		}
	})
}
