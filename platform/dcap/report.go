package dcap

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cloudra/cloudra/internal/lebytes"
)

// Sizes of the fixed report bodies.
const (
	EnclaveReportSize = 384 // sgx_report_body_t
	TDReport10Size    = 584 // sgx_report2_body_t (TD report 1.0)
	TDReport15Size    = 648 // sgx_report2_body_v1_5_t (TD report 1.5)
)

// SGX ATTRIBUTES.FLAGS bits (Intel SDM Vol. 3D, 38.7.1 "ATTRIBUTES").
const (
	SGXAttrInit          = 1 << 0
	SGXAttrDebug         = 1 << 1
	SGXAttrMode64Bit     = 1 << 2
	SGXAttrProvisionKey  = 1 << 4
	SGXAttrEInitTokenKey = 1 << 5
	SGXAttrKSS           = 1 << 7
)

// EnclaveReport is an SGX report body (sgx_report_body_t, 384 bytes): the ISV
// enclave body of an SGX quote and the QE report inside every quote.
type EnclaveReport struct {
	// Raw is the report exactly as received; the QE report signature covers it.
	Raw          [EnclaveReportSize]byte
	CPUSVN       [16]byte
	MiscSelect   uint32
	Reserved1    [12]byte
	ISVExtProdID [16]byte
	// Attributes is FLAGS (8 bytes LE) ‖ XFRM (8 bytes LE), as carried.
	Attributes  [16]byte
	MREnclave   [32]byte
	Reserved2   [32]byte
	MRSigner    [32]byte
	Reserved3   [32]byte
	ConfigID    [64]byte
	ISVProdID   uint16
	ISVSVN      uint16
	ConfigSVN   uint16
	Reserved4   [42]byte
	ISVFamilyID [16]byte
	ReportData  [64]byte
}

// Flags returns ATTRIBUTES.FLAGS.
func (r *EnclaveReport) Flags() uint64 { return binary.LittleEndian.Uint64(r.Attributes[:8]) }

// XFRM returns ATTRIBUTES.XFRM.
func (r *EnclaveReport) XFRM() uint64 { return binary.LittleEndian.Uint64(r.Attributes[8:]) }

// ParseEnclaveReport parses exactly 384 bytes.
func ParseEnclaveReport(b []byte) (*EnclaveReport, error) {
	if len(b) != EnclaveReportSize {
		return nil, parseErrorf("enclave report is %d bytes, want %d", len(b), EnclaveReportSize)
	}
	r := &EnclaveReport{}
	if err := r.parse(b); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *EnclaveReport) parse(b []byte) error {
	if len(b) != EnclaveReportSize {
		return parseErrorf("enclave report is %d bytes, want %d", len(b), EnclaveReportSize)
	}
	copy(r.Raw[:], b)
	s := lebytes.String(b)
	if !s.CopyBytes(r.CPUSVN[:]) || !s.ReadU32(&r.MiscSelect) || !s.CopyBytes(r.Reserved1[:]) ||
		!s.CopyBytes(r.ISVExtProdID[:]) || !s.CopyBytes(r.Attributes[:]) || !s.CopyBytes(r.MREnclave[:]) ||
		!s.CopyBytes(r.Reserved2[:]) || !s.CopyBytes(r.MRSigner[:]) || !s.CopyBytes(r.Reserved3[:]) ||
		!s.CopyBytes(r.ConfigID[:]) || !s.ReadU16(&r.ISVProdID) || !s.ReadU16(&r.ISVSVN) ||
		!s.ReadU16(&r.ConfigSVN) || !s.CopyBytes(r.Reserved4[:]) || !s.CopyBytes(r.ISVFamilyID[:]) ||
		!s.CopyBytes(r.ReportData[:]) || !s.Empty() {
		return parseErrorf("malformed enclave report")
	}
	return nil
}

// TD_ATTRIBUTES bits (Intel TDX Module ABI spec, TDX_ATTRIBUTES; Intel TDX DCAP API, TD quote body).
const (
	TDAttrDebug         = 1 << 0
	TDAttrTUDReserved   = 0xfe // bits 7:1 of the TUD group, reserved
	TDAttrSEPTVEDisable = 1 << 28
	TDAttrPKS           = 1 << 30
	TDAttrKL            = 1 << 31
	TDAttrPerfmon       = 1 << 63
)

