package nitro

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// MaxDocumentSize bounds an attestation document. A real one is about
// 4.5 KiB: a five-certificate chain (each at most 1024 bytes by the CDDL of
// attestation_process.md §2.2), 16 PCRs of 48 bytes and three optional
// fields of at most 1024 bytes. Anything past this is refused before it is
// decoded.
const MaxDocumentSize = 32 << 10

// coseTagSign1 is the CBOR tag of COSE_Sign1_Tagged (RFC 9052 §4.2).
const coseTagSign1 = 18

// Document is a parsed attestation document: the COSE_Sign1 envelope, with
// the exact bytes the signature covers, and its decoded payload. Nothing in
// it is verified by parsing.
type Document struct {
	// Raw is the document as received.
	Raw []byte
	// Tagged reports a COSE_Sign1_Tagged message (CBOR tag 18); NSM writes
	// the untagged form, RFC 9052 §4.2 allows both.
	Tagged bool
	// Protected is the protected header's byte string as received (the
	// serialized map {1: -35}), which the Sig_structure carries.
	Protected []byte
	// Payload is the payload's byte string as received: the signed bytes
	// the Attestation was decoded from.
	Payload []byte
	// Signature is the raw r ‖ s of the ES384 signature (RFC 9053 §2.1:
	// each integer big-endian, left-padded to 48 bytes).
	Signature []byte
	// Attestation is the decoded payload.
	Attestation *Attestation

	msg *cose.Sign1Message
}

// ParseError is a document that is not a well-formed attestation document.
// Part names where ("envelope", "protected", "payload", or a payload
// field such as "pcrs" or "cabundle[2]").
type ParseError struct {
	Part   string
	Reason string
}

func (e *ParseError) Error() string { return "nitro: " + e.Part + ": " + e.Reason }

func parseErr(part, format string, args ...any) *ParseError {
	return &ParseError{Part: part, Reason: fmt.Sprintf(format, args...)}
}

// ParseDocument parses an attestation document: a COSE_Sign1 message
// (RFC 9052 §4.2), tagged or not, whose protected header is exactly
// {1: -35} (alg ES384), whose unprotected header is empty, whose signature
// is 96 bytes, and whose payload is an attestation document map (see
// [ParsePayload]). The envelope is decoded by go-cose, which refuses
// duplicate keys, trailing bytes and indefinite-length items in the
// envelope (docs/nitro.md, "Encodings"). Every failure is a *ParseError.
func ParseDocument(b []byte) (*Document, error) {
	if len(b) == 0 {
		return nil, parseErr("envelope", "empty document")
	}
	if len(b) > MaxDocumentSize {
		return nil, parseErr("envelope", "%d bytes, more than the %d accepted", len(b), MaxDocumentSize)
	}
	d := &Document{Raw: b}
	var msg cose.Sign1Message
	var err error
	switch major := b[0] >> 5; {
	case b[0] == 0xd2:
		d.Tagged = true
		err = msg.UnmarshalCBOR(b)
	case major == 6:
		return nil, parseErr("envelope", "a CBOR tag other than %d (COSE_Sign1): first byte %#02x", coseTagSign1, b[0])
	case b[0] == 0x84:
		err = (*cose.UntaggedSign1Message)(&msg).UnmarshalCBOR(b)
	case major == 4:
		return nil, parseErr("envelope", "a CBOR array that is not the four-element COSE_Sign1 (first byte %#02x)", b[0])
	default:
		return nil, parseErr("envelope", "not a COSE_Sign1 message: first byte %#02x is CBOR major type %d, not an array or tag %d", b[0], major, coseTagSign1)
	}
	if err != nil {
		return nil, parseErr("envelope", "%v", err)
	}
	if err := checkHeaders(&msg); err != nil {
		return nil, err
	}
	if len(msg.Signature) != es384SignatureSize {
		return nil, parseErr("signature", "%d bytes; an ES384 signature is %d (r ‖ s, RFC 9053 §2.1)", len(msg.Signature), es384SignatureSize)
	}
	if err := cbor.Unmarshal(msg.Headers.RawProtected, &d.Protected); err != nil {
		return nil, parseErr("protected", "%v", err)
	}
	att, err := ParsePayload(msg.Payload)
	if err != nil {
		return nil, err
	}
	d.Payload, d.Signature, d.Attestation, d.msg = msg.Payload, msg.Signature, att, &msg
	return d, nil
}

// es384SignatureSize is 2 × 48 bytes (RFC 9053 §2.1).
const es384SignatureSize = 96

// checkHeaders requires the headers of attestation_process.md §3.1: a
// protected header of exactly one parameter, alg (label 1) = -35 (ES384),
// and an empty unprotected header. An alg in the unprotected header, or an
// alg other than ES384, is refused rather than tried: one algorithm, one
// way to verify (RFC 9052 §3.1 puts alg in the protected header).
func checkHeaders(m *cose.Sign1Message) error {
	if len(m.Headers.Unprotected) != 0 {
		return parseErr("unprotected", "%d parameters; an attestation document's unprotected header is empty", len(m.Headers.Unprotected))
	}
	p := m.Headers.Protected
	alg, ok := p[cose.HeaderLabelAlgorithm]
	if !ok {
		return parseErr("protected", "no alg (label 1); want ES384 (-35)")
	}
	if len(p) != 1 {
		return parseErr("protected", "%d parameters; an attestation document's protected header is {1: -35} alone", len(p))
	}
	if a, ok := alg.(cose.Algorithm); !ok || a != cose.AlgorithmES384 {
		return parseErr("protected", "alg %v; an attestation document is signed ES384 (-35)", alg)
	}
	return nil
}

// errNoMessage is Verify's answer for a Document not made by ParseDocument.
var errNoMessage = errors.New("nitro: document was not parsed by ParseDocument")
