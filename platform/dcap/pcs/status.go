package pcs

import "fmt"

// Status is a TCB status as defined by Intel PCS TCB Info v3 and enclave
// identity v2 ("tcbStatus"), plus the outcomes Intel's QVL derives from them
// (TCB not supported, TD relaunch advised).
type Status int

// TCB statuses. The zero value is never produced for a valid document.
const (
	StatusInvalid Status = iota
	// UpToDate: the platform is patched for every known advisory.
	UpToDate
	// SWHardeningNeeded: patched, but software mitigations for the listed
	// advisories are expected of the enclave or TD.
	SWHardeningNeeded
	// ConfigurationNeeded: patched, but the platform configuration (e.g. BIOS
	// settings) needs changes for the listed advisories.
	ConfigurationNeeded
	// ConfigurationAndSWHardeningNeeded: both of the above.
	ConfigurationAndSWHardeningNeeded
	// OutOfDate: the platform lacks TCB updates for the listed advisories.
	OutOfDate
	// OutOfDateConfigurationNeeded: out of date and misconfigured.
	OutOfDateConfigurationNeeded
	// Revoked: the TCB level (or QE ISVSVN) is revoked.
	Revoked
	// NotSupported: no TCB level of the collateral matches the platform
	// (QVL STATUS_TCB_NOT_SUPPORTED). Distinct from OutOfDate: the
	// collateral says nothing about this platform.
	NotSupported
	// TDRelaunchAdvised: the platform's TDX module was updated in place
	// (TD report 1.5 TEE_TCB_SVN_2 is current) but this TD still runs on the
	// out-of-date one; relaunching the TD would make it UpToDate
	// (QVL STATUS_TCB_TD_RELAUNCH_ADVISED, TDRelaunchCheck.cpp).
	TDRelaunchAdvised
	// TDRelaunchAdvisedConfigurationNeeded: as TDRelaunchAdvised, and the
	// platform also needs configuration changes.
	TDRelaunchAdvisedConfigurationNeeded
)

var statusNames = [...]string{
	StatusInvalid:                        "Invalid",
	UpToDate:                             "UpToDate",
	SWHardeningNeeded:                    "SWHardeningNeeded",
	ConfigurationNeeded:                  "ConfigurationNeeded",
	ConfigurationAndSWHardeningNeeded:    "ConfigurationAndSWHardeningNeeded",
	OutOfDate:                            "OutOfDate",
	OutOfDateConfigurationNeeded:         "OutOfDateConfigurationNeeded",
	Revoked:                              "Revoked",
	NotSupported:                         "NotSupported",
	TDRelaunchAdvised:                    "TDRelaunchAdvised",
	TDRelaunchAdvisedConfigurationNeeded: "TDRelaunchAdvisedConfigurationNeeded",
}

// String returns Intel's spelling of the status ("UpToDate", …).
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes the status as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// parseLevelStatus accepts exactly the seven tcbStatus strings Intel
// documents for TCB levels; any other string is a parse error (docs/pitfalls-dcap.md C5).
func parseLevelStatus(s string) (Status, error) {
	for st := UpToDate; st <= Revoked; st++ {
		if statusNames[st] == s {
			return st, nil
		}
	}
	return StatusInvalid, fmt.Errorf("unknown tcbStatus %q", s)
}

// configurationNeeded is QVL's isConfigurationNeeded (TDRelaunchCheck.cpp).
func (s Status) configurationNeeded() bool {
	switch s {
	case ConfigurationNeeded, OutOfDateConfigurationNeeded, ConfigurationAndSWHardeningNeeded, TDRelaunchAdvisedConfigurationNeeded:
		return true
	}
	return false
}
