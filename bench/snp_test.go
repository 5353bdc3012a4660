package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	gsverify "github.com/google/go-sev-guest/verify"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/sevsnp"
)

// snpVector is the virtee/sev Milan v2 report with its VCEK and AMD chain:
// one genuine report that every verifier under test accepts.
const snpVector = "snp/virtee-sev-milan-v2-vcek"

var snpTime = time.Date(2023, 4, 4, 19, 23, 43, 0, time.UTC)

func vectors(tb testing.TB) string {
	tb.Helper()
	for _, d := range []string{"../../shared/vectors", "../../../shared/vectors"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	tb.Skip("shared vectors not present")
	return ""
}

func read(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(vectors(tb), rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func pemCerts(tb testing.TB, b []byte) []*x509.Certificate {
	tb.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
	}
}

// leBig reads a zero-extended little-endian integer (SNP signature r or s).
func leBig(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

// BenchmarkVerifySNP compares, on the same report in the same run: cloudra's
// warm verification (chain verified once and cached), go-sev-guest v0.15.0
// verify.SnpAttestation with the same certificates and no fetching, and the
// floor: SHA-384 plus one ECDSA P-384 verification with a pre-parsed key.
func BenchmarkVerifySNP(b *testing.B) {
	report := read(b, snpVector+"/report.bin")
	vcekDER := read(b, snpVector+"/vcek.der")
	chain := pemCerts(b, read(b, snpVector+"/cert_chain_milan.pem"))
	vcek, err := x509.ParseCertificate(vcekDER)
	if err != nil {
		b.Fatal(err)
	}

	roots, err := sevsnp.DefaultRoots()
	if err != nil {
		b.Fatal(err)
	}
	v := sevsnp.NewVerifier(roots)
	col := &cloudra.Collateral{Certificates: append([]*x509.Certificate{vcek}, chain...)}
	pol := &sevsnp.Policy{}
	opts := cloudra.Options{Time: snpTime}
	ev := sevsnp.Evidence{Report: report}
	verifyCloudra := func(b *testing.B) {
		res, err := v.Verify(context.Background(), ev, col, pol, opts)
		if err != nil || res.Verdict != cloudra.Pass {
			b.Fatalf("cloudra rejects the benchmark report: %v", err)
		}
	}
	rep, err := abi.ReportToProto(report)
	if err != nil {
		b.Fatal(err)
	}
	att := &spb.Attestation{Report: rep, CertificateChain: &spb.CertificateChain{
		VcekCert: vcekDER, AskCert: chain[0].Raw, ArkCert: chain[1].Raw}}
	gsOpts := &gsverify.Options{DisableCertFetching: true, Now: snpTime,
		Product: &spb.SevProduct{Name: spb.SevProduct_SEV_PRODUCT_MILAN}}
	verifyAnchor := func(b *testing.B) {
		if err := gsverify.SnpAttestation(att, gsOpts); err != nil {
			b.Fatal(err)
		}
	}
	pub := vcek.PublicKey.(*ecdsa.PublicKey)
	verifyRaw := func(b *testing.B) {
		h := sha512.Sum384(report[:0x2a0])
		r, s := leBig(report[0x2a0:0x2a0+72]), leBig(report[0x2e8:0x2e8+72])
		if !ecdsa.Verify(pub, h[:], r, s) {
			b.Fatal("raw verify failed")
		}
	}
	verifyCloudra(b) // warm: the chain is verified once and cached
	b.Run("cloudra", loop(verifyCloudra))
	b.Run("go-sev-guest", loop(verifyAnchor))
	b.Run("raw", loop(verifyRaw))
	b.Run("interleaved", func(b *testing.B) {
		interleaved(b, "cloudra", verifyCloudra, "raw", verifyRaw)
	})
	b.Run("interleaved-anchor", func(b *testing.B) {
		interleaved(b, "go-sev-guest", verifyAnchor, "raw", verifyRaw)
	})
}
