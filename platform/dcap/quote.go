package dcap

import (
	"encoding/hex"
	"fmt"

	"github.com/cloudra/cloudra/internal/lebytes"
)

// Header constants (Intel DCAP quote header; sgx_quote_3.h, sgx_quote_4.h).
const (
	HeaderSize = 48

	AttestationKeyECDSAP256 = 2 // sgx_attestation_algorithm_id_t: ECDSA-256-with-P-256

	TEETypeSGX = 0x00000000
	TEETypeTDX = 0x00000081

	// Quote v5 body types (sgx_quote_5.h).
	BodyTypeSGX  = 1
	BodyTypeTD10 = 2
	BodyTypeTD15 = 3

	// Certification data types (sgx_ql_cert_key_type_t).
	CertTypePPIDCleartext = 1
	CertTypePPIDRSA2048   = 2
	CertTypePPIDRSA3072   = 3
	CertTypePCKLeaf       = 4
	CertTypePCKChain      = 5
	CertTypeQEReport      = 6
	CertTypePlatformMan   = 7
)

// IntelQEVendorID returns the QE vendor ID of Intel's quoting enclaves
// (939A7233-F79C-4CA9-940A-0DB3957F0607, Intel DCAP quote header). A function
// returning the array by value, so that no caller can change the ID quotes
// are checked against.
func IntelQEVendorID() [16]byte {
	return [16]byte{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07}
}

// Header is the 48-byte quote header (Intel DCAP quote header).
type Header struct {
	Version            uint16
	AttestationKeyType uint16
	// TEEType is 0 for SGX (a reserved field in v3) and 0x81 for TDX.
	TEEType uint32
	// QESVN and PCESVN are meaningful in v3 only; in v4/v5 bytes 8..11 are
	// reserved and the QE SVN is the QE report's ISVSVN.
	QESVN      uint16
	PCESVN     uint16
	QEVendorID [16]byte
	// UserData's first 16 bytes are the QE ID.
	UserData [20]byte
}

func parseHeader(s *lebytes.String) (Header, error) {
	var h Header
	if !s.ReadU16(&h.Version) || !s.ReadU16(&h.AttestationKeyType) || !s.ReadU32(&h.TEEType) ||
		!s.ReadU16(&h.QESVN) || !s.ReadU16(&h.PCESVN) || !s.CopyBytes(h.QEVendorID[:]) || !s.CopyBytes(h.UserData[:]) {
		return h, parseErrorf("quote shorter than its %d-byte header", HeaderSize)
	}
	switch h.Version {
	case 3:
		if h.TEEType != TEETypeSGX {
			return h, parseErrorf("quote v3 with TEE type %#x: v3 carries SGX enclave reports only", h.TEEType)
		}
	case 4, 5:
		switch h.TEEType {
		case TEETypeTDX:
		case TEETypeSGX:
			return h, &ParseError{Err: fmt.Errorf("SGX quote v%d: %w (only SGX quote v3 is verified)", h.Version, ErrUnsupported)}
		default:
			return h, parseErrorf("unknown TEE type %#x", h.TEEType)
		}
	default:
		return h, parseErrorf("unknown quote version %d (want 3, 4 or 5)", h.Version)
	}
	if h.AttestationKeyType != AttestationKeyECDSAP256 {
		return h, &ParseError{Err: fmt.Errorf("attestation key type %d: %w (want 2, ECDSA-256-with-P-256)", h.AttestationKeyType, ErrUnsupported)}
	}
	if h.QEVendorID != IntelQEVendorID() {
		return h, parseErrorf("QE vendor ID %s is not Intel's", hex.EncodeToString(h.QEVendorID[:]))
	}
	return h, nil
}

// Quote is a parsed DCAP quote: *QuoteV3 (SGX), *QuoteV4 or *QuoteV5 (TDX).
type Quote interface {
	// QuoteHeader returns the header.
	QuoteHeader() *Header
	// SignedBytes returns header‖body exactly as received: the bytes the
	// attestation key signs.
	SignedBytes() []byte
	// Signature returns the signature data.
	Signature() *SignatureData
	// Padding is the number of zero bytes after the signature data.
	Padding() int
	// Fields lists every field by Intel's name, in quote order.
	Fields() []Field
}

// TDQuote is a TDX quote (v4 or v5) with a TD report body.
type TDQuote interface {
	Quote
	TDReport() *TDReport
}

// QuoteV3 is an SGX ECDSA quote, version 3 (sgx_quote3_t).
type QuoteV3 struct {
	Header Header
	Body   EnclaveReport
	Sig    SignatureData
	// Raw is the quote without padding; Signed is Raw[:432].
	Raw, Signed []byte
	Pad         int
}

// QuoteV4 is a TDX quote, version 4, with a TD report 1.0 body.
type QuoteV4 struct {
	Header      Header
	Body        TDReport
	Sig         SignatureData
	Raw, Signed []byte
	Pad         int
}

// QuoteV5 is a TDX quote, version 5, with a body descriptor: type 2 (TD
// report 1.0) or 3 (TD report 1.5).
type QuoteV5 struct {
	Header      Header
	BodyType    uint16
	BodySize    uint32
	Body        TDReport
	Sig         SignatureData
	Raw, Signed []byte
	Pad         int
}

var (
	_ Quote   = (*QuoteV3)(nil)
	_ TDQuote = (*QuoteV4)(nil)
	_ TDQuote = (*QuoteV5)(nil)
)

