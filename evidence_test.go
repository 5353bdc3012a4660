package cloudra

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestBundleRoundTrip(t *testing.T) {
	b := &Bundle{Platform: "sev-snp", Cloud: "gcp", Nonce: HexBytes{1, 2},
		Artifacts: []Artifact{{Kind: KindSNPReport, Data: []byte{0, 1, 2}, Meta: map[string]string{"vmpl": "0"}}}}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != EvidenceSchema || got.Cloud != "gcp" || !bytes.Equal(got.Nonce, []byte{1, 2}) ||
		len(got.Artifacts) != 1 || !bytes.Equal(got.Artifacts[0].Data, []byte{0, 1, 2}) {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestParseBundleRejects(t *testing.T) {
	for in, notBundle := range map[string]bool{
		``:         true,
		`binary`:   true,
		`{"a": 1}`: true,
		`{"schema": "cloudra.evidence/v2", "artifacts": []}`:                           false,
		`{"schema": "cloudra.evidence/v1", "artifacts": [], "extra": 1}`:               false,
		`{"schema": "cloudra.evidence/v1", "artifacts": [{"data": "AA=="}]}`:           false,
		`{"schema": "cloudra.evidence/v1", "artifacts": []} {}`:                        false,
		`{"schema": "cloudra.evidence/v1", "artifacts": [{"kind": "x", "data": "!"}]}`: false,
	} {
		_, err := ParseBundle([]byte(in))
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if got := errors.Is(err, ErrNotBundle) && !bytes.Contains([]byte(err.Error()), []byte("unsupported")); got != notBundle {
			t.Errorf("%q: not-a-bundle = %v (%v), want %v", in, got, err, notBundle)
		}
	}
}

func TestDecodeText(t *testing.T) {
	for in, want := range map[string]string{
		"00ff10":       "hex",
		"AP8Q\n":       "base64",
		"\x00\x01\x02": "binary",
	} {
		if _, enc := DecodeText([]byte(in)); enc != want {
			t.Errorf("%q: %s, want %s", in, enc, want)
		}
	}
}

func TestResultFinishDropsClaimsOnSigFailure(t *testing.T) {
	r := &Result{Claims: claimsFunc(func() []Claim { return []Claim{{Name: "x", Value: 1}} })}
	r.Failf("report.signature", ClassSig, "bad")
	r.Finish()
	if r.Verdict != Fail || r.Claims != nil {
		t.Fatalf("verdict %s, claims %v", r.Verdict, r.Claims)
	}
	p := &Result{Claims: claimsFunc(func() []Claim { return nil })}
	p.Violate("vmpl", "", "0", "2")
	p.Finish()
	if p.Verdict != Fail || p.Claims == nil || !p.HasFailure(ClassPolicy) {
		t.Fatalf("policy failure must keep claims: %+v", p)
	}
}

type claimsFunc func() []Claim

func (f claimsFunc) Claims() []Claim { return f() }

func FuzzParseBundle(f *testing.F) {
	b := &Bundle{Platform: "sev-snp", Nonce: HexBytes{1}, Artifacts: []Artifact{{Kind: KindSNPReport, Data: []byte{2, 0, 0, 0}}},
		Collateral: []Artifact{{Kind: KindCertificate, Name: "vcek.der", Data: []byte{0x30}}}}
	seed, _ := b.Marshal()
	f.Add(seed)
	f.Add([]byte(`{"schema":"cloudra.evidence/v1","artifacts":[]}`))
	f.Add([]byte(`{"schema":"cloudra.evidence/v1","artifacts":[{"kind":"x","data":"AA==","meta":{"a":"b"}}]} `))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if b != nil {
				t.Fatal("bundle returned with an error")
			}
			return
		}
		// An accepted bundle re-marshals and parses to the same artifacts.
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseBundle(out)
		if err != nil {
			t.Fatalf("re-marshalled bundle rejected: %v", err)
		}
		if len(c.Artifacts) != len(b.Artifacts) {
			t.Fatal("artifacts lost in a round trip")
		}
		for i := range c.Artifacts {
			if !bytes.Equal(c.Artifacts[i].Data, b.Artifacts[i].Data) || c.Artifacts[i].Kind != b.Artifacts[i].Kind {
				t.Fatal("artifact changed in a round trip")
			}
		}
	})
}

// TestCollateralMergeIsLinear: merging thousands of certificates and CRLs
// deduplicates them by their bytes in linear time (a bundle at the server's
// body limit carries about 1,500).
func TestCollateralMergeIsLinear(t *testing.T) {
	const n = 20000
	src := &Collateral{}
	for i := 0; i < n; i++ {
		raw := make([]byte, 1024)
		binary.BigEndian.PutUint32(raw[1020:], uint32(i))
		src.Certificates = append(src.Certificates, &x509.Certificate{Raw: raw})
		src.CRLs = append(src.CRLs, &x509.RevocationList{Raw: raw})
	}
	start := time.Now()
	dst := &Collateral{}
	dst.Merge(src)
	dst.Merge(src) // every item again: all duplicates
	dst.AddCertificate(&x509.Certificate{Raw: append([]byte(nil), src.Certificates[7].Raw...)})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("merging %d items twice took %v", 2*n, d)
	}
	if len(dst.Certificates) != n || len(dst.CRLs) != n {
		t.Fatalf("%d certificates, %d CRLs after merging %d twice", len(dst.Certificates), len(dst.CRLs), n)
	}
	// A set changed by hand is re-indexed, not trusted.
	dst.Certificates = dst.Certificates[:n-1]
	dst.AddCertificate(src.Certificates[n-1])
	if len(dst.Certificates) != n {
		t.Fatalf("re-adding a removed certificate: %d", len(dst.Certificates))
	}
}
