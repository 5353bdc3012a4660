package sevsnp

import (
	"context"
	"crypto/elliptic"
	"math/big"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/sevsnptest"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// leScalar reads the 72-byte little-endian R or S at off.
func leScalar(b []byte, off int) *big.Int {
	be := make([]byte, sigComponentLen)
	for i := range be {
		be[i] = b[off+sigComponentLen-1-i]
	}
	return new(big.Int).SetBytes(be)
}

const offR, offS = SignedSize, SignedSize + sigComponentLen

// TestSNPSignatureHighSAccepted pins the ECDSA "high-S" choice (see
// docs/pitfalls-snp.md, "ECDSA high-S"): the SEV-SNP ABI defines no low-S
// rule and FIPS 186-5 ECDSA accepts any s in [1, n-1], so (r, s) and
// (r, n-s) both verify and give the same verdict and the same claims. The
// report bytes, not the signature, are what a verification identifies.
func TestSNPSignatureHighSAccepted(t *testing.T) {
	f := newFixture(t, Milan, false)
	sameVerdict(t, f.report, func(rep []byte) *cloudra.Result { return f.verify(Evidence{Report: rep}, nil) })
	// Real firmware signs with high S about half of the time: the oak Genoa
	// v5 report's S is above n/2.
	vectortest.Dir(t)
	dir := "snp/oak-genoa-oc"
	rep := vectortest.Read(t, dir+"/report.bin")
	if leScalar(rep, offS).Cmp(new(big.Int).Rsh(elliptic.P384().Params().N, 1)) <= 0 {
		t.Fatal("the oak Genoa report was expected to carry a high S")
	}
	v := NewVerifier(testRoots(t))
	col := collateral(t, dir, "vcek.der", "ask_ark_genoa.pem")
	at := vectortest.Time(t, "2025-08-08T17:21:41Z")
	sameVerdict(t, rep, func(rep []byte) *cloudra.Result {
		res, err := v.Verify(context.Background(), Evidence{Report: rep}, col, nil, cloudra.Options{Time: at})
		res = checktest.Result(t, res, err)
		return res
	})
}

// sameVerdict verifies rep and its twin with S replaced by n-S: both must
// be accepted with the same claims and signer.
func sameVerdict(t *testing.T, rep []byte, verify func([]byte) *cloudra.Result) {
	t.Helper()
	n := elliptic.P384().Params().N
	half := new(big.Int).Rsh(n, 1)
	s := leScalar(rep, offS)
	twin := append([]byte(nil), rep...)
	sevsnptest.PutLE(twin[offS:offS+sigComponentLen], new(big.Int).Sub(n, s))
	if s.Cmp(half) > 0 == (leScalar(twin, offS).Cmp(half) > 0) {
		t.Fatal("exactly one of s and n-s is above n/2")
	}
	a, b := verify(rep), verify(twin)
	checktest.WantPass(t, a)
	checktest.WantPass(t, b)
	ca, cb := a.Claims.Claims(), b.Claims.Claims()
	if len(ca) != len(cb) {
		t.Fatalf("claims differ: %v / %v", ca, cb)
	}
	for i := range ca {
		if ca[i] != cb[i] {
			t.Errorf("claim %s: %v / %v", ca[i].Name, ca[i].Value, cb[i].Value)
		}
		if ca[i].Name == "SIGNATURE.S" || ca[i].Name == "SIGNATURE.R" {
			t.Errorf("verified claims carry the signature (%s): it is not an identity", ca[i].Name)
		}
	}
	if a.Signer != b.Signer {
		t.Errorf("signer %q / %q", a.Signer, b.Signer)
	}
}

// TestSNPSignatureOutOfRangeRejected: r or s of zero, or at least n, never
// verifies (no reduction modulo n), and non-zero bytes above the 48-byte
// scalars are refused before any signature check (ABI spec: R and S are
// zero-extended to 72 bytes).
func TestSNPSignatureOutOfRangeRejected(t *testing.T) {
	f := newFixture(t, Milan, false)
	n := elliptic.P384().Params().N
	max384 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 384), big.NewInt(1))
	s, r := leScalar(f.report, offS), leScalar(f.report, offR)
	for _, c := range []struct {
		name string
		off  int
		v    *big.Int
	}{
		{"s = 0", offS, big.NewInt(0)},
		{"s = n", offS, n},
		{"s = n+1", offS, new(big.Int).Add(n, big.NewInt(1))},
		{"s = 2^384-1", offS, max384},
		{"r = 0", offR, big.NewInt(0)},
		{"r = n", offR, n},
		{"r = 2^384-1", offR, max384},
		// Congruent to the valid values modulo n. n > 2^383, so s+n fits
		// in 48 bytes only for s < 2^384-n (about 2^190): in practice it
		// spills into the zero extension and fails to parse.
		{"s + n", offS, new(big.Int).Add(s, n)},
		{"r + n", offR, new(big.Int).Add(r, n)},
	} {
		rep := append([]byte(nil), f.report...)
		buf := make([]byte, sigComponentLen+8)
		sevsnptest.PutLE(buf, c.v)
		copy(rep[c.off:c.off+sigComponentLen], buf)
		res := f.verify(Evidence{Report: rep}, nil)
		if c.v.BitLen() > 8*p384Len {
			// Spills into the zero extension: a parse failure.
			checktest.WantFail(t, res, checkParse, cloudra.ClassParse)
			continue
		}
		checktest.WantFail(t, res, checkSignature, cloudra.ClassSig)
	}
	for _, off := range []int{offR + p384Len, offR + sigComponentLen - 1, offS + p384Len, offS + sigComponentLen - 1} {
		rep := append([]byte(nil), f.report...)
		rep[off] = 1
		checktest.WantFail(t, f.verify(Evidence{Report: rep}, nil), checkParse, cloudra.ClassParse)
	}
}
