package nitrosim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Field names one key of the document's payload map.
type Field uint16

// The payload's fields, in the order NSM writes them.
const (
	FieldModuleID Field = 1 << iota
	FieldDigest
	FieldTimestamp
	FieldPCRs
	FieldCertificate
	FieldCABundle
	FieldPublicKey
	FieldUserData
	FieldNonce
)

// Payload is an attestation document's payload (aws-nitro-enclaves-nsm-api
// docs/attestation_process.md §3.2). Marshal writes it as NSM does; the
// fields beyond the document's are test aids for malformed payloads.
type Payload struct {
	ModuleID    string
	Digest      string
	Timestamp   uint64 // milliseconds since the Unix epoch
	PCRs        map[uint][]byte
	Certificate []byte   // the leaf, DER
	CABundle    [][]byte // root first, DER
	// The optional fields: nil is written as null, as NSM writes an
	// absent input (serde's Option::None); a non-nil empty slice is an
	// empty byte string. Omit leaves a field out altogether.
	PublicKey, UserData, Nonce []byte

	// TPM writes the PCRs under "nitrotpm_pcrs" instead of "pcrs": a
	// NitroTPM attestation document (AWS EC2 User Guide, "Validate a
	// NitroTPM Attestation Document").
	TPM bool

	// Omit lists fields left out of the map.
	Omit Field
	// Indefinite writes the payload map with indefinite length (0xBF …
	// 0xFF, RFC 8949 §3.2.2); IndefinitePCRs so writes the PCR map. NSM
	// writes both with definite lengths.
	Indefinite, IndefinitePCRs bool
}

// NewPayload returns the payload NSM writes for moduleID at at, signed by
// c's leaf: digest SHA384, the PCRs, the leaf and the CA bundle, and null
// public key, user data and nonce.
func NewPayload(c *Chain, moduleID string, at time.Time, pcrs map[uint][]byte) *Payload {
	return &Payload{
		ModuleID:    moduleID,
		Digest:      Digest,
		Timestamp:   uint64(at.UnixMilli()),
		PCRs:        pcrs,
		Certificate: c.Leaf().Raw,
		CABundle:    c.CABundle(),
	}
}

