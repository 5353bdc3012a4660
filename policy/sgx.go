package policy

import "github.com/cloudra/cloudra"

// SGX is the sgx section of a policy file. A nil section, and every omitted
// field, means the default given in each field's comment. Byte strings are
// hex in quote order.
type SGX struct {
	// ReportData is the expected REPORT_DATA (1 to 64 bytes; the rest of the
	// quote's 64 bytes must be zero). Empty: not checked.
	ReportData cloudra.HexBytes `json:"report-data,omitempty"`
	// MREnclave and MRSigner are allow-lists (32 bytes each).
	MREnclave []cloudra.HexBytes `json:"mrenclave,omitempty"`
	MRSigner  []cloudra.HexBytes `json:"mrsigner,omitempty"`
	// ISVProdID, when set, must equal the enclave's.
	ISVProdID *uint16 `json:"isvprodid,omitempty"`
	// MinISVSVN is the lowest ISVSVN accepted.
	MinISVSVN uint16 `json:"min-isvsvn,omitempty"`
	// AllowDebug admits debug enclaves (ATTRIBUTES.DEBUG); default false.
	AllowDebug *bool `json:"allow-debug,omitempty"`
	// Attributes and AttributesMask (16 bytes each, FLAGS ‖ XFRM as in the
	// quote): when set, ATTRIBUTES & mask must equal Attributes & mask
	// (mask defaults to all ones).
	Attributes     cloudra.HexBytes `json:"attributes,omitempty"`
	AttributesMask cloudra.HexBytes `json:"attributes-mask,omitempty"`
	// MiscSelect and MiscSelectMask likewise (uint32; mask default all ones).
	MiscSelect     *uint32 `json:"miscselect,omitempty"`
	MiscSelectMask *uint32 `json:"miscselect-mask,omitempty"`
	// Key separation and sharing (KSS) fields, when set, must equal.
	ISVExtProdID cloudra.HexBytes `json:"isvextprodid,omitempty"` // 16 bytes
	ISVFamilyID  cloudra.HexBytes `json:"isvfamilyid,omitempty"`  // 16 bytes
	ConfigID     cloudra.HexBytes `json:"configid,omitempty"`     // 64 bytes
	ConfigSVN    *uint16          `json:"configsvn,omitempty"`
	// TCB are the rules for the TCB status (see DCAPTCB).
	TCB *DCAPTCB `json:"tcb,omitempty"`
}
