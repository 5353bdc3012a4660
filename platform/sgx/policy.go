package sgx

import (
	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/policy"
)

// Policy is the sgx section of a policy file. A nil section, and every omitted
// field, means the default given in each field's comment. Byte strings are
// hex in quote order.
//
// The hex tags give each byte string the size of the enclave REPORT body
// field it is compared with (Intel SDM Vol. 3D, "REPORT (Cryptographic
// Protected Structure)"; sgx_report.h sgx_report_body_t): ISVEXTPRODID 16
// bytes, ATTRIBUTES 16 (FLAGS 8 ‖ XFRM 8), MRENCLAVE 32, MRSIGNER 32,
// CONFIGID 64, ISVFAMILYID 16, REPORTDATA 64 (the policy gives a prefix of
// 1 to 64).
type Policy struct {
	// ReportData is the expected REPORT_DATA (1 to 64 bytes; the rest of the
	// quote's 64 bytes must be zero). Empty: not checked.
	ReportData cloudra.HexBytes `json:"report-data,omitempty" hex:"1-64"`
	// MREnclave and MRSigner are allow-lists (32 bytes each).
	MREnclave []cloudra.HexBytes `json:"mrenclave,omitempty" hex:"32"`
	MRSigner  []cloudra.HexBytes `json:"mrsigner,omitempty" hex:"32"`
	// ISVProdID, when set, must equal the enclave's.
	ISVProdID *uint16 `json:"isvprodid,omitempty"`
	// MinISVSVN is the lowest ISVSVN accepted.
	MinISVSVN uint16 `json:"min-isvsvn,omitempty"`
	// AllowDebug admits debug enclaves (ATTRIBUTES.DEBUG); default false.
	AllowDebug *bool `json:"allow-debug,omitempty"`
	// Attributes and AttributesMask (16 bytes each, FLAGS ‖ XFRM as in the
	// quote): when set, ATTRIBUTES & mask must equal Attributes & mask
	// (mask defaults to all ones).
	Attributes     cloudra.HexBytes `json:"attributes,omitempty" hex:"16"`
	AttributesMask cloudra.HexBytes `json:"attributes-mask,omitempty" hex:"16"`
	// MiscSelect and MiscSelectMask likewise (uint32; mask default all ones).
	MiscSelect     *uint32 `json:"miscselect,omitempty"`
	MiscSelectMask *uint32 `json:"miscselect-mask,omitempty"`
	// Key separation and sharing (KSS) fields, when set, must equal.
	ISVExtProdID cloudra.HexBytes `json:"isvextprodid,omitempty" hex:"16"` // 16 bytes
	ISVFamilyID  cloudra.HexBytes `json:"isvfamilyid,omitempty" hex:"16"`  // 16 bytes
	ConfigID     cloudra.HexBytes `json:"configid,omitempty" hex:"64"`     // 64 bytes
	ConfigSVN    *uint16          `json:"configsvn,omitempty"`
	// TCB are the rules for the TCB status (see dcap.TCBPolicy).
	TCB *dcap.TCBPolicy `json:"tcb,omitempty"`
}

// PolicySection is the sgx section of the policy file format, for
// policy.Parse (platform.ParsePolicy gives every platform's).
func PolicySection() policy.Section { return policy.SectionOf[Policy](Platform) }

// PolicyOf returns the sgx section of p, or nil (the defaults).
func PolicyOf(p *policy.Policy) *Policy { return policy.Get[Policy](p, Platform) }
