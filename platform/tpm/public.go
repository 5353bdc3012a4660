package tpm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// Object attributes (TPMA_OBJECT, Part 2, §8.3).
const (
	AttrFixedTPM            uint32 = 1 << 1
	AttrStClear             uint32 = 1 << 2
	AttrFixedParent         uint32 = 1 << 4
	AttrSensitiveDataOrigin uint32 = 1 << 5
	AttrUserWithAuth        uint32 = 1 << 6
	AttrAdminWithPolicy     uint32 = 1 << 7
	AttrNoDA                uint32 = 1 << 10
	AttrEncryptedDuplicate  uint32 = 1 << 11
	AttrRestricted          uint32 = 1 << 16
	AttrDecrypt             uint32 = 1 << 17
	AttrSign                uint32 = 1 << 18
)

// AKAttributes are the attributes an attestation key must have: a
// restricted signing key generated in and bound to its TPM, so it signs only
// TPM-generated structures (Part 1, §25.2; docs/pitfalls-tpm.md D4, safeboot #36).
const AKAttributes = AttrFixedTPM | AttrFixedParent | AttrSensitiveDataOrigin | AttrRestricted | AttrSign

// ECC curves (TPM_ECC_CURVE, Part 2, §6.4).
const (
	CurveP256 uint16 = 0x0003
	CurveP384 uint16 = 0x0004
	CurveP521 uint16 = 0x0005
)

// Public is an attestation key's public area. From a TPMT_PUBLIC all fields
// are set; from PEM/DER SubjectPublicKeyInfo only Key (and Type) are, and
// Raw/Name are nil: the TPM attributes are then unknown.
type Public struct {
	Type       Alg
	NameAlg    Alg
	Attributes uint32
	AuthPolicy []byte
	// Scheme/SchemeHash are the key's signing scheme (AlgNull if unrestricted).
	Scheme     Alg
	SchemeHash Alg
	Key        crypto.PublicKey
	// Raw is the TPMT_PUBLIC encoding; Name is nameAlg ‖ H_nameAlg(Raw)
	// (Part 1, §16 "Names"), the value a TPM puts in qualifiedSigner.
	Raw  []byte
	Name []byte

	// fingerprint caches SHA-256(SPKI) when computed at parse time.
	fingerprint    [32]byte
	hasFingerprint bool
}

// HasTPMArea reports whether the TPM attributes are known (TPMT_PUBLIC input).
func (p *Public) HasTPMArea() bool { return p.Raw != nil }

// SPKI returns the DER SubjectPublicKeyInfo of the key.
func (p *Public) SPKI() ([]byte, error) { return x509.MarshalPKIXPublicKey(p.Key) }

// Fingerprint is the SHA-256 of the DER SubjectPublicKeyInfo, the form AK
// pins take in policies (independent of the TPM encoding).
func (p *Public) Fingerprint() ([32]byte, error) {
	if p.hasFingerprint {
		return p.fingerprint, nil
	}
	der, err := p.SPKI()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(der), nil
}

// maxPublicSize bounds TPM2B_PUBLIC (sizeof(TPMT_PUBLIC) in the reference
// implementation is well below 1 KiB for 4096-bit RSA).
const maxPublicSize = 2048

// withFingerprint caches the SPKI digest, so that verification does not
// re-encode the key every time.
func (p *Public) withFingerprint() (*Public, error) {
	fp, err := p.Fingerprint()
	if err != nil {
		return nil, &ParseError{What: "public key", Err: err}
	}
	p.fingerprint, p.hasFingerprint = fp, true
	return p, nil
}

