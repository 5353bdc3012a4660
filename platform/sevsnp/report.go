package sevsnp

import (
	"errors"
	"fmt"

	"github.com/cloudra/cloudra/internal/lebytes"
)

// Sizes and offsets of ATTESTATION_REPORT (AMD SEV-SNP ABI specification,
// table "ATTESTATION_REPORT Structure"; SEV-SNP ABI spec, ATTESTATION_REPORT).
const (
	ReportSize      = 0x4A0 // 1184 bytes
	SignedSize      = 0x2A0 // bytes [0:0x2A0] are signed
	signatureOffset = 0x2A0
	sigComponentLen = 72 // R and S: 72 bytes little-endian each
	p384Len         = 48 // significant bytes of a P-384 scalar
)

// Report versions this package reads. Version 3 adds the CPUID fields, 4 has
// the layout of 3, 5 adds the mitigation vectors (SEV-SNP ABI spec, ATTESTATION_REPORT).
const (
	minReportVersion = 2
	maxReportVersion = 5
)

// SignatureAlgoECDSAP384SHA384 is the only SIGNATURE_ALGO defined.
const SignatureAlgoECDSAP384SHA384 = 1

// Guest POLICY bits (ABI spec, "GUEST_POLICY").
const (
	PolicyABIMinorMask     = 0xff
	PolicyABIMajorShift    = 8
	PolicySMT              = 1 << 16
	PolicyReserved1        = 1 << 17 // must be one
	PolicyMigrateMA        = 1 << 18
	PolicyDebug            = 1 << 19
	PolicySingleSocket     = 1 << 20
	PolicyCXLAllow         = 1 << 21
	PolicyMemAES256XTS     = 1 << 22
	PolicyRAPLDis          = 1 << 23
	PolicyCiphertextHiding = 1 << 24
	PolicyPageSwapDisable  = 1 << 25
	policyMBZ              = uint64(0xFFFFFFFFFC000000)
	PlatformInfoSMTEn      = 1 << 0
	PlatformInfoTSMEEn     = 1 << 1
	PlatformInfoECCEn      = 1 << 2
	PlatformInfoRAPLDis    = 1 << 3
	PlatformInfoCiphertext = 1 << 4
	PlatformInfoAliasCheck = 1 << 5
	PlatformInfoTIOEn      = 1 << 7
	signerAuthorKeyEn      = 1 << 0
	signerMaskChipKey      = 1 << 1
	signerSigningKeyShift  = 2
	signerSigningKeyMask   = 7 << signerSigningKeyShift
	signerMBZ              = uint32(0xFFFFFFE0)
	SigningKeyVCEK         = 0
	SigningKeyVLEK         = 1
	SigningKeyNone         = 7
)

// ErrMalformed is wrapped by every parse error of this package, so callers
// classify a failure as REJECT/parse with errors.Is.
var ErrMalformed = errors.New("malformed")

// ErrTrailingData is wrapped (together with ErrMalformed) when bytes follow the
// 1184-byte report.
var ErrTrailingData = errors.New("trailing data after the report")

// ParseError is a parse failure of a report, certificate table or extension.
type ParseError struct {
	What string // "report", "cert table", "vcek extensions"
	Err  error
}

func (e *ParseError) Error() string { return "sevsnp: malformed " + e.What + ": " + e.Err.Error() }

