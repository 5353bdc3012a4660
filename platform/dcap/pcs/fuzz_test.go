package pcs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// seedDocs adds every real tcb_info.json / qe_identity.json of the vector
// collection (when present) plus small synthetic seeds.
func seedDocs(f *testing.F, name string, synthetic ...string) {
	if dir, ok := vectortest.Find(); ok {
		for _, pat := range []string{"tdx/*/collateral*/" + name, "sgx/*/collateral*/" + name} {
			files, _ := filepath.Glob(filepath.Join(dir, pat))
			for _, p := range files {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	for _, s := range synthetic {
		f.Add([]byte(s))
	}
}

// checkParsed asserts the properties every accepted document has: its signed
// span is a verbatim substring of the input, and parsing is deterministic.
func checkParsed(t *testing.T, data, signed []byte, again func() ([]byte, error)) {
	if !bytes.Contains(data, signed) {
		t.Fatal("signed span is not a substring of the input")
	}
	s2, err := again()
	if err != nil || !bytes.Equal(s2, signed) {
		t.Fatalf("second parse differs: %v", err)
	}
}

func FuzzParseTCBInfo(f *testing.F) {
	seedDocs(f, "tcb_info.json",
		`{"tcbInfo":{},"signature":""}`,
		`{"tcbInfo":{"id":"TDX","version":3},"signature":"00"}`,
		`{"tcbInfo":{"id":"SGX","version":3,"issueDate":"2025-01-01T00:00:00Z","nextUpdate":"2025-02-01T00:00:00Z","fmspc":"00606a000000","pceId":"0000","tcbType":0,"tcbEvaluationDataNumber":17,"tcbLevels":[]},"signature":"`+string(bytes.Repeat([]byte("00"), 64))+`"}`,
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseTCBInfo(data)
		if err != nil {
			if info != nil {
				t.Fatal("non-nil result with error")
			}
			return
		}
		if info.Version != 3 || (info.ID != "SGX" && info.ID != "TDX") || len(info.TCBLevels) == 0 {
			t.Fatalf("accepted %s v%d with %d levels", info.ID, info.Version, len(info.TCBLevels))
		}
		for _, l := range info.TCBLevels {
			if (l.TDXComponents != nil) != (info.ID == "TDX") {
				t.Fatal("tdx components do not follow the id")
			}
		}
		checkParsed(t, data, info.RawSigned, func() ([]byte, error) {
			i2, err := ParseTCBInfo(data)
			if err != nil {
				return nil, err
			}
			return i2.RawSigned, nil
		})
		// Evaluation never panics on an accepted document.
		var c, tee [16]byte
		for i := range c {
			c[i], tee[i] = data[i%len(data)], data[(i*7)%len(data)]
		}
		if info.ID == "TDX" {
			_, _ = EvaluateTDX15(info, c, 13, tee, c)
			_ = info.CheckTDXModule([48]byte{}, [8]byte{}, tee)
		} else {
			_, _ = EvaluateSGX(info, c, 13)
		}
	})
}

func FuzzParseQEIdentity(f *testing.F) {
	seedDocs(f, "qe_identity.json",
		`{"enclaveIdentity":{},"signature":""}`,
		`{"enclaveIdentity":{"id":"TD_QE","version":2},"signature":"00"}`,
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := ParseQEIdentity(data)
		if err != nil {
			if id != nil {
				t.Fatal("non-nil result with error")
			}
			return
		}
		if id.Version != 2 || len(id.TCBLevels) == 0 {
			t.Fatalf("accepted version %d with %d levels", id.Version, len(id.TCBLevels))
		}
		checkParsed(t, data, id.RawSigned, func() ([]byte, error) {
			i2, err := ParseQEIdentity(data)
			if err != nil {
				return nil, err
			}
			return i2.RawSigned, nil
		})
		_, _ = EvaluateQE(id, 5, 0, [16]byte{}, id.MRSigner, id.ISVProdID)
	})
}