// Marshal encodes the payload: a CBOR map with text keys in NSM's order
// (the order of the fields of AttestationDoc in aws-nitro-enclaves-nsm-api
// src/api/mod.rs, which serde keeps), the PCR map in ascending index order
// (a BTreeMap), every head in its shortest form.
func (p *Payload) Marshal() []byte {
	n := 0
	for f := FieldModuleID; f <= FieldNonce; f <<= 1 {
		if p.Omit&f == 0 {
			n++
		}
	}
	var e enc
	e.mapHead(n, p.Indefinite)
	if p.Omit&FieldModuleID == 0 {
		e.text("module_id")
		e.text(p.ModuleID)
	}
	if p.Omit&FieldDigest == 0 {
		e.text("digest")
		e.text(p.Digest)
	}
	if p.Omit&FieldTimestamp == 0 {
		e.text("timestamp")
		e.uint(p.Timestamp)
	}
	if p.Omit&FieldPCRs == 0 {
		if p.TPM {
			e.text("nitrotpm_pcrs")
		} else {
			e.text("pcrs")
		}
		idx := make([]uint, 0, len(p.PCRs))
		for i := range p.PCRs {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		e.mapHead(len(idx), p.IndefinitePCRs)
		for _, i := range idx {
			e.uint(uint64(i))
			e.bytes(p.PCRs[i])
		}
		e.end(p.IndefinitePCRs)
	}
	if p.Omit&FieldCertificate == 0 {
		e.text("certificate")
		e.bytes(p.Certificate)
	}
	if p.Omit&FieldCABundle == 0 {
		e.text("cabundle")
		e.head(majorArray, uint64(len(p.CABundle)))
		for _, c := range p.CABundle {
			e.bytes(c)
		}
	}
	if p.Omit&FieldPublicKey == 0 {
		e.text("public_key")
		e.optBytes(p.PublicKey)
	}
	if p.Omit&FieldUserData == 0 {
		e.text("user_data")
		e.optBytes(p.UserData)
	}
	if p.Omit&FieldNonce == 0 {
		e.text("nonce")
		e.optBytes(p.Nonce)
	}
	e.end(p.Indefinite)
	return e.b
}

// ProtectedES384 is the protected header NSM writes, {1: -35}: alg ES384
// (RFC 9052 §3.1, RFC 9053 §2.1), as the content of the header's bstr.
var ProtectedES384 = []byte{0xa1, 0x01, 0x38, 0x22}

// Sign signs the payload with c's leaf key as NSM does.
func (c *Chain) Sign(p *Payload) ([]byte, error) {
	return Sign1(p.Marshal(), c.LeafKey(), nil)
}

// SignOptions are test aids: they forge COSE_Sign1 envelopes. The zero
// value (or nil) is what NSM writes.
type SignOptions struct {
	// Tagged writes the COSE_Sign1 tag 18 (RFC 9052 §2) before the array;
	// NSM's documents are untagged.
	Tagged bool
	// Protected is the serialized protected header, the content of its
	// bstr: nil is ProtectedES384; a non-nil empty slice is the zero-length
	// bstr of an empty header (RFC 9052 §3); e.g. {0xa1, 0x01, 0x26} is
	// {1: -7}, ES256.
	Protected []byte
	// Unprotected is the unprotected header's raw CBOR; nil is {} (0xA0).
	Unprotected []byte
	// Hash is the digest signed; zero chooses by key: SHA-256, SHA-384 or
	// SHA-512 for P-256, P-384 or P-521 (RFC 9053 §2.1), SHA-384 for RSA
	// (RSASSA-PSS, RFC 8230 §2).
	Hash crypto.Hash
	// SigLen, when non-zero, truncates or zero-extends (at the end) the
	// signature to SigLen bytes.
	SigLen int
	// Signature, when non-nil, is written instead of a signature.
	Signature []byte
}

// Sign1 wraps payload in a COSE_Sign1 (RFC 9052 §4.2) signed by key over
// the Sig_structure ["Signature1", protected, h”, payload] (RFC 9052
// §4.4). An ECDSA signature is r‖s, each zero-extended to the curve's size
// (RFC 9053 §2.1). It returns the exact bytes. With options other than the
// zero value it is a test aid.
func Sign1(payload []byte, key crypto.Signer, o *SignOptions) ([]byte, error) {
	if o == nil {
		o = &SignOptions{}
	}
	protected := o.Protected
	if protected == nil {
		protected = ProtectedES384
	}
	sig := o.Signature
	if sig == nil {
		var err error
		if sig, err = signStructure(key, o.Hash, SigStructure(protected, payload)); err != nil {
			return nil, err
		}
	}
	if o.SigLen > 0 {
		s := make([]byte, o.SigLen)
		copy(s, sig)
		sig = s
	}
	var e enc
	if o.Tagged {
		e.head(majorTag, 18)
	}
	e.head(majorArray, 4)
	e.bytes(protected)
	if o.Unprotected == nil {
		e.mapHead(0, false)
	} else {
		e.raw(o.Unprotected)
	}
	e.bytes(payload)
	e.bytes(sig)
	return e.b, nil
}

// SigStructure is the ToBeSigned of a COSE_Sign1 with no external data
// (RFC 9052 §4.4).
func SigStructure(protected, payload []byte) []byte {
	var e enc
	e.head(majorArray, 4)
	e.text("Signature1")
	e.bytes(protected)
	e.bytes(nil)
	e.bytes(payload)
	return e.b
}

func signStructure(key crypto.Signer, h crypto.Hash, tbs []byte) ([]byte, error) {
	if key == nil {
		return nil, errors.New("nitrosim: no signing key")
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if h == 0 {
			switch {
			case size <= 32:
				h = crypto.SHA256
			case size <= 48:
				h = crypto.SHA384
			default:
				h = crypto.SHA512
			}
		}
		der, err := k.Sign(nil, digest(h, tbs), h) // nil rand: RFC 6979
		if err != nil {
			return nil, fmt.Errorf("nitrosim: sign: %w", err)
		}
		return rawECDSA(der, size)
	case *rsa.PrivateKey:
		if h == 0 {
			h = crypto.SHA384
		}
		sig, err := rsa.SignPSS(rand.Reader, k, h, digest(h, tbs), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return nil, fmt.Errorf("nitrosim: sign: %w", err)
		}
		return sig, nil
	}
	if h == 0 {
		h = crypto.SHA384
	}
	sig, err := key.Sign(rand.Reader, digest(h, tbs), h)
	if err != nil {
		return nil, fmt.Errorf("nitrosim: sign: %w", err)
	}
	return sig, nil
}

func digest(h crypto.Hash, b []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(b)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(b)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(b)
		return d[:]
	}
	hh := h.New()
	hh.Write(b)
	return hh.Sum(nil)
}

// rawECDSA converts an ASN.1 ECDSA signature to r‖s of size bytes each.
func rawECDSA(der []byte, size int) ([]byte, error) {
	r, s := new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() {
		return nil, errors.New("nitrosim: sign: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}