// Unwrap returns the cause and ErrMalformed.
func (e *ParseError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

func malformed(what, format string, args ...any) error {
	return &ParseError{What: what, Err: fmt.Errorf(format, args...)}
}

// TCBVersion is a TCB_VERSION as the 8 bytes of the report read as a
// little-endian u64. Its meaning depends on the product (see [TCBParts]).
type TCBVersion uint64

// Report is a parsed ATTESTATION_REPORT. Byte arrays are in report order.
type Report struct {
	Version          uint32
	GuestSVN         uint32
	Policy           uint64
	FamilyID         [16]byte
	ImageID          [16]byte
	VMPL             uint32
	SignatureAlgo    uint32
	CurrentTCB       TCBVersion
	PlatformInfo     uint64
	SignerInfo       uint32 // AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY
	ReportData       [64]byte
	Measurement      [48]byte
	HostData         [32]byte
	IDKeyDigest      [48]byte
	AuthorKeyDigest  [48]byte
	ReportID         [32]byte
	ReportIDMA       [32]byte
	ReportedTCB      TCBVersion
	CPUIDFamily      uint8 // v3+; zero in v2
	CPUIDModel       uint8
	CPUIDStepping    uint8
	ChipID           [64]byte
	CommittedTCB     TCBVersion
	CurrentBuild     uint8
	CurrentMinor     uint8
	CurrentMajor     uint8
	CommittedBuild   uint8
	CommittedMinor   uint8
	CommittedMajor   uint8
	LaunchTCB        TCBVersion
	LaunchMitVector  uint64 // v5+
	CurrentMitVector uint64 // v5+
	// R and S are the signature components exactly as received: 72 bytes,
	// little-endian, bytes 48–71 zero.
	R, S [sigComponentLen]byte
	// Raw is a copy of the 1184 report bytes.
	Raw []byte
	raw [ReportSize]byte
}

// Signed returns the signed span, report[0:0x2A0], as received.
func (r *Report) Signed() []byte { return r.Raw[:SignedSize] }

// SigningKey returns the SIGNING_KEY field: 0 VCEK, 1 VLEK, 7 none.
func (r *Report) SigningKey() uint32 {
	return (r.SignerInfo & signerSigningKeyMask) >> signerSigningKeyShift
}

// AuthorKeyEn reports the AUTHOR_KEY_EN bit.
func (r *Report) AuthorKeyEn() bool { return r.SignerInfo&signerAuthorKeyEn != 0 }

// MaskChipKey reports the MASK_CHIP_KEY bit.
func (r *Report) MaskChipKey() bool { return r.SignerInfo&signerMaskChipKey != 0 }

// ABIMajor and ABIMinor are the minimum ABI the guest policy requires.
func (r *Report) ABIMajor() uint8 { return uint8(r.Policy >> PolicyABIMajorShift) }

// ABIMinor is the minimum ABI minor version of the guest policy.
func (r *Report) ABIMinor() uint8 { return uint8(r.Policy & PolicyABIMinorMask) }

// ParseReport parses an ATTESTATION_REPORT.
//
// The input must be exactly 1184 bytes: trailing bytes (a newline appended by a
// file writer, a padded transport buffer) are rejected with an error wrapping
// ErrTrailingData and ErrMalformed, because they are outside the signed span
// and outside the defined structure; the caller that knows its transport pads
// must trim. VERSION is checked (2–5) before any version-dependent offset is
// read; every reserved range, including the unsigned bytes after R‖S and bytes
// 48–71 of R and S, must be zero; SIGNATURE_ALGO must be 1. The returned
// report holds a copy of the bytes.
func ParseReport(b []byte) (*Report, error) {
	if len(b) < ReportSize {
		return nil, malformed("report", "%d bytes, want %d", len(b), ReportSize)
	}
	if len(b) > ReportSize {
		return nil, &ParseError{What: "report", Err: fmt.Errorf("%w: %d bytes after byte %d", ErrTrailingData, len(b)-ReportSize, ReportSize)}
	}
	r := &Report{}
	copy(r.raw[:], b)
	r.Raw = r.raw[:]
	if err := r.parse(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Report) parse() error {
	s := lebytes.String(r.Raw)
	// In the order of the layout (SEV-SNP ABI spec, ATTESTATION_REPORT):
	// VERSION first, so that nothing version-dependent is read before it
	// is known.
	if err := r.parseHeader(&s); err != nil {
		return err
	}
	if err := r.parseBody(&s); err != nil {
		return err
	}
	if err := r.parseTCBs(&s); err != nil {
		return err
	}
	if err := r.parseSignature(&s); err != nil {
		return err
	}
	if !s.Empty() {
		return malformed("report", "internal: %d bytes left", s.Len())
	}
	return nil
}

// parseHeader reads 0x000–0x04F: version, guest SVN and policy, family and
// image IDs, VMPL, signature algorithm, current TCB, platform and signer
// info.
func (r *Report) parseHeader(s *lebytes.String) error {
	var v uint32
	if !s.ReadU32(&v) {
		return malformed("report", "short version")
	}
	if v < minReportVersion || v > maxReportVersion {
		return malformed("report", "version %d not supported (2–5)", v)
	}
	r.Version = v
	var cur uint64
	if !s.ReadU32(&r.GuestSVN) || !s.ReadU64(&r.Policy) ||
		!s.CopyBytes(r.FamilyID[:]) || !s.CopyBytes(r.ImageID[:]) ||
		!s.ReadU32(&r.VMPL) || !s.ReadU32(&r.SignatureAlgo) ||
		!s.ReadU64(&cur) || !s.ReadU64(&r.PlatformInfo) || !s.ReadU32(&r.SignerInfo) {
		return malformed("report", "short header")
	}
	r.CurrentTCB = TCBVersion(cur)
	if r.Policy&policyMBZ != 0 {
		return malformed("report", "POLICY bits 26–63 must be zero: %#x", r.Policy)
	}
	if r.Policy&PolicyReserved1 == 0 {
		return malformed("report", "POLICY bit 17 is reserved and must be one: %#x", r.Policy)
	}
	if r.SignatureAlgo != SignatureAlgoECDSAP384SHA384 {
		return malformed("report", "SIGNATURE_ALGO %d, want 1 (ECDSA P-384 with SHA-384)", r.SignatureAlgo)
	}
	if r.SignerInfo&signerMBZ != 0 {
		return malformed("report", "signer info bits 5–31 must be zero: %#x", r.SignerInfo)
	}
	if k := r.SigningKey(); k != SigningKeyVCEK && k != SigningKeyVLEK && k != SigningKeyNone {
		return malformed("report", "SIGNING_KEY %d is reserved (0 VCEK, 1 VLEK, 7 none)", k)
	}
	if !s.ReadZero(4) {
		return malformed("report", "reserved bytes 0x04C–0x04F must be zero")
	}
	return nil
}

// parseBody reads 0x050–0x19F: REPORT_DATA, measurement, host data, key
// digests, report IDs, reported TCB and (version 3 on) the CPUID.
func (r *Report) parseBody(s *lebytes.String) error {
	var reported uint64
	if !s.CopyBytes(r.ReportData[:]) || !s.CopyBytes(r.Measurement[:]) || !s.CopyBytes(r.HostData[:]) ||
		!s.CopyBytes(r.IDKeyDigest[:]) || !s.CopyBytes(r.AuthorKeyDigest[:]) ||
		!s.CopyBytes(r.ReportID[:]) || !s.CopyBytes(r.ReportIDMA[:]) || !s.ReadU64(&reported) {
		return malformed("report", "short body")
	}
	r.ReportedTCB = TCBVersion(reported)
	if r.Version >= 3 {
		if !s.ReadU8(&r.CPUIDFamily) || !s.ReadU8(&r.CPUIDModel) || !s.ReadU8(&r.CPUIDStepping) {
			return malformed("report", "short CPUID")
		}
		if !s.ReadZero(21) {
			return malformed("report", "reserved bytes 0x18B–0x19F must be zero")
		}
	} else if !s.ReadZero(24) {
		return malformed("report", "reserved bytes 0x188–0x19F must be zero in a version 2 report")
	}
	return nil
}

// parseTCBs reads 0x1A0–0x29F: chip ID, committed TCB, current and
// committed firmware versions, launch TCB and (version 5) the mitigation
// vectors.
func (r *Report) parseTCBs(s *lebytes.String) error {
	var committed, launchTCB uint64
	var resv uint8
	if !s.CopyBytes(r.ChipID[:]) || !s.ReadU64(&committed) ||
		!s.ReadU8(&r.CurrentBuild) || !s.ReadU8(&r.CurrentMinor) || !s.ReadU8(&r.CurrentMajor) || !s.ReadU8(&resv) {
		return malformed("report", "short chip id / committed tcb")
	}
	if resv != 0 {
		return malformed("report", "reserved byte 0x1EB must be zero")
	}
	if !s.ReadU8(&r.CommittedBuild) || !s.ReadU8(&r.CommittedMinor) || !s.ReadU8(&r.CommittedMajor) || !s.ReadU8(&resv) {
		return malformed("report", "short committed version")
	}
	if resv != 0 {
		return malformed("report", "reserved byte 0x1EF must be zero")
	}
	r.CommittedTCB = TCBVersion(committed)
	if !s.ReadU64(&launchTCB) {
		return malformed("report", "short launch tcb")
	}
	r.LaunchTCB = TCBVersion(launchTCB)
	if r.Version >= 5 {
		if !s.ReadU64(&r.LaunchMitVector) || !s.ReadU64(&r.CurrentMitVector) {
			return malformed("report", "short mitigation vectors")
		}
		if !s.ReadZero(0x2A0 - 0x208) {
			return malformed("report", "reserved bytes 0x208–0x29F must be zero")
		}
	} else if !s.ReadZero(0x2A0 - 0x1F8) {
		return malformed("report", "reserved bytes 0x1F8–0x29F must be zero in a version %d report", r.Version)
	}
	return nil
}

// parseSignature reads 0x2A0–0x49F: R and S, 72 bytes little-endian each;
// only the low 48 bytes carry a P-384 scalar, the rest must be zero. The
// 368 bytes after S are unsigned and must be zero so that nothing
// unauthenticated can ride along (docs/pitfalls-snp.md B11).
func (r *Report) parseSignature(s *lebytes.String) error {
	if !s.CopyBytes(r.R[:]) || !s.CopyBytes(r.S[:]) {
		return malformed("report", "short signature")
	}
	if !lebytes.IsZero(r.R[p384Len:]) {
		return malformed("report", "signature R bytes 48–71 must be zero")
	}
	if !lebytes.IsZero(r.S[p384Len:]) {
		return malformed("report", "signature S bytes 48–71 must be zero")
	}
	if !s.ReadZero(ReportSize - 0x330) {
		return malformed("report", "unsigned bytes 0x330–0x49F must be zero")
	}
	return nil
}
