package sevsnp

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

const benchDir = "snp/virtee-sev-milan-v2-vcek"

// BenchmarkVerifyWarm is a full Verify with warm caches (leaf parsed, chain
// verified): the target is ≤ 1.10× BenchmarkRawP384 and ≤ 30 allocations.
func BenchmarkVerifyWarm(b *testing.B) {
	rep := vectortest.Read(b, benchDir+"/report.bin")
	col := collateral(b, benchDir, "vcek.der", "cert_chain_milan.pem")
	v := NewVerifier(testRoots(b))
	opts := cloudra.Options{Time: vectortest.Time(b, "2023-04-04T19:23:43Z")}
	if res, err := v.Verify(context.Background(), Evidence{Report: rep}, col, nil, opts); err != nil || res.Verdict != cloudra.Pass {
		b.Fatalf("%v %v", err, res.FailureClasses())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := v.Verify(context.Background(), Evidence{Report: rep}, col, nil, opts)
		if err != nil || res.Verdict != cloudra.Pass {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkRawP384 is the floor: SHA-384 of the signed span plus one ECDSA
// P-384 verification with a pre-parsed key.
func BenchmarkRawP384(b *testing.B) {
	rep := vectortest.Read(b, benchDir+"/report.bin")
	cert := readCerts(b, benchDir+"/vcek.der")[0]
	pub := cert.PublicKey.(*ecdsa.PublicKey)
	r, err := ParseReport(rep)
	if err != nil {
		b.Fatal(err)
	}
	d := sha512.Sum384(rep[:SignedSize])
	if !verifyReportSig(pub, d[:], &r.R, &r.S) {
		b.Fatal("no verify")
	}
	sig := derSig(&r.R, &r.S)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d := sha512.Sum384(rep[:SignedSize])
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			b.Fatal("no verify")
		}
	}
}

func derSig(r, s *[sigComponentLen]byte) []byte {
	var out []byte
	for _, x := range []*[sigComponentLen]byte{r, s} {
		be := make([]byte, p384Len)
		for i := range be {
			be[i] = x[p384Len-1-i]
		}
		for len(be) > 0 && be[0] == 0 {
			be = be[1:]
		}
		if be[0]&0x80 != 0 {
			be = append([]byte{0}, be...)
		}
		out = append(out, 0x02, byte(len(be)))
		out = append(out, be...)
	}
	return append([]byte{0x30, byte(len(out))}, out...)
}

// BenchmarkWarmOverRaw interleaves one warm Verify and one raw P-384 check
// per iteration, so machine load affects both alike, and reports their time
// ratio (target ≤ 1.10).
func BenchmarkWarmOverRaw(b *testing.B) {
	rep := vectortest.Read(b, benchDir+"/report.bin")
	col := collateral(b, benchDir, "vcek.der", "cert_chain_milan.pem")
	v := NewVerifier(testRoots(b))
	opts := cloudra.Options{Time: vectortest.Time(b, "2023-04-04T19:23:43Z")}
	if _, err := v.Verify(context.Background(), Evidence{Report: rep}, col, nil, opts); err != nil {
		b.Fatal(err)
	}
	r, _ := ParseReport(rep)
	pub := readCerts(b, benchDir+"/vcek.der")[0].PublicKey.(*ecdsa.PublicKey)
	sig := derSig(&r.R, &r.S)
	var warm, raw time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if res, err := v.Verify(context.Background(), Evidence{Report: rep}, col, nil, opts); err != nil || res.Verdict != cloudra.Pass {
			b.Fatal("verify")
		}
		t1 := time.Now()
		d := sha512.Sum384(rep[:SignedSize])
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			b.Fatal("raw")
		}
		t2 := time.Now()
		warm += t1.Sub(t0)
		raw += t2.Sub(t1)
	}
	b.ReportMetric(float64(warm)/float64(raw), "warm/raw")
}

// BenchmarkVerifyCold is a verification by a new verifier (empty caches):
// VCEK parse, the ARK→ASK→VCEK chain (RSA-4096-PSS) and the report.
func BenchmarkVerifyCold(b *testing.B) {
	rep := vectortest.Read(b, benchDir+"/report.bin")
	col := collateral(b, benchDir, "vcek.der", "cert_chain_milan.pem")
	roots := testRoots(b)
	opts := cloudra.Options{Time: vectortest.Time(b, "2023-04-04T19:23:43Z")}
	b.ReportAllocs()
	for b.Loop() {
		res, err := NewVerifier(roots).Verify(context.Background(), Evidence{Report: rep}, col, nil, opts)
		if err != nil || res.Verdict != cloudra.Pass {
			b.Fatal("verify failed")
		}
	}
}