// ParsePublic parses an AK public key in any format tpm2-tools writes:
// TPM2B_PUBLIC (`tpm2_readpublic -o`, `-f tss`), TPMT_PUBLIC, PEM
// (`-f pem`: "PUBLIC KEY" SubjectPublicKeyInfo, or "RSA PUBLIC KEY") or DER
// SubjectPublicKeyInfo (`-f der`).
func ParsePublic(b []byte) (*Public, error) {
	if len(b) > 64*1024 {
		return nil, perr("public key", "%d bytes is too large", len(b))
	}
	if t := bytes.TrimSpace(b); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		blk, rest := pem.Decode(t)
		if blk == nil {
			return nil, perr("public key", "invalid PEM")
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, perr("public key", "data after the PEM block")
		}
		switch blk.Type {
		case "PUBLIC KEY":
			return publicFromSPKI(blk.Bytes)
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
			if err != nil {
				return nil, &ParseError{What: "public key", Err: err}
			}
			return (&Public{Type: AlgRSA, Key: k, Scheme: AlgNull}).withFingerprint()
		}
		return nil, perr("public key", "unexpected PEM type %q (hint: tpm2_readpublic -f pem writes PUBLIC KEY)", blk.Type)
	}
	if len(b) > 0 && b[0] == 0x30 {
		return publicFromSPKI(b)
	}
	// TPM2B_PUBLIC: u16 size equal to the rest. A TPMT_PUBLIC starts with
	// its type (0x0001 RSA, 0x0023 ECC), which can never equal len-2 for a
	// valid area, so the two encodings cannot be confused.
	s := cryptobyte.String(b)
	var size uint16
	if s.ReadUint16(&size) && int(size) == len(s) && size > 0 {
		return ParseTPMTPublic(b[2:])
	}
	return ParseTPMTPublic(b)
}

func publicFromSPKI(der []byte) (*Public, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, &ParseError{What: "SubjectPublicKeyInfo", Err: err}
	}
	p, ok := publicOf(k)
	if !ok {
		return nil, perr("SubjectPublicKeyInfo", "unsupported key type %T", k)
	}
	return p.withFingerprint()
}

// publicOf describes a bare public key, with no scheme and no Name; ok is
// false for a key that is neither RSA nor ECC (its Type is then zero).
func publicOf(k crypto.PublicKey) (p *Public, ok bool) {
	p = &Public{Key: k, Scheme: AlgNull}
	switch k.(type) {
	case *rsa.PublicKey:
		p.Type = AlgRSA
	case *ecdsa.PublicKey:
		p.Type = AlgECC
	default:
		return p, false
	}
	return p, true
}

