package sevsnp

import (
	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

// Policy is the sev-snp section of a policy file. A nil section, and every
// omitted field, means the default given in each field's comment. Byte
// strings are hex.
//
// Defaults are chosen for production: VMPL 0, no debug, no migration agent,
// report signed by a VCEK or a VLEK, provisional firmware allowed (live
// microcode updates make CURRENT_TCB ≠ COMMITTED_TCB normal on AWS and Azure
// hosts), no CRL required (a missing CRL is reported as a warning).
//
// The hex tags give each byte string the size of the ATTESTATION_REPORT
// field it is compared with (AMD SEV-SNP Firmware ABI Specification, table
// "ATTESTATION_REPORT Structure"): FAMILY_ID 16 bytes at 0x10, IMAGE_ID 16
// at 0x20, REPORT_DATA 64 at 0x50 (the policy gives a prefix of 1 to 64),
// MEASUREMENT 48 at 0x90, HOST_DATA 32 at 0xC0, ID_KEY_DIGEST 48 at 0xE0,
// AUTHOR_KEY_DIGEST 48 at 0x110.
type Policy struct {
	// ReportData is the expected REPORT_DATA: 1 to 64 bytes. The report's
	// first len(ReportData) bytes must equal it and the remaining bytes must
	// be zero, so a 32-byte hash must fill exactly the first half (pitfalls
	// B9). Empty: not checked.
	ReportData cloudra.HexBytes `json:"report-data,omitempty" hex:"1-64"`
	// Measurements is an allow-list of launch digests (48 bytes each).
	Measurements []cloudra.HexBytes `json:"measurements,omitempty" hex:"48"`
	// HostData is the expected HOST_DATA (32 bytes).
	HostData cloudra.HexBytes `json:"host-data,omitempty" hex:"32"`
	// IDKeyDigests and AuthorKeyDigests are allow-lists (48 bytes each).
	IDKeyDigests     []cloudra.HexBytes `json:"id-key-digests,omitempty" hex:"48"`
	AuthorKeyDigests []cloudra.HexBytes `json:"author-key-digests,omitempty" hex:"48"`
	// FamilyID and ImageID, when set, must match (16 bytes each).
	FamilyID cloudra.HexBytes `json:"family-id,omitempty" hex:"16"`
	ImageID  cloudra.HexBytes `json:"image-id,omitempty" hex:"16"`
	// MinGuestSVN is the lowest GUEST_SVN accepted.
	MinGuestSVN uint32 `json:"min-guest-svn,omitempty"`
	// VMPL is the required VMPL (default 0; Sakura runs the OS at 2).
	VMPL *uint32 `json:"vmpl,omitempty"`

	// Guest policy bits. Defaults: debug and migrate-agent rejected; SMT and
	// CXL allowed; the others not required.
	AllowDebug              *bool `json:"allow-debug,omitempty"`
	AllowMigrateAgent       *bool `json:"allow-migrate-agent,omitempty"`
	AllowSMT                *bool `json:"allow-smt,omitempty"`
	AllowCXL                *bool `json:"allow-cxl,omitempty"`
	RequireSingleSocket     bool  `json:"require-single-socket,omitempty"`
	RequireMemAES256XTS     bool  `json:"require-mem-aes-256-xts,omitempty"`
	RequireRAPLDis          bool  `json:"require-rapl-dis,omitempty"`
	RequireCiphertextHiding bool  `json:"require-ciphertext-hiding,omitempty"`
	RequirePageSwapDisable  bool  `json:"require-page-swap-disable,omitempty"`
	// MinGuestABI is the lowest ABI "major.minor" the guest policy may ask for.
	MinGuestABI string `json:"min-guest-abi,omitempty"`
	// MinFirmware is the lowest firmware "major.minor" (CURRENT and COMMITTED).
	MinFirmware string `json:"min-firmware,omitempty"`
	// MinBuild is the lowest firmware build (CURRENT and COMMITTED).
	MinBuild uint8 `json:"min-build,omitempty"`
	// MinTCB is the floor for REPORTED_TCB and COMMITTED_TCB, per component
	// in the product's layout (never a packed integer).
	MinTCB *TCBFloor `json:"min-tcb,omitempty"`
	// AllowProvisional accepts CURRENT_TCB above COMMITTED_TCB and a current
	// firmware version other than the committed one (default true; COMMITTED
	// above CURRENT is always rejected).
	AllowProvisional *bool `json:"allow-provisional,omitempty"`
	// Signer is "vcek", "vlek" or "any" (default "any").
	Signer string `json:"signer,omitempty"`
	// MinReportVersion is the lowest report VERSION accepted (default 2).
	MinReportVersion uint32 `json:"min-report-version,omitempty"`
	// RequirePlatformInfo and ForbidPlatformInfo name PLATFORM_INFO bits:
	// smt-en, tsme-en, ecc-en, rapl-dis, ciphertext-hiding-en,
	// alias-check-complete, tio-en.
	RequirePlatformInfo []string `json:"require-platform-info,omitempty"`
	ForbidPlatformInfo  []string `json:"forbid-platform-info,omitempty"`
	// RequireCRL fails verification when no valid ARK-signed CRL is at hand
	// (default false: fail open with a warning).
	RequireCRL bool `json:"require-crl,omitempty"`
	// Product pins the product line ("Milan", "Genoa", "Turin").
	Product string `json:"product,omitempty"`
	// AllowMaskedChipID accepts an all-zero CHIP_ID (MASK_CHIP_ID) on a
	// VCEK-signed report. Default false.
	AllowMaskedChipID bool `json:"allow-masked-chip-id,omitempty"`
}

// TCBFloor is a TCB floor, one security patch level per component.
type TCBFloor struct {
	Bootloader uint8 `json:"bootloader"`
	TEE        uint8 `json:"tee"`
	SNP        uint8 `json:"snp"`
	Microcode  uint8 `json:"microcode"`
	FMC        uint8 `json:"fmc,omitempty"` // Turin only
}

// PolicySection is the sev-snp section of the policy file format, for
// policy.Parse (platform.ParsePolicy gives every platform's).
func PolicySection() policy.Section { return policy.SectionOf[Policy](Platform) }

// PolicyOf returns the sev-snp section of p, or nil (the defaults).
func PolicyOf(p *policy.Policy) *Policy { return policy.Get[Policy](p, Platform) }
