package tdx

import (
	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/policy"
)

// Policy is the tdx section of a policy file. A nil section, and every omitted
// field, means the default given in each field's comment. Byte strings are
// hex in quote order (never reversed). Allow-lists pass when empty or when
// the quote's value is one of the entries.
//
// The hex tags give each byte string the size of the TD quote body field it
// is compared with (Intel TDX DCAP Quote Generation and Verification
// Library, "TD Quote Body"; sgx_quote_4.h sgx_report2_body_t, and
// sgx_quote_5.h for TD report 1.5): TEE_TCB_SVN 16 bytes, MRSEAM and
// MRSIGNERSEAM 48, XFAM 8, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG and
// RTMR0–3 48 each, REPORTDATA 64 (the policy gives a prefix of 1 to 64),
// MRSERVICETD 48.
type Policy struct {
	// ReportData is the expected REPORT_DATA: 1 to 64 bytes; the quote's
	// first len(ReportData) bytes must equal it and the rest must be zero.
	// Empty: not checked.
	ReportData cloudra.HexBytes `json:"report-data,omitempty" hex:"1-64"`

	// Measurement allow-lists (48 bytes each).
	MRTD          []cloudra.HexBytes `json:"mrtd,omitempty" hex:"48"`
	RTMR0         []cloudra.HexBytes `json:"rtmr0,omitempty" hex:"48"`
	RTMR1         []cloudra.HexBytes `json:"rtmr1,omitempty" hex:"48"`
	RTMR2         []cloudra.HexBytes `json:"rtmr2,omitempty" hex:"48"`
	RTMR3         []cloudra.HexBytes `json:"rtmr3,omitempty" hex:"48"`
	MRSEAM        []cloudra.HexBytes `json:"mrseam,omitempty" hex:"48"`
	MRSignerSEAM  []cloudra.HexBytes `json:"mrsignerseam,omitempty" hex:"48"`
	MRConfigID    []cloudra.HexBytes `json:"mrconfigid,omitempty" hex:"48"`
	MROwner       []cloudra.HexBytes `json:"mrowner,omitempty" hex:"48"`
	MROwnerConfig []cloudra.HexBytes `json:"mrownerconfig,omitempty" hex:"48"`
	// MRServiceTD is an allow-list for TD report 1.5 quotes (48 bytes each).
	// Default: only all-zero (no service TD bound) is accepted.
	MRServiceTD []cloudra.HexBytes `json:"mrservicetd,omitempty" hex:"48"`

	// TD_ATTRIBUTES. Reserved bits are always rejected. Defaults: DEBUG
	// rejected; SEPT_VE_DISABLE required (set require-sept-ve-disable: false
	// for Azure TDX, whose TDs run with TD_ATTRIBUTES = 0); PKS, KL and
	// PERFMON allowed.
	AllowDebug           *bool `json:"allow-debug,omitempty"`
	RequireSEPTVEDisable *bool `json:"require-sept-ve-disable,omitempty"`
	AllowPKS             *bool `json:"allow-pks,omitempty"`
	AllowKL              *bool `json:"allow-kl,omitempty"`
	AllowPerfmon         *bool `json:"allow-perfmon,omitempty"`
	// XFAM is an allow-list of XFAM values (8 bytes each, quote order).
	XFAM []cloudra.HexBytes `json:"xfam,omitempty" hex:"8"`

	// MinTEETCBSVN is a floor for TEE_TCB_SVN (16 bytes), compared byte by
	// byte: every byte of the quote's value must be ≥ the floor's.
	MinTEETCBSVN cloudra.HexBytes `json:"min-tee-tcb-svn,omitempty" hex:"16"`

	// TCB are the rules for the TCB status from Intel's collateral.
	TCB *dcap.TCBPolicy `json:"tcb,omitempty"`
}

// PolicySection is the tdx section of the policy file format, for
// policy.Parse (platform.ParsePolicy gives every platform's).
func PolicySection() policy.Section { return policy.SectionOf[Policy](Platform) }

// PolicyOf returns the tdx section of p, or nil (the defaults).
func PolicyOf(p *policy.Policy) *Policy { return policy.Get[Policy](p, Platform) }