func (q *QuoteV3) QuoteHeader() *Header      { return &q.Header }
func (q *QuoteV3) SignedBytes() []byte       { return q.Signed }
func (q *QuoteV3) Signature() *SignatureData { return &q.Sig }
func (q *QuoteV3) Padding() int              { return q.Pad }

func (q *QuoteV4) QuoteHeader() *Header      { return &q.Header }
func (q *QuoteV4) SignedBytes() []byte       { return q.Signed }
func (q *QuoteV4) Signature() *SignatureData { return &q.Sig }
func (q *QuoteV4) Padding() int              { return q.Pad }
func (q *QuoteV4) TDReport() *TDReport       { return &q.Body }

func (q *QuoteV5) QuoteHeader() *Header      { return &q.Header }
func (q *QuoteV5) SignedBytes() []byte       { return q.Signed }
func (q *QuoteV5) Signature() *SignatureData { return &q.Sig }
func (q *QuoteV5) Padding() int              { return q.Pad }
func (q *QuoteV5) TDReport() *TDReport       { return &q.Body }

// MaxQuoteSize bounds a quote: real quotes are about 5 KB (8000 bytes with a
// driver buffer's padding); the PEM chain is the only variable part.
const MaxQuoteSize = 1 << 20

// ParseQuote parses an SGX v3 or TDX v4/v5 quote.
//
// The quote's signature-data length must lie within the input and the
// signature data must fill it exactly. Bytes after the signature data are
// accepted only if all zero (real quotes come in fixed-size buffers: 70 and
// 3065 zero bytes are observed) and their count is reported by Padding; any
// non-zero byte there is an error wrapping ErrTrailingData: such bytes are
// outside every signature, and only a modified quote carries them.
func ParseQuote(b []byte) (Quote, error) {
	if len(b) > MaxQuoteSize {
		return nil, parseErrorf("quote of %d bytes exceeds %d", len(b), MaxQuoteSize)
	}
	s := lebytes.String(b)
	h, err := parseHeader(&s)
	if err != nil {
		return nil, err
	}
	switch h.Version {
	case 3:
		q := &QuoteV3{Header: h}
		var body []byte
		if !s.ReadBytes(&body, EnclaveReportSize) {
			return nil, parseErrorf("quote v3 shorter than header and enclave report body")
		}
		if err := q.Body.parse(body); err != nil {
			return nil, err
		}
		var err error
		q.Signed, q.Raw, q.Pad, err = readTail(b, &s, 3, &q.Sig)
		return nilIfErr(q, err)
	case 4:
		q := &QuoteV4{Header: h}
		var body []byte
		if !s.ReadBytes(&body, TDReport10Size) {
			return nil, parseErrorf("quote v4 shorter than header and TD report body")
		}
		if err := q.Body.parse(body, false); err != nil {
			return nil, err
		}
		var err error
		q.Signed, q.Raw, q.Pad, err = readTail(b, &s, 4, &q.Sig)
		return nilIfErr(q, err)
	default: // 5, checked by parseHeader
		q := &QuoteV5{Header: h}
		if !s.ReadU16(&q.BodyType) || !s.ReadU32(&q.BodySize) {
			return nil, parseErrorf("quote v5 shorter than its body descriptor")
		}
		var v15 bool
		switch q.BodyType {
		case BodyTypeTD10:
		case BodyTypeTD15:
			v15 = true
		case BodyTypeSGX:
			return nil, &ParseError{Err: fmt.Errorf("quote v5 with an SGX body (type 1) and TEE type TDX: %w", ErrUnsupported)}
		default:
			return nil, parseErrorf("quote v5 body type %d unknown (want 2 or 3)", q.BodyType)
		}
		want := uint32(TDReport10Size)
		if v15 {
			want = TDReport15Size
		}
		// Dispatch on the type only; the size must agree with it.
		if q.BodySize != want {
			return nil, parseErrorf("quote v5 body type %d with size %d (want %d)", q.BodyType, q.BodySize, want)
		}
		var body []byte
		if !s.ReadBytes(&body, int(want)) {
			return nil, parseErrorf("quote v5 shorter than its %d-byte body", want)
		}
		if err := q.Body.parse(body, v15); err != nil {
			return nil, err
		}
		var err error
		q.Signed, q.Raw, q.Pad, err = readTail(b, &s, 5, &q.Sig)
		return nilIfErr(q, err)
	}
}

// readTail reads what follows a quote's body from s, the rest of b: the
// signature data (into sig) and the zero padding. signed is b up to the
// signature data, raw b up to the padding, pad the padding's length.
func readTail(b []byte, s *lebytes.String, version int, sig *SignatureData) (signed, raw []byte, pad int, err error) {
	signed = b[:len(b)-s.Len()]
	if err := readSigData(s, version, sig); err != nil {
		return nil, nil, 0, err
	}
	raw = b[:len(b)-s.Len()]
	pad, err = padding(*s)
	return signed, raw, pad, err
}

func nilIfErr(q Quote, err error) (Quote, error) {
	if err != nil {
		return nil, err
	}
	return q, nil
}

func padding(rest lebytes.String) (int, error) {
	if !lebytes.IsZero(rest) {
		return 0, &ParseError{Err: fmt.Errorf("%d bytes after the signature data: %w (hint: only zero padding is accepted; strip what was appended to the quote)", rest.Len(), ErrTrailingData)}
	}
	return rest.Len(), nil
}
