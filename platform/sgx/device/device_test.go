package device

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeGramine pre-creates the /dev/attestation tree. Gramine computes the
// quote when it is read; a plain file cannot, so the test writes the quote
// it expects for the REPORT_DATA it will send.
func fakeGramine(t *testing.T, typ string, quote []byte) string {
	t.Helper()
	root := t.TempDir()
	for name, b := range map[string][]byte{
		"attestation_type": []byte(typ),
		"user_report_data": nil,
		"quote":            quote,
	} {
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func sgxQuote(rd [64]byte) []byte {
	q := make([]byte, 48+384+4)
	binary.LittleEndian.PutUint16(q, 3)
	binary.LittleEndian.PutUint16(q[2:], 2)
	copy(q[offReportData:], rd[:])
	return q
}

func TestGramine(t *testing.T) {
	rd := [64]byte{1, 2, 3}
	root := fakeGramine(t, "dcap", sgxQuote(rd))
	p, err := Open(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Report(rd)
	if err != nil {
		t.Fatal(err)
	}
	if raw.AttestationType != "dcap" || raw.Interface != Interface || len(raw.Quote) != 436 {
		t.Errorf("raw %+v", raw)
	}
	got, _ := os.ReadFile(filepath.Join(root, "user_report_data"))
	if len(got) != 64 || got[0] != 1 {
		t.Errorf("user_report_data = %x", got)
	}
	if _, err := p.Report([64]byte{9}); err == nil {
		t.Error("quote for other REPORT_DATA accepted")
	}
}

func TestGramineErrors(t *testing.T) {
	if _, err := Open(Options{Root: filepath.Join(t.TempDir(), "none")}); !errors.Is(err, ErrNoInterface) {
		t.Errorf("missing: %v", err)
	}
	for _, typ := range []string{"none", "epid", "weird"} {
		if _, err := Open(Options{Root: fakeGramine(t, typ+"\n", nil)}); err == nil {
			t.Errorf("%s accepted", typ)
		}
	}
	rd := [64]byte{}
	q := sgxQuote(rd)
	binary.LittleEndian.PutUint16(q, 4)
	p, _ := Open(Options{Root: fakeGramine(t, "dcap", q)})
	if _, err := p.Report(rd); err == nil {
		t.Error("v4 quote accepted")
	}
	p, _ = Open(Options{Root: fakeGramine(t, "dcap", q[:100])})
	if _, err := p.Report(rd); err == nil {
		t.Error("short quote accepted")
	}
}
