package tpm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// The forge kit mints TPM-like attestation keys and signs arbitrary
// (mutated) structures with them, so every negative case differs from its
// positive twin in exactly one field.

var (
	forgeOnce sync.Once
	forgeRSA  *rsa.PrivateKey
	forgeEC   *ecdsa.PrivateKey
	otherRSA  *rsa.PrivateKey
)

func keys(t testing.TB) {
	forgeOnce.Do(func() {
		var err error
		if forgeRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
		if otherRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
		if forgeEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	})
}

// tpmtRSA marshals a TPMT_PUBLIC for an RSA key.
func tpmtRSA(k *rsa.PublicKey, attrs uint32, scheme, hash Alg) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(AlgRSA))
	b.AddUint16(uint16(AlgSHA256))
	b.AddUint32(attrs)
	b.AddUint16(0) // authPolicy
	b.AddUint16(uint16(AlgNull))
	b.AddUint16(uint16(scheme))
	if scheme != AlgNull {
		b.AddUint16(uint16(hash))
	}
	b.AddUint16(uint16(k.N.BitLen()))
	b.AddUint32(0) // default exponent
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(k.N.Bytes()) })
	return b.BytesOrPanic()
}

// tpmtECC marshals a TPMT_PUBLIC for a P-256 key.
func tpmtECC(k *ecdsa.PublicKey, attrs uint32) []byte {
	raw, _ := k.Bytes()
	x, y := raw[1:33], raw[33:]
	var b cryptobyte.Builder
	b.AddUint16(uint16(AlgECC))
	b.AddUint16(uint16(AlgSHA256))
	b.AddUint32(attrs)
	b.AddUint16(0)
	b.AddUint16(uint16(AlgNull))
	b.AddUint16(uint16(AlgECDSA))
	b.AddUint16(uint16(AlgSHA256))
	b.AddUint16(CurveP256)
	b.AddUint16(uint16(AlgNull))
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(x) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(y) })
	return b.BytesOrPanic()
}

// rsaAK returns the forge RSA AK with AK attributes and RSASSA-SHA256.
func rsaAK(t testing.TB) *Public {
	keys(t)
	p, err := ParseTPMTPublic(tpmtRSA(&forgeRSA.PublicKey, AKAttributes|AttrUserWithAuth, AlgRSASSA, AlgSHA256))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testPCRs returns SHA-256 PCRs 0..7 with distinct values.
func testPCRs() PCRs {
	p := PCRs{}
	for i := 0; i < 8; i++ {
		v := make([]byte, 32)
		v[0] = byte(i + 1)
		p.Set(AlgSHA256, i, v)
	}
	return p
}

func sel0to7() []PCRSelection {
	return []PCRSelection{{Hash: AlgSHA256, SizeOfSelect: 3, PCRs: []int{0, 1, 2, 3, 4, 5, 6, 7}}}
}

// digestOf computes pcrDigest of p over sel with h.
func digestOf(h crypto.Hash, sel []PCRSelection, p PCRs) []byte {
	hh := h.New()
	for _, s := range sel {
		for _, i := range s.PCRs {
			hh.Write(p[s.Hash][i])
		}
	}
	return hh.Sum(nil)
}

// goodAttest is a valid quote over testPCRs with the given nonce.
func goodAttest(nonce []byte) *Attest {
	return &Attest{
		Magic: GeneratedValue, Type: STAttestQuote,
		QualifiedSigner: append([]byte{0, 0x0b}, make([]byte, 32)...),
		ExtraData:       nonce,
		ClockInfo:       ClockInfo{Clock: 12345, ResetCount: 2, RestartCount: 1, Safe: true},
		FirmwareVersion: 0x2016051100162800,
		PCRSelect:       sel0to7(),
		PCRDigest:       digestOf(crypto.SHA256, sel0to7(), testPCRs()),
	}
}

// signRSA signs msg as a TPMT_SIGNATURE with the given key and scheme.
func signRSA(t testing.TB, k *rsa.PrivateKey, alg, hash Alg, msg []byte) []byte {
	h, _ := hash.Hash()
	hh := h.New()
	hh.Write(msg)
	var s []byte
	var err error
	if alg == AlgRSAPSS {
		s, err = rsa.SignPSS(rand.Reader, k, h, hh.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		s, err = rsa.SignPKCS1v15(rand.Reader, k, h, hh.Sum(nil))
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&Signature{Alg: alg, Hash: hash, RSA: s}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signEC(t testing.TB, k *ecdsa.PrivateKey, msg []byte) []byte {
	hh := crypto.SHA256.New()
	hh.Write(msg)
	r, s, err := ecdsa.Sign(rand.Reader, k, hh.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := (&Signature{Alg: AlgECDSA, Hash: AlgSHA256, R: r.Bytes(), S: s.Bytes()}).Marshal()
	return b
}

// forgeQuote marshals a, signs it with the forge RSA key, and returns the
// quote with testPCRs.
func forgeQuote(t testing.TB, a *Attest) Quote {
	raw, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return forgeRaw(t, raw)
}

func forgeRaw(t testing.TB, raw []byte) Quote {
	keys(t)
	return Quote{Attest: raw, Signature: signRSA(t, forgeRSA, AlgRSASSA, AlgSHA256, raw), PCRs: testPCRs()}
}
