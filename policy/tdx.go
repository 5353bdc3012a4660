package policy

import "github.com/cloudra/cloudra"

// TDX is the tdx section of a policy file. A nil section, and every omitted
// field, means the default given in each field's comment. Byte strings are
// hex in quote order (never reversed). Allow-lists pass when empty or when
// the quote's value is one of the entries.
type TDX struct {
	// ReportData is the expected REPORT_DATA: 1 to 64 bytes; the quote's
	// first len(ReportData) bytes must equal it and the rest must be zero.
	// Empty: not checked.
	ReportData cloudra.HexBytes `json:"report-data,omitempty"`

	// Measurement allow-lists (48 bytes each).
	MRTD          []cloudra.HexBytes `json:"mrtd,omitempty"`
	RTMR0         []cloudra.HexBytes `json:"rtmr0,omitempty"`
	RTMR1         []cloudra.HexBytes `json:"rtmr1,omitempty"`
	RTMR2         []cloudra.HexBytes `json:"rtmr2,omitempty"`
	RTMR3         []cloudra.HexBytes `json:"rtmr3,omitempty"`
	MRSEAM        []cloudra.HexBytes `json:"mrseam,omitempty"`
	MRSignerSEAM  []cloudra.HexBytes `json:"mrsignerseam,omitempty"`
	MRConfigID    []cloudra.HexBytes `json:"mrconfigid,omitempty"`
	MROwner       []cloudra.HexBytes `json:"mrowner,omitempty"`
	MROwnerConfig []cloudra.HexBytes `json:"mrownerconfig,omitempty"`
	// MRServiceTD is an allow-list for TD report 1.5 quotes (48 bytes each).
	// Default: only all-zero (no service TD bound) is accepted.
	MRServiceTD []cloudra.HexBytes `json:"mrservicetd,omitempty"`

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
	XFAM []cloudra.HexBytes `json:"xfam,omitempty"`

	// MinTEETCBSVN is a floor for TEE_TCB_SVN (16 bytes), compared byte by
	// byte: every byte of the quote's value must be ≥ the floor's.
	MinTEETCBSVN cloudra.HexBytes `json:"min-tee-tcb-svn,omitempty"`

	// TCB are the rules for the TCB status from Intel's collateral.
	TCB *DCAPTCB `json:"tcb,omitempty"`
}

// DCAPTCB are the TCB rules shared by the tdx and sgx sections.
//
// The status is Intel's merged status of platform, TDX module and QE (Intel
// QVL rules). Default accepted: UpToDate; SWHardeningNeeded,
// ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, TDRelaunchAdvised
// and TDRelaunchAdvisedConfigurationNeeded pass with a warning naming the
// advisories. OutOfDate, OutOfDateConfigurationNeeded, Revoked and
// NotSupported (no matching TCB level) fail unless listed; Revoked and
// NotSupported always fail.
type DCAPTCB struct {
	AcceptStatus []string `json:"accept-status,omitempty"`
	// AllowedAdvisories, when set, is the complete list of advisory IDs
	// ("INTEL-SA-00615") that may apply; any other fails.
	AllowedAdvisories []string `json:"allowed-advisories,omitempty"`
	// ForbiddenAdvisories fail whenever they apply.
	ForbiddenAdvisories []string `json:"forbidden-advisories,omitempty"`
	// AcceptQEStatus are the accepted QE identity statuses (default UpToDate).
	AcceptQEStatus []string `json:"accept-qe-status,omitempty"`
	// MinTCBEvaluationDataNumber is a floor for the TCB Info and QE Identity
	// tcbEvaluationDataNumber (pitfalls C8: a cache serving an old set).
	MinTCBEvaluationDataNumber int `json:"min-tcb-evaluation-data-number,omitempty"`
}

// DefaultAcceptStatus is the default of DCAPTCB.AcceptStatus.
var DefaultAcceptStatus = []string{
	"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
	"TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded",
}