// ParseTPMTPublic parses a TPMT_PUBLIC (Part 2, §12.2.4) of an RSA or ECC
// key and computes its Name.
func ParseTPMTPublic(b []byte) (*Public, error) {
	if len(b) > maxPublicSize {
		return nil, perr("TPMT_PUBLIC", "%d bytes is too large", len(b))
	}
	p := &Public{Raw: append([]byte(nil), b...)}
	s := cryptobyte.String(p.Raw)
	var typ, nameAlg uint16
	var auth cryptobyte.String
	if !s.ReadUint16(&typ) || !s.ReadUint16(&nameAlg) || !s.ReadUint32(&p.Attributes) ||
		!s.ReadUint16LengthPrefixed(&auth) {
		return nil, perr("TPMT_PUBLIC", "truncated header")
	}
	p.Type, p.NameAlg, p.AuthPolicy = Alg(typ), Alg(nameAlg), []byte(auth)
	h, ok := p.NameAlg.Hash()
	if !ok {
		return nil, perr("TPMT_PUBLIC", "nameAlg %v is not a supported hash", p.NameAlg)
	}
	if len(auth) != 0 && len(auth) != h.Size() {
		return nil, perr("TPMT_PUBLIC", "authPolicy of %d bytes for nameAlg %v", len(auth), p.NameAlg)
	}
	// TPMT_SYM_DEF_OBJECT: NULL for signing keys, else alg, keyBits, mode.
	var sym uint16
	if !s.ReadUint16(&sym) {
		return nil, perr("TPMT_PUBLIC", "truncated symmetric")
	}
	if Alg(sym) != AlgNull {
		var bits, mode uint16
		if !s.ReadUint16(&bits) || !s.ReadUint16(&mode) {
			return nil, perr("TPMT_PUBLIC", "truncated symmetric definition")
		}
	}
	readScheme := func() bool {
		var sch uint16
		if !s.ReadUint16(&sch) {
			return false
		}
		p.Scheme, p.SchemeHash = Alg(sch), AlgNull
		if p.Scheme == AlgNull {
			return true
		}
		var hh uint16
		if !s.ReadUint16(&hh) {
			return false
		}
		p.SchemeHash = Alg(hh)
		if p.Scheme == AlgECDAA { // TPMS_SCHEME_ECDAA also carries count
			var count uint16
			return s.ReadUint16(&count)
		}
		return true
	}
	switch p.Type {
	case AlgRSA:
		var bits uint16
		var exp uint32
		var n cryptobyte.String
		if !readScheme() || !s.ReadUint16(&bits) || !s.ReadUint32(&exp) || !s.ReadUint16LengthPrefixed(&n) {
			return nil, perr("TPMT_PUBLIC", "truncated RSA parameters")
		}
		if bits < 1024 || bits > 8192 || bits%8 != 0 || len(n) != int(bits)/8 {
			return nil, perr("TPMT_PUBLIC", "RSA keyBits %d with a %d-byte modulus", bits, len(n))
		}
		if len(n) == 0 || n[0] == 0 {
			return nil, perr("TPMT_PUBLIC", "RSA modulus has a leading zero byte")
		}
		if exp == 0 {
			exp = 65537 // Part 2, §12.2.3.5: 0 means the default exponent 2^16+1
		}
		if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
			return nil, perr("TPMT_PUBLIC", "RSA exponent %d", exp)
		}
		p.Key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	case AlgECC:
		var curve, kdf uint16
		var x, y cryptobyte.String
		if !readScheme() || !s.ReadUint16(&curve) || !s.ReadUint16(&kdf) {
			return nil, perr("TPMT_PUBLIC", "truncated ECC parameters")
		}
		if Alg(kdf) != AlgNull {
			var kh uint16
			if !s.ReadUint16(&kh) {
				return nil, perr("TPMT_PUBLIC", "truncated ECC kdf")
			}
		}
		if !s.ReadUint16LengthPrefixed(&x) || !s.ReadUint16LengthPrefixed(&y) {
			return nil, perr("TPMT_PUBLIC", "truncated ECC point")
		}
		k, err := eccKey(curve, x, y)
		if err != nil {
			return nil, err
		}
		p.Key = k
	default:
		return nil, perr("TPMT_PUBLIC", "type %v is not a signing key type (hint: attestation keys are rsa or ecc)", p.Type)
	}
	if !s.Empty() {
		return nil, perr("TPMT_PUBLIC", "%d trailing bytes", len(s))
	}
	hh := h.New()
	hh.Write(p.Raw)
	p.Name = append([]byte{byte(nameAlg >> 8), byte(nameAlg)}, hh.Sum(nil)...)
	return p.withFingerprint()
}

func eccKey(curve uint16, x, y []byte) (*ecdsa.PublicKey, error) {
	var c elliptic.Curve
	switch curve {
	case CurveP256:
		c = elliptic.P256()
	case CurveP384:
		c = elliptic.P384()
	case CurveP521:
		c = elliptic.P521()
	default:
		return nil, perr("TPMT_PUBLIC", "unsupported ECC curve 0x%04x", curve)
	}
	size := (c.Params().BitSize + 7) / 8
	if len(x) > size || len(y) > size {
		return nil, perr("TPMT_PUBLIC", "ECC coordinates longer than the curve")
	}
	// Uncompressed SEC 1 point; the parser rejects points not on the curve.
	pt := make([]byte, 1+2*size)
	pt[0] = 4
	copy(pt[1+size-len(x):1+size], x)
	copy(pt[1+2*size-len(y):], y)
	k, err := ecdsa.ParseUncompressedPublicKey(c, pt)
	if err != nil {
		return nil, perr("TPMT_PUBLIC", "ECC point: %v", err)
	}
	return k, nil
}

// SameKey reports whether a and b are the same public key.
func SameKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return false
}

// String summarises the key for explanations ("rsa-2048", "ecc-P-256").
func (p *Public) String() string { return string(p.appendDesc(nil)) }

// appendDesc appends String's summary without going through fmt.
func (p *Public) appendDesc(b []byte) []byte {
	switch k := p.Key.(type) {
	case *rsa.PublicKey:
		return strconv.AppendInt(append(b, "rsa-"...), int64(k.N.BitLen()), 10)
	case *ecdsa.PublicKey:
		return append(append(b, "ecc-"...), k.Curve.Params().Name...)
	}
	return append(b, "unknown"...)
}
