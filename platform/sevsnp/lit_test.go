package sevsnp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"math/big"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestLITBadSignature: LIT's guest_report_bad_sig.bin carries the good
// report's signature over a body that differs at byte 347 (plus a trailing
// newline). No VCEK is stored for this chip, so the signer's public key is
// recovered from the good report's signature (ECDSA public-key recovery,
// SEC 1 §4.1.6), checked to verify the good report, and then the bad body must
// not verify under it: REJECT/sig (and REJECT/parse for the trailing byte,
// TestParseReportLIT).
func TestLITBadSignature(t *testing.T) {
	good, err := ParseReport(vectortest.Read(t, "snp/lit-protocol-milan-v2-report-only/guest_report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	badRaw := vectortest.Read(t, "snp/lit-protocol-milan-v2-report-only/guest_report_bad_sig.bin")
	bad, err := ParseReport(badRaw[:ReportSize])
	if err != nil {
		t.Fatal(err)
	}
	dg := sha512.Sum384(good.Signed())
	db := sha512.Sum384(bad.Signed())
	keys := recoverP384(t, &good.R, &good.S, dg[:])
	found := 0
	for _, k := range keys {
		if verifyReportSig(k, dg[:], &good.R, &good.S) {
			found++
			if verifyReportSig(k, db[:], &bad.R, &bad.S) {
				t.Fatal("bad_sig report verifies under the good report's signer")
			}
		}
	}
	if found == 0 {
		t.Fatal("no recovered key verifies the good report")
	}
}

func leInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

type pt struct{ x, y *big.Int } // nil = point at infinity

func recoverP384(t *testing.T, rb, sb *[sigComponentLen]byte, digest []byte) []*ecdsa.PublicKey {
	p := elliptic.P384().Params()
	r, s, e := leInt(rb[:]), leInt(sb[:]), new(big.Int).SetBytes(digest)
	mod := func(x *big.Int) *big.Int { return x.Mod(x, p.P) }
	add := func(a, b *pt) *pt {
		if a == nil {
			return b
		}
		if b == nil {
			return a
		}
		var l *big.Int
		if a.x.Cmp(b.x) == 0 {
			if new(big.Int).Add(a.y, b.y).Cmp(p.P) == 0 || a.y.Sign() == 0 && b.y.Sign() == 0 {
				return nil
			}
			// λ = (3x² − 3) / 2y
			num := mod(new(big.Int).Sub(new(big.Int).Mul(big.NewInt(3), new(big.Int).Mul(a.x, a.x)), big.NewInt(3)))
			den := new(big.Int).ModInverse(mod(new(big.Int).Mul(big.NewInt(2), a.y)), p.P)
			l = mod(num.Mul(num, den))
		} else {
			num := mod(new(big.Int).Sub(b.y, a.y))
			den := new(big.Int).ModInverse(mod(new(big.Int).Sub(b.x, a.x)), p.P)
			l = mod(num.Mul(num, den))
		}
		x := mod(new(big.Int).Sub(new(big.Int).Sub(new(big.Int).Mul(l, l), a.x), b.x))
		y := mod(new(big.Int).Sub(new(big.Int).Mul(l, new(big.Int).Sub(a.x, x)), a.y))
		return &pt{x, y}
	}
	mul := func(k *big.Int, a *pt) *pt {
		var acc *pt
		for i := k.BitLen() - 1; i >= 0; i-- {
			acc = add(acc, acc)
			if k.Bit(i) == 1 {
				acc = add(acc, a)
			}
		}
		return acc
	}
	// y² = x³ − 3x + b; p ≡ 3 (mod 4), so √v = v^((p+1)/4).
	x := new(big.Int).Set(r)
	rhs := mod(new(big.Int).Add(new(big.Int).Sub(new(big.Int).Exp(x, big.NewInt(3), p.P), new(big.Int).Mul(big.NewInt(3), x)), p.B))
	y := new(big.Int).Exp(rhs, new(big.Int).Rsh(new(big.Int).Add(p.P, big.NewInt(1)), 2), p.P)
	if mod(new(big.Int).Mul(y, y)).Cmp(rhs) != 0 {
		t.Fatal("r is not an x coordinate on P-384")
	}
	rInv := new(big.Int).ModInverse(r, p.N)
	negE := new(big.Int).Mod(new(big.Int).Neg(e), p.N)
	g := &pt{p.Gx, p.Gy}
	var out []*ecdsa.PublicKey
	for _, yy := range []*big.Int{y, new(big.Int).Sub(p.P, y)} {
		R := &pt{x, yy}
		q := mul(rInv, add(mul(s, R), mul(negE, g)))
		if q != nil {
			enc := make([]byte, 1+2*p384Len)
			enc[0] = 4
			q.x.FillBytes(enc[1 : 1+p384Len])
			q.y.FillBytes(enc[1+p384Len:])
			k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), enc)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, k)
		}
	}
	return out
}
