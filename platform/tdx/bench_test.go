package tdx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
)

// BenchmarkRawFloor is the irreducible cost of a TDX quote: two SHA-256 +
// ECDSA P-256 verifies (quote by the attestation key, QE report by the PCK
// key), keys pre-parsed.
func BenchmarkRawFloor(b *testing.B) {
	raw := vectortest.Read(b, "tdx/dcapqvl-v4-uptodate/quote.bin")
	q, err := dcap.ParseQuote(raw)
	if err != nil {
		b.Fatal(err)
	}
	sd := q.Signature()
	ak, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, sd.AttestationKey[:]...))
	if err != nil {
		b.Fatal(err)
	}
	certs, err := dcap.ParsePCKChain(sd.QE.Cert.Data)
	if err != nil {
		b.Fatal(err)
	}
	pck := certs[0].PublicKey.(*ecdsa.PublicKey)
	verify := func(k *ecdsa.PublicKey, msg []byte, sig []byte) bool {
		h := sha256.Sum256(msg)
		return ecdsa.Verify(k, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	b.ReportAllocs()
	for b.Loop() {
		if !verify(ak, q.SignedBytes(), sd.Signature[:]) || !verify(pck, sd.QE.Report.Raw[:], sd.QE.ReportSignature[:]) {
			b.Fatal("verify")
		}
	}
}

// BenchmarkVerifyWarm is a full verification (parse, signatures, chain, CRLs,
// TCB Info, QE Identity, TCB evaluation, default policy) with the
// verifier's caches warm, as a server sees repeated quotes from one fleet.
func BenchmarkVerifyWarm(b *testing.B) {
	raw := vectortest.Read(b, "tdx/dcapqvl-v4-uptodate/quote.bin")
	col := dcaptest.LoadCollateral(b, "tdx/dcapqvl-v4-uptodate/collateral")
	opts := cloudra.Options{Time: vectortest.Time(b, "2025-07-01T00:00:00Z")}
	v, err := NewVerifier()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.Verify(context.Background(), Evidence{Quote: raw}, col, nil, opts)
		if err != nil || res.Verdict != cloudra.Pass {
			b.Fatal(err, res.Checks)
		}
	}
}

// BenchmarkVerifyCold builds a new verifier (empty caches) every time.
func BenchmarkVerifyCold(b *testing.B) {
	raw := vectortest.Read(b, "tdx/dcapqvl-v4-uptodate/quote.bin")
	col := dcaptest.LoadCollateral(b, "tdx/dcapqvl-v4-uptodate/collateral")
	opts := cloudra.Options{Time: vectortest.Time(b, "2025-07-01T00:00:00Z")}
	b.ReportAllocs()
	for b.Loop() {
		v, err := NewVerifier()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), Evidence{Quote: raw}, col, nil, opts); err != nil {
			b.Fatal(err)
		}
	}
}
