package tpm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
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
	sig, err := parseSignature(bytes.Clone(b))
	if err != nil {
		return nil, err
	}
	return &sig, nil
}

// parseSignature parses b in place: the result aliases b.
func parseSignature(b []byte) (Signature, error) {
	sig := Signature{Raw: b}
	s := cryptobyte.String(b)
	var alg, hash uint16
	if !s.ReadUint16(&alg) {
		return Signature{}, perr("TPMT_SIGNATURE", "truncated sigAlg")
	}
	sig.Alg = Alg(alg)
	switch sig.Alg {
	case AlgRSASSA, AlgRSAPSS:
		var v cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint16LengthPrefixed(&v) {
			return Signature{}, perr("TPMT_SIGNATURE", "truncated RSA signature")
		}
		if len(v) == 0 || len(v) > 1024 {
			return Signature{}, perr("TPMT_SIGNATURE", "RSA signature of %d bytes", len(v))
		}
		sig.RSA = []byte(v)
	case AlgECDSA:
		var r, sv cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint16LengthPrefixed(&r) || !s.ReadUint16LengthPrefixed(&sv) {
			return Signature{}, perr("TPMT_SIGNATURE", "truncated ECDSA signature")
		}
		if len(r) == 0 || len(sv) == 0 || len(r) > 66 || len(sv) > 66 {
			return Signature{}, perr("TPMT_SIGNATURE", "ECDSA r/s sizes %d/%d", len(r), len(sv))
		}
		sig.R, sig.S = []byte(r), []byte(sv)
	default:
		return Signature{}, perr("TPMT_SIGNATURE", "unsupported signature scheme %v (hint: attestation keys sign with rsassa, rsapss or ecdsa)", sig.Alg)
	}
	sig.Hash = Alg(hash)
	if _, ok := sig.Hash.Hash(); !ok {
		return Signature{}, perr("TPMT_SIGNATURE", "unsupported hash algorithm %v", sig.Hash)
	}
	if !s.Empty() {
		return Signature{}, perr("TPMT_SIGNATURE", "%d trailing bytes", len(s))
	}
	return sig, nil
}

// PlainSignature wraps a raw signature (`tpm2_quote -f plain`, Azure and
// trustee quote files) with the scheme and hash the caller knows the AK
// uses. For ECDSA, b is r‖s with equal halves.
func PlainSignature(alg, hash Alg, b []byte) (*Signature, error) {
	sig, err := plainSignature(alg, hash, bytes.Clone(b))
	if err != nil {
		return nil, err
	}
	return &sig, nil
}

// plainSignature is PlainSignature without the copy: the result aliases b.
func plainSignature(alg, hash Alg, b []byte) (Signature, error) {
	if _, ok := hash.Hash(); !ok {
		return Signature{}, fmt.Errorf("tpm: unsupported hash algorithm %v", hash)
	}
	sig := Signature{Alg: alg, Hash: hash}
	switch alg {
	case AlgRSASSA, AlgRSAPSS:
		if len(b) == 0 || len(b) > 1024 {
			return Signature{}, fmt.Errorf("tpm: RSA signature of %d bytes", len(b))
		}
		sig.RSA = b
	case AlgECDSA:
		if len(b) == 0 || len(b)%2 != 0 || len(b) > 132 {
			return Signature{}, fmt.Errorf("tpm: ECDSA r||s of %d bytes", len(b))
		}
		sig.R, sig.S = b[:len(b)/2], b[len(b)/2:]
	default:
		return Signature{}, fmt.Errorf("tpm: unsupported signature scheme %v", alg)
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
// (docs/pitfalls-tpm.md A6). RSA-PSS accepts any salt length, because TPMs differ
// (Part 1 rev 1.16: largest salt the key allows; later: digest size).
func (sig *Signature) Verify(pub crypto.PublicKey, msg []byte) error {
	h, ok := sig.Hash.Hash()
	if !ok {
		return fmt.Errorf("unsupported hash algorithm %v", sig.Hash)
	}
	var buf [64]byte
	digest := sum(h, msg, &buf)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch sig.Alg {
		case AlgRSASSA:
			return rsa.VerifyPKCS1v15(k, h, digest, sig.RSA)
		case AlgRSAPSS:
			// VerifyPSS retains its digest argument (escape analysis), so
			// it gets a heap copy and buf stays on the stack.
			return rsa.VerifyPSS(k, h, bytes.Clone(digest), sig.RSA, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h})
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

// sum is the one-shot digest of msg into out, without allocating (the
// hash.Hash of crypto.Hash.New escapes to the heap, and so would msg). h is
// one of the hashes Alg.Hash returns; for any other, sum returns nil.
func sum(h crypto.Hash, msg []byte, out *[64]byte) []byte {
	switch h {
	case crypto.SHA1:
		d := sha1.Sum(msg)
		return append(out[:0], d[:]...)
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return append(out[:0], d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return append(out[:0], d[:]...)
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return append(out[:0], d[:]...)
	}
	return nil
}

// IsTPMTSignature reports whether b parses as a TPMT_SIGNATURE (Part 2,
// §11.3.4); a quote signature that does not is raw (tpm2_quote -f plain).
func IsTPMTSignature(b []byte) bool {
	_, err := ParseSignature(b)
	return err == nil
}

// IsPlainSignature reports whether a quote signature is raw: format "plain"
// (an evidence bundle's meta "format") says so, and otherwise a signature
// that does not parse as a TPMT_SIGNATURE is raw.
func IsPlainSignature(sig []byte, format string) bool {
	return format == "plain" || !IsTPMTSignature(sig)
}
