package azure

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"

	"github.com/cloudra/cloudra/internal/lebytes"
	"github.com/cloudra/cloudra/platform/sevsnp"
)

// Layout of the HCL report (openvmm IGVM attestation report; microsoft/openvmm
// openhcl_attestation_protocol igvm_attest/get.rs, IgvmAttestRequestVersion 1,
// the user-facing report of NV 0x01400001). All integers little-endian.
const (
	// Signature is "HCLA" read as a little-endian u32.
	Signature uint32 = 0x414C4348
	// HeaderSize is the fixed header before the hardware report.
	HeaderSize = 32
	// HardwareReportSlot is the size of the hardware-report slot: the size
	// of an SNP report; a TDREPORT (1024 bytes) is zero-padded to it.
	HardwareReportSlot = sevsnp.ReportSize
	// RuntimeDataOffset is where the runtime-data header starts (1216).
	RuntimeDataOffset = HeaderSize + HardwareReportSlot
	// RuntimeDataHeaderSize is the runtime-data header: data_size, version,
	// report_type, report_data_hash_type, variable_data_size.
	RuntimeDataHeaderSize = 20
	// ClaimsOffset is where the runtime claims start (1236 = 0x4D4).
	ClaimsOffset = RuntimeDataOffset + RuntimeDataHeaderSize
	// TDReportSize is the size of a TDX TDREPORT_STRUCT.
	TDReportSize = 1024
	// MaxSize bounds an HCL report with its NV padding. NV indices are a
	// few KiB (2048 and 2600 bytes are observed).
	MaxSize = 64 << 10
)

// ReportType is the runtime-data report_type: the kind of hardware report.
type ReportType uint32

// Report types (IgvmAttestReportType). Only SNP and TDX reports can be
// verified by cloudra; VBS and TVM (Trusted Launch, no hardware report)
// are rejected by the parser.
const (
	ReportTypeInvalid ReportType = 0
	ReportTypeVBS     ReportType = 1
	ReportTypeSNP     ReportType = 2
	ReportTypeTVM     ReportType = 3
	ReportTypeTDX     ReportType = 4
)

func (t ReportType) String() string {
	switch t {
	case ReportTypeVBS:
		return "VBS"
	case ReportTypeSNP:
		return "SNP"
	case ReportTypeTVM:
		return "TVM"
	case ReportTypeTDX:
		return "TDX"
	}
	return fmt.Sprintf("ReportType(%d)", uint32(t))
}

// HashType is the runtime-data report_data_hash_type: the hash of the
// runtime claims placed in the hardware report's REPORT_DATA.
type HashType uint32

// Hash types (IgvmAttestHashType). The algorithm is allow-listed: any other
// value is a parse error (docs/azure.md, the HCL report layout).
const (
	HashSHA256 HashType = 1
	HashSHA384 HashType = 2
	HashSHA512 HashType = 3
)

func (t HashType) String() string {
	switch t {
	case HashSHA256:
		return "SHA-256"
	case HashSHA384:
		return "SHA-384"
	case HashSHA512:
		return "SHA-512"
	}
	return fmt.Sprintf("HashType(%d)", uint32(t))
}

func (t HashType) new() hash.Hash {
	switch t {
	case HashSHA256:
		return sha256.New()
	case HashSHA384:
		return sha512.New384()
	case HashSHA512:
		return sha512.New()
	}
	return nil
}

// Request types (IgvmAttestRequestType); the NV report carries AK_CERT (2)
// in every observed sample.
const (
	RequestKeyRelease  uint32 = 1
	RequestAKCert      uint32 = 2
	RequestWrappedKey  uint32 = 3
	runtimeDataVersion uint32 = 1
)

// ErrMalformed is wrapped by every parse error of this package.
var ErrMalformed = errors.New("azure: malformed HCL report")

// ParseError is a malformed HCL report or runtime claims; it unwraps to
// ErrMalformed and the cause.
type ParseError struct {
	What string
	Err  error
}

func (e *ParseError) Error() string { return "azure: malformed " + e.What + ": " + e.Err.Error() }

