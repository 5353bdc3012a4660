package dcap

// TCBPolicy are the TCB rules shared by the tdx and sgx sections.
//
// The status is Intel's merged status of platform, TDX module and QE (Intel
// QVL rules). Default accepted: UpToDate; SWHardeningNeeded,
// ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, TDRelaunchAdvised
// and TDRelaunchAdvisedConfigurationNeeded pass with a warning naming the
// advisories. OutOfDate, OutOfDateConfigurationNeeded, Revoked and
// NotSupported (no matching TCB level) fail unless listed; Revoked and
// NotSupported always fail.
type TCBPolicy struct {
	AcceptStatus []string `json:"accept-status,omitempty"`
	// AllowedAdvisories, when set, is the complete list of advisory IDs
	// ("INTEL-SA-00615") that may apply; any other fails.
	AllowedAdvisories []string `json:"allowed-advisories,omitempty"`
	// ForbiddenAdvisories fail whenever they apply.
	ForbiddenAdvisories []string `json:"forbidden-advisories,omitempty"`
	// AcceptQEStatus are the accepted QE identity statuses (default UpToDate).
	AcceptQEStatus []string `json:"accept-qe-status,omitempty"`
	// MinTCBEvaluationDataNumber is a floor for the TCB Info and QE Identity
	// tcbEvaluationDataNumber (docs/pitfalls-dcap.md C8: a cache serving an old set).
	MinTCBEvaluationDataNumber int `json:"min-tcb-evaluation-data-number,omitempty"`
}

// DefaultAcceptStatus returns the default of TCBPolicy.AcceptStatus (a new
// slice each time: the default cannot be changed by a caller).
func DefaultAcceptStatus() []string {
	return []string{
		"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
		"TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded",
	}
}
