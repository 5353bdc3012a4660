package azure

import (
	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

// Policy is the azure section of a policy file: rules for Azure confidential
// VM evidence (the paravisor's HCL report from vTPM NV 0x01400001, its
// runtime claims, and the vTPM quote signed by HCLAkPub). The hardware
// report inside is appraised with the sev-snp or tdx section and the vTPM
// quote with the tpm section, adjusted for Azure as docs/azure.md explains.
// A nil section, and every omitted field, means the default on the field.
//
// user-data is a prefix of the runtime claims' 64-byte user-data, the
// contents of the 64-byte vTPM NV index 0x01400002 (docs/azure.md), so its
// hex tag allows 1 to 64 bytes.
type Policy struct {
	// UserData is the expected runtime-claims "user-data" (1 to 64 bytes,
	// hex): the value written to NV 0x01400002 before the report was read.
	// The claims' 64 bytes must equal it followed by zeros. Empty: the
	// sev-snp or tdx report-data is used when set, else not checked.
	UserData cloudra.HexBytes `json:"user-data,omitempty" hex:"1-64"`

	// RequireFreshness requires a challenge answered by the evidence: a
	// vTPM quote whose extraData equals a non-empty nonce, or a non-zero
	// expected user-data echoed in the claims. Default true: an HCL report
	// alone is the boot-time report and can be replayed.
	RequireFreshness *bool `json:"require-freshness,omitempty"`
	// RequireVTPMQuote requires a vTPM quote signed by HCLAkPub. Default
	// false.
	RequireVTPMQuote *bool `json:"require-vtpm-quote,omitempty"`

	// The vm-configuration rules check the paravisor's statement about the
	// VM (runtime claims "vm-configuration"), bound to the hardware report
	// but not measured by the CPU. Defaults: secure boot and TPM not
	// required, console allowed.
	RequireSecureBoot *bool `json:"require-secure-boot,omitempty"`
	RequireTPMEnabled *bool `json:"require-tpm-enabled,omitempty"`
	AllowConsole      *bool `json:"allow-console,omitempty"`
	// VMUniqueIDs is an allow-list of vmUniqueId values (case-insensitive).
	VMUniqueIDs []string `json:"vm-unique-ids,omitempty"`
}

// SectionKey is the key of the azure section in a policy file.
const SectionKey = "azure"

// PolicySection is the azure section of the policy file format, for
// policy.Parse (platform.ParsePolicy gives every platform's).
func PolicySection() policy.Section { return policy.SectionOf[Policy](SectionKey) }

// PolicyOf returns the azure section of p, or nil (the defaults).
func PolicyOf(p *policy.Policy) *Policy { return policy.Get[Policy](p, SectionKey) }