// Unwrap returns ErrMalformed and the cause.
func (e *ParseError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

func malformed(what, format string, args ...any) error {
	return &ParseError{What: what, Err: fmt.Errorf(format, args...)}
}

// HCLReport is the attestation report of Azure's paravisor (HCL, OpenHCL),
// read from vTPM NV index 0x01400001. Byte slices alias a private copy of
// the input; nothing here is verified.
type HCLReport struct {
	// Raw is the input, including the NV padding after ReportSize.
	Raw []byte
	// Header.
	Version     uint32
	ReportSize  uint32
	RequestType uint32
	Status      uint32
	// HardwareReport is the hardware report exactly as stored: the
	// 1184-byte SNP ATTESTATION_REPORT, or the 1024-byte TDREPORT (without
	// the zero padding of its slot).
	HardwareReport []byte
	// SNP is the parsed SNP report (report type SNP only).
	SNP *sevsnp.Report
	// TDReport is the parsed TDREPORT (report type TDX only).
	TDReport *TDReport
	// Runtime-data header.
	DataSize           uint32
	RuntimeDataVersion uint32
	ReportType         ReportType
	HashType           HashType
	// Claims are the runtime claims (UTF-8 JSON) exactly as stored: the
	// bytes whose hash is in REPORT_DATA.
	Claims []byte
	// Padding is the number of zero bytes after ReportSize (the NV index
	// is larger than the report).
	Padding int
}

// ParseHCLReport parses an HCL report.
//
// The header must carry "HCLA", version 1 or 2, a known request type and a
// zero reserved field; report_size must equal 1216 + data_size and lie
// within the input; data_size must equal 20 + variable_data_size (the
// claims start at 1236, the layout of the NV report); the runtime-data
// version must be 1, the report type SNP or TDX, the hash type SHA-256,
// SHA-384 or SHA-512. The hardware report must be of the declared type: an
// SNP report that [sevsnp.ParseReport] accepts, or a TDREPORT of type TDX
// followed by zero padding to 1184 bytes. Bytes after report_size are the
// NV index's padding and must be zero.
func ParseHCLReport(b []byte) (*HCLReport, error) {
	if len(b) > MaxSize {
		return nil, malformed("HCL report", "%d bytes exceeds %d", len(b), MaxSize)
	}
	raw := append([]byte(nil), b...)
	h := &HCLReport{Raw: raw}
	s := lebytes.String(raw)
	if err := h.parseHeader(&s); err != nil {
		return nil, err
	}
	var slot []byte
	if !s.ReadBytes(&slot, HardwareReportSlot) {
		return nil, malformed("HCL report", "short hardware report")
	}
	if err := h.parseRuntimeData(&s); err != nil {
		return nil, err
	}
	h.Padding = s.Len()
	if !lebytes.IsZero(s) {
		return nil, malformed("HCL report", "non-zero bytes in the %d bytes after report_size %d", s.Len(), h.ReportSize)
	}
	if err := h.parseHardwareReport(slot); err != nil {
		return nil, err
	}
	return h, nil
}

// parseHeader reads the 32-byte header and bounds report_size by the input.
func (h *HCLReport) parseHeader(s *lebytes.String) error {
	n := len(h.Raw)
	var sig uint32
	if !s.ReadU32(&sig) || !s.ReadU32(&h.Version) || !s.ReadU32(&h.ReportSize) ||
		!s.ReadU32(&h.RequestType) || !s.ReadU32(&h.Status) {
		return malformed("HCL report", "%d bytes is shorter than the %d-byte header", n, HeaderSize)
	}
	if sig != Signature {
		return malformed("HCL report", "signature %#08x, want %#08x (\"HCLA\")", sig, Signature)
	}
	if h.Version != 1 && h.Version != 2 {
		return malformed("HCL report", "version %d not supported (1, 2)", h.Version)
	}
	if h.RequestType < RequestKeyRelease || h.RequestType > RequestWrappedKey {
		return malformed("HCL report", "request type %d unknown (1 KEY_RELEASE, 2 AK_CERT, 3 WRAPPED_KEY)", h.RequestType)
	}
	if !s.ReadZero(HeaderSize - 20) {
		return malformed("HCL report", "reserved header bytes 20–31 must be zero")
	}
	if uint64(h.ReportSize) > uint64(n) {
		return malformed("HCL report", "report_size %d exceeds the %d-byte input", h.ReportSize, n)
	}
	if h.ReportSize < ClaimsOffset {
		return malformed("HCL report", "report_size %d is below the %d bytes of header, hardware report and runtime-data header", h.ReportSize, ClaimsOffset)
	}
	return nil
}

// parseRuntimeData reads the runtime-data header and the claims.
func (h *HCLReport) parseRuntimeData(s *lebytes.String) error {
	var varSize uint32
	if !s.ReadU32(&h.DataSize) || !s.ReadU32(&h.RuntimeDataVersion) || !s.ReadU32((*uint32)(&h.ReportType)) ||
		!s.ReadU32((*uint32)(&h.HashType)) || !s.ReadU32(&varSize) {
		return malformed("HCL report", "short runtime-data header")
	}
	if uint64(h.ReportSize) != RuntimeDataOffset+uint64(h.DataSize) {
		return malformed("HCL report", "report_size %d ≠ %d + runtime data_size %d", h.ReportSize, RuntimeDataOffset, h.DataSize)
	}
	if uint64(h.DataSize) != RuntimeDataHeaderSize+uint64(varSize) {
		return malformed("runtime data", "data_size %d ≠ %d + variable_data_size %d (claims must start at offset %d)",
			h.DataSize, RuntimeDataHeaderSize, varSize, ClaimsOffset)
	}
	if h.RuntimeDataVersion != runtimeDataVersion {
		return malformed("runtime data", "version %d not supported (1)", h.RuntimeDataVersion)
	}
	if h.HashType.new() == nil {
		return malformed("runtime data", "report_data_hash_type %d unknown (1 SHA-256, 2 SHA-384, 3 SHA-512)", uint32(h.HashType))
	}
	// varSize is bounded: report_size (checked against the input) equals
	// 1236 + varSize.
	if !s.ReadBytes(&h.Claims, int(varSize)) {
		return malformed("runtime data", "variable_data_size %d exceeds the report", varSize)
	}
	return nil
}

// parseHardwareReport parses the hardware-report slot as the declared type.
func (h *HCLReport) parseHardwareReport(slot []byte) error {
	switch h.ReportType {
	case ReportTypeSNP:
		r, err := sevsnp.ParseReport(slot)
		if err != nil {
			return &ParseError{What: "HCL report", Err: fmt.Errorf("report type SNP but the hardware report is not an SNP report: %w", err)}
		}
		h.SNP, h.HardwareReport = r, slot
	case ReportTypeTDX:
		td, err := ParseTDReport(slot[:TDReportSize])
		if err != nil {
			return &ParseError{What: "HCL report", Err: fmt.Errorf("report type TDX: %w", err)}
		}
		if !lebytes.IsZero(slot[TDReportSize:]) {
			return malformed("HCL report", "non-zero bytes after the TDREPORT in the hardware-report slot")
		}
		h.TDReport, h.HardwareReport = td, slot[:TDReportSize]
	default:
		return malformed("runtime data", "report type %v not supported (2 SNP, 4 TDX)", h.ReportType)
	}
	return nil
}

// ReportData is the REPORT_DATA of the hardware report (SNP REPORT_DATA, or
// the TDREPORT's REPORTDATA).
func (h *HCLReport) ReportData() [64]byte {
	if h.SNP != nil {
		return h.SNP.ReportData
	}
	if h.TDReport != nil {
		return h.TDReport.ReportData
	}
	return [64]byte{}
}

// ClaimsDigest is Hash_{HashType}(Claims).
func (h *HCLReport) ClaimsDigest() []byte {
	hh := h.HashType.new()
	if hh == nil {
		return nil
	}
	hh.Write(h.Claims)
	return hh.Sum(nil)
}

// ExpectedReportData is the REPORT_DATA that binds the claims: their digest
// followed by zeros up to 64 bytes.
func (h *HCLReport) ExpectedReportData() [64]byte {
	var rd [64]byte
	copy(rd[:], h.ClaimsDigest())
	return rd
}

// bindsClaims reports whether rd is the digest of the claims followed by
// zeros (constant time over all 64 bytes).
func (h *HCLReport) bindsClaims(rd [64]byte) bool {
	want := h.ExpectedReportData()
	return subtle.ConstantTimeCompare(want[:], rd[:]) == 1
}

// TDReport is a TDX TDREPORT_STRUCT (1024 bytes; Intel TDX module ABI,
// REPORTMACSTRUCT ‖ TEE_TCB_INFO ‖ reserved ‖ TDINFO). Its MAC can be
// checked only on the platform that made it: outside the TD it is
// authenticated only by a TD quote of it.
type TDReport struct {
	Raw []byte
	// REPORTMACSTRUCT.
	ReportType     [4]byte
	CPUSVN         [16]byte
	TEETCBInfoHash [48]byte
	TEEInfoHash    [48]byte
	ReportData     [64]byte
	MAC            [32]byte
	// TEE_TCB_INFO.
	TEETCBValid    [8]byte
	TEETCBSVN      [16]byte
	MRSEAM         [48]byte
	MRSignerSEAM   [48]byte
	SEAMAttributes [8]byte
	TEETCBSVN2     [16]byte
	// TDINFO.
	TDAttributes  [8]byte
	XFAM          [8]byte
	MRTD          [48]byte
	MRConfigID    [48]byte
	MROwner       [48]byte
	MROwnerConfig [48]byte
	RTMR          [4][48]byte
	ServTDHash    [48]byte
}

// TDREPORT type of a TDX report (REPORTTYPE.TYPE).
const tdReportTypeTDX = 0x81

// ParseTDReport parses a 1024-byte TDREPORT_STRUCT whose REPORTTYPE.TYPE is
// TDX (0x81). Reserved ranges are not interpreted: they are covered by the
// MAC, which only the platform can check.
func ParseTDReport(b []byte) (*TDReport, error) {
	if len(b) != TDReportSize {
		return nil, malformed("TDREPORT", "%d bytes, want %d", len(b), TDReportSize)
	}
	r := &TDReport{Raw: b}
	s := lebytes.String(b)
	ok := s.CopyBytes(r.ReportType[:]) && s.Skip(12) && s.CopyBytes(r.CPUSVN[:]) &&
		s.CopyBytes(r.TEETCBInfoHash[:]) && s.CopyBytes(r.TEEInfoHash[:]) && s.CopyBytes(r.ReportData[:]) &&
		s.Skip(32) && s.CopyBytes(r.MAC[:]) &&
		// TEE_TCB_INFO (239 bytes) at 256, then 17 reserved bytes.
		s.CopyBytes(r.TEETCBValid[:]) && s.CopyBytes(r.TEETCBSVN[:]) && s.CopyBytes(r.MRSEAM[:]) &&
		s.CopyBytes(r.MRSignerSEAM[:]) && s.CopyBytes(r.SEAMAttributes[:]) && s.CopyBytes(r.TEETCBSVN2[:]) &&
		s.Skip(239-144+17) &&
		// TDINFO at 512.
		s.CopyBytes(r.TDAttributes[:]) && s.CopyBytes(r.XFAM[:]) && s.CopyBytes(r.MRTD[:]) &&
		s.CopyBytes(r.MRConfigID[:]) && s.CopyBytes(r.MROwner[:]) && s.CopyBytes(r.MROwnerConfig[:])
	for i := range r.RTMR {
		ok = ok && s.CopyBytes(r.RTMR[i][:])
	}
	ok = ok && s.CopyBytes(r.ServTDHash[:]) && s.Skip(64) && s.Empty()
	if !ok {
		return nil, malformed("TDREPORT", "layout")
	}
	if r.ReportType[0] != tdReportTypeTDX {
		return nil, malformed("TDREPORT", "REPORTTYPE.TYPE %#02x, want %#02x (TDX)", r.ReportType[0], tdReportTypeTDX)
	}
	return r, nil
}