// TDAttrKnown is every TD_ATTRIBUTES bit with a defined meaning; anything
// else is reserved (SEC bits 27:8 except 28, OTHER bits 62:32 except the
// ones above, and the TUD bits 7:1). Bit 29 (LASS) is defined in TDX 1.5.
const TDAttrKnown = TDAttrDebug | TDAttrSEPTVEDisable | 1<<29 | TDAttrPKS | TDAttrKL | TDAttrPerfmon

// TDReport is a TD report body from a TDX quote: TD report 1.0 (584 bytes)
// or 1.5 (648 bytes, adding TEE_TCB_SVN2 and MRSERVICETD).
type TDReport struct {
	// Raw is the body exactly as received.
	Raw []byte
	// V15 is true for a TD 1.5 body (quote v5 body type 3).
	V15            bool
	TEETCBSVN      [16]byte
	MRSEAM         [48]byte
	MRSignerSEAM   [48]byte
	SEAMAttributes [8]byte
	TDAttributes   [8]byte
	XFAM           [8]byte
	MRTD           [48]byte
	MRConfigID     [48]byte
	MROwner        [48]byte
	MROwnerConfig  [48]byte
	RTMR           [4][48]byte
	ReportData     [64]byte
	// TEETCBSVN2 and MRServiceTD are zero for a TD 1.0 body.
	TEETCBSVN2  [16]byte
	MRServiceTD [48]byte
}

// Attributes returns TD_ATTRIBUTES as an integer.
func (r *TDReport) Attributes() uint64 { return binary.LittleEndian.Uint64(r.TDAttributes[:]) }

// XFAMValue returns XFAM as an integer.
func (r *TDReport) XFAMValue() uint64 { return binary.LittleEndian.Uint64(r.XFAM[:]) }

// ParseTDReport parses a TD report body of 584 (v15 false) or 648 bytes.
func ParseTDReport(b []byte, v15 bool) (*TDReport, error) {
	want := TDReport10Size
	if v15 {
		want = TDReport15Size
	}
	if len(b) != want {
		return nil, parseErrorf("TD report body is %d bytes, want %d", len(b), want)
	}
	r := &TDReport{}
	if err := r.parse(b, v15); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *TDReport) parse(b []byte, v15 bool) error {
	want := TDReport10Size
	if v15 {
		want = TDReport15Size
	}
	if len(b) != want {
		return parseErrorf("TD report body is %d bytes, want %d", len(b), want)
	}
	r.Raw, r.V15 = b, v15
	s := lebytes.String(b)
	ok := s.CopyBytes(r.TEETCBSVN[:]) && s.CopyBytes(r.MRSEAM[:]) && s.CopyBytes(r.MRSignerSEAM[:]) &&
		s.CopyBytes(r.SEAMAttributes[:]) && s.CopyBytes(r.TDAttributes[:]) && s.CopyBytes(r.XFAM[:]) &&
		s.CopyBytes(r.MRTD[:]) && s.CopyBytes(r.MRConfigID[:]) && s.CopyBytes(r.MROwner[:]) &&
		s.CopyBytes(r.MROwnerConfig[:])
	for i := range r.RTMR {
		ok = ok && s.CopyBytes(r.RTMR[i][:])
	}
	ok = ok && s.CopyBytes(r.ReportData[:])
	if v15 {
		ok = ok && s.CopyBytes(r.TEETCBSVN2[:]) && s.CopyBytes(r.MRServiceTD[:])
	}
	if !ok || !s.Empty() {
		return parseErrorf("malformed TD report body")
	}
	return nil
}

// ParseError is returned for malformed input, so that callers can classify
// the failure (cloudra.ClassParse) without reading messages.
type ParseError struct{ Err error }

func (e *ParseError) Error() string { return "dcap: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErrorf(format string, args ...any) error {
	return &ParseError{Err: fmt.Errorf(format, args...)}
}

// ErrTrailingData is wrapped by the error for a quote followed by bytes that
// are not zero padding.
var ErrTrailingData = errors.New("non-zero bytes after the signature data")

// ErrUnsupported is wrapped by the error for well-formed input of a kind this
// package does not verify (SGX quote v4/v5, certification data types other
// than 5 and 6, attestation key types other than ECDSA-256-with-P-256).
var ErrUnsupported = errors.New("unsupported")
