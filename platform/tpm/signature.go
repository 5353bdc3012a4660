package tpm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
)

// Signature is a parsed TPMT_SIGNATURE (Part 2, §11.3.4) restricted to the
// schemes an attestation key uses: RSASSA-PKCS1-v1_5, RSA-PSS and ECDSA.
type Signature struct {
	Raw  []byte // nil when built by PlainSignature
	Alg  Alg    // AlgRSASSA, AlgRSAPSS or AlgECDSA
	Hash Alg    // the digest algorithm applied to the signed bytes
	// RSA holds the RSA signature; R and S the ECDSA pair (big-endian,
	// as TPM2B_ECC_PARAMETER carries them).
	RSA  []byte
	R, S []byte
}

// ParseSignature parses a TPMT_SIGNATURE (the default `tpm2_quote -s`
// output, `-f tss`). Raw signatures (`-f plain`) need PlainSignature,
// since they do not name their scheme.
func ParseSignature(b []byte) (*Signature, error) {
	sig := &Signature{Raw: append([]byte(nil), b...)}
	s := cryptobyte.String(sig.Raw)
	var alg, hash uint16
	if !s.ReadUint16(&alg) {
		return nil, perr("TPMT_SIGNATURE", "truncated sigAlg")
	}
	sig.Alg = Alg(alg)
	switch sig.Alg {
	case AlgRSASSA, AlgRSAPSS:
		var v cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint16LengthPrefixed(&v) {
			return nil, perr("TPMT_SIGNATURE", "truncated RSA signature")
		}
		if len(v) == 0 || len(v) > 1024 {
			return nil, perr("TPMT_SIGNATURE", "RSA signature of %d bytes", len(v))
		}
		sig.RSA = []byte(v)
	case AlgECDSA:
		var r, sv cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint16LengthPrefixed(&r) || !s.ReadUint16LengthPrefixed(&sv) {
			return nil, perr("TPMT_SIGNATURE", "truncated ECDSA signature")
		}
		if len(r) == 0 || len(sv) == 0 || len(r) > 66 || len(sv) > 66 {
			return nil, perr("TPMT_SIGNATURE", "ECDSA r/s sizes %d/%d", len(r), len(sv))
		}
		sig.R, sig.S = []byte(r), []byte(sv)
	default:
		return nil, perr("TPMT_SIGNATURE", "unsupported signature scheme %v (hint: attestation keys sign with rsassa, rsapss or ecdsa)", sig.Alg)
	}
	sig.Hash = Alg(hash)
	if _, ok := sig.Hash.Hash(); !ok {
		return nil, perr("TPMT_SIGNATURE", "unsupported hash algorithm %v", sig.Hash)
	}
	if !s.Empty() {
		return nil, perr("TPMT_SIGNATURE", "%d trailing bytes", len(s))
	}
	return sig, nil
}

// PlainSignature wraps a raw signature (`tpm2_quote -f plain`, Azure and
// trustee quote files) with the scheme and hash the caller knows the AK
// uses. For ECDSA, b is r‖s with equal halves.
func PlainSignature(alg, hash Alg, b []byte) (*Signature, error) {
	if _, ok := hash.Hash(); !ok {
		return nil, fmt.Errorf("tpm: unsupported hash algorithm %v", hash)
	}
	sig := &Signature{Alg: alg, Hash: hash}
	switch alg {
	case AlgRSASSA, AlgRSAPSS:
		if len(b) == 0 || len(b) > 1024 {
			return nil, fmt.Errorf("tpm: RSA signature of %d bytes", len(b))
		}
		sig.RSA = append([]byte(nil), b...)
	case AlgECDSA:
		if len(b) == 0 || len(b)%2 != 0 || len(b) > 132 {
			return nil, fmt.Errorf("tpm: ECDSA r||s of %d bytes", len(b))
		}
		c := append([]byte(nil), b...)
		sig.R, sig.S = c[:len(c)/2], c[len(c)/2:]
	default:
		return nil, fmt.Errorf("tpm: unsupported signature scheme %v", alg)
	}
	return sig, nil
}

// Marshal encodes the signature as TPMT_SIGNATURE.
func (sig *Signature) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint16(uint16(sig.Alg))
	b.AddUint16(uint16(sig.Hash))
	switch sig.Alg {
	case AlgRSASSA, AlgRSAPSS:
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sig.RSA) })
	case AlgECDSA:
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sig.R) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sig.S) })
	default:
		return nil, fmt.Errorf("tpm: unsupported signature scheme %v", sig.Alg)
	}
	return b.Bytes()
}

// errSigKey is a signature whose scheme does not fit the key.
var errSigKey = errors.New("signature scheme does not match the key type")

// Verify checks sig over msg (hashed with sig.Hash) under pub. The scheme
// comes from the signature alone; no other interpretation is tried
// (pitfalls A6). RSA-PSS accepts any salt length, because TPMs differ
// (Part 1 rev 1.16: largest salt the key allows; later: digest size).
func (sig *Signature) Verify(pub crypto.PublicKey, msg []byte) error {
	h, ok := sig.Hash.Hash()
	if !ok {
		return fmt.Errorf("unsupported hash algorithm %v", sig.Hash)
	}
	hh := h.New()
	hh.Write(msg)
	digest := hh.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch sig.Alg {
		case AlgRSASSA:
			return rsa.VerifyPKCS1v15(k, h, digest, sig.RSA)
		case AlgRSAPSS:
			return rsa.VerifyPSS(k, h, digest, sig.RSA, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h})
		}
		return fmt.Errorf("%w: %v with an RSA key", errSigKey, sig.Alg)
	case *ecdsa.PublicKey:
		if sig.Alg != AlgECDSA {
			return fmt.Errorf("%w: %v with an ECC key", errSigKey, sig.Alg)
		}
		r, s := new(big.Int).SetBytes(sig.R), new(big.Int).SetBytes(sig.S)
		if !ecdsa.Verify(k, digest, r, s) {
			return errors.New("ecdsa: verification error")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key type %T", pub)
}
