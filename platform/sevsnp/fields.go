package sevsnp

import (
	"encoding/hex"

	"github.com/cloudra/cloudra"
)

// Fields lists every field of the report under its AMD ABI specification
// name, in report order, for display (`cloudra inspect`). Byte strings are
// lowercase hex in report order; TCB_VERSION fields are the 8 bytes in report
// order. Nothing here is verified: display is not evidence.
func (r *Report) Fields() []cloudra.Claim {
	h := hex.EncodeToString
	f := []cloudra.Claim{
		{Name: "VERSION", Value: r.Version},
		{Name: "GUEST_SVN", Value: r.GuestSVN},
		{Name: "POLICY", Value: r.Policy},
		{Name: "POLICY.ABI_MINOR", Value: r.ABIMinor()},
		{Name: "POLICY.ABI_MAJOR", Value: r.ABIMajor()},
		{Name: "POLICY.SMT", Value: r.Policy&PolicySMT != 0},
		{Name: "POLICY.MIGRATE_MA", Value: r.Policy&PolicyMigrateMA != 0},
		{Name: "POLICY.DEBUG", Value: r.Policy&PolicyDebug != 0},
		{Name: "POLICY.SINGLE_SOCKET", Value: r.Policy&PolicySingleSocket != 0},
		{Name: "POLICY.CXL_ALLOW", Value: r.Policy&PolicyCXLAllow != 0},
		{Name: "POLICY.MEM_AES_256_XTS", Value: r.Policy&PolicyMemAES256XTS != 0},
		{Name: "POLICY.RAPL_DIS", Value: r.Policy&PolicyRAPLDis != 0},
		{Name: "POLICY.CIPHERTEXT_HIDING", Value: r.Policy&PolicyCiphertextHiding != 0},
		{Name: "POLICY.PAGE_SWAP_DISABLE", Value: r.Policy&PolicyPageSwapDisable != 0},
		{Name: "FAMILY_ID", Value: h(r.FamilyID[:])},
		{Name: "IMAGE_ID", Value: h(r.ImageID[:])},
		{Name: "VMPL", Value: r.VMPL},
		{Name: "SIGNATURE_ALGO", Value: r.SignatureAlgo},
		{Name: "CURRENT_TCB", Value: r.CurrentTCB.String()},
		{Name: "PLATFORM_INFO", Value: r.PlatformInfo},
		{Name: "AUTHOR_KEY_EN", Value: r.AuthorKeyEn()},
		{Name: "MASK_CHIP_KEY", Value: r.MaskChipKey()},
		{Name: "SIGNING_KEY", Value: r.SigningKey()},
		{Name: "REPORT_DATA", Value: h(r.ReportData[:])},
		{Name: "MEASUREMENT", Value: h(r.Measurement[:])},
		{Name: "HOST_DATA", Value: h(r.HostData[:])},
		{Name: "ID_KEY_DIGEST", Value: h(r.IDKeyDigest[:])},
		{Name: "AUTHOR_KEY_DIGEST", Value: h(r.AuthorKeyDigest[:])},
		{Name: "REPORT_ID", Value: h(r.ReportID[:])},
		{Name: "REPORT_ID_MA", Value: h(r.ReportIDMA[:])},
		{Name: "REPORTED_TCB", Value: r.ReportedTCB.String()},
	}
	if r.Version >= 3 {
		f = append(f,
			cloudra.Claim{Name: "CPUID_FAM_ID", Value: r.CPUIDFamily},
			cloudra.Claim{Name: "CPUID_MOD_ID", Value: r.CPUIDModel},
			cloudra.Claim{Name: "CPUID_STEP", Value: r.CPUIDStepping})
	}
	f = append(f,
		cloudra.Claim{Name: "CHIP_ID", Value: h(r.ChipID[:])},
		cloudra.Claim{Name: "COMMITTED_TCB", Value: r.CommittedTCB.String()},
		cloudra.Claim{Name: "CURRENT_BUILD", Value: r.CurrentBuild},
		cloudra.Claim{Name: "CURRENT_MINOR", Value: r.CurrentMinor},
		cloudra.Claim{Name: "CURRENT_MAJOR", Value: r.CurrentMajor},
		cloudra.Claim{Name: "COMMITTED_BUILD", Value: r.CommittedBuild},
		cloudra.Claim{Name: "COMMITTED_MINOR", Value: r.CommittedMinor},
		cloudra.Claim{Name: "COMMITTED_MAJOR", Value: r.CommittedMajor},
		cloudra.Claim{Name: "LAUNCH_TCB", Value: r.LaunchTCB.String()})
	if r.Version >= 5 {
		f = append(f,
			cloudra.Claim{Name: "LAUNCH_MIT_VECTOR", Value: r.LaunchMitVector},
			cloudra.Claim{Name: "CURRENT_MIT_VECTOR", Value: r.CurrentMitVector})
	}
	f = append(f,
		cloudra.Claim{Name: "SIGNATURE.R", Value: h(r.R[:p384Len])},
		cloudra.Claim{Name: "SIGNATURE.S", Value: h(r.S[:p384Len])})
	return f
}

// claims renders the normalised claims of a verified report lazily.
type claims struct {
	r       *Report
	product string
	signer  string
}

var _ cloudra.ClaimSet = (*claims)(nil)

// Claims renders every claim: hex in report order, TCB values per component
// in the product's layout.
func (c *claims) Claims() []cloudra.Claim {
	r := c.r
	h := hex.EncodeToString
	out := []cloudra.Claim{
		{Name: "version", Value: r.Version},
		{Name: "guest_svn", Value: r.GuestSVN},
		{Name: "policy", Value: r.Policy},
		{Name: "debug", Value: r.Policy&PolicyDebug != 0},
		{Name: "family_id", Value: h(r.FamilyID[:])},
		{Name: "image_id", Value: h(r.ImageID[:])},
		{Name: "vmpl", Value: r.VMPL},
		{Name: "platform_info", Value: r.PlatformInfo},
		{Name: "signing_key", Value: r.SigningKey()},
		{Name: "report_data", Value: h(r.ReportData[:])},
		{Name: "measurement", Value: h(r.Measurement[:])},
		{Name: "host_data", Value: h(r.HostData[:])},
		{Name: "id_key_digest", Value: h(r.IDKeyDigest[:])},
		{Name: "author_key_digest", Value: h(r.AuthorKeyDigest[:])},
		{Name: "report_id", Value: h(r.ReportID[:])},
		{Name: "report_id_ma", Value: h(r.ReportIDMA[:])},
		{Name: "chip_id", Value: h(r.ChipID[:])},
	}
	for _, t := range []struct {
		name string
		v    TCBVersion
	}{{"current_tcb", r.CurrentTCB}, {"reported_tcb", r.ReportedTCB}, {"committed_tcb", r.CommittedTCB}, {"launch_tcb", r.LaunchTCB}} {
		p := t.v.Parts(c.product)
		if p.Turin {
			out = append(out, cloudra.Claim{Name: t.name + ".fmc", Value: p.FMC})
		}
		out = append(out,
			cloudra.Claim{Name: t.name + ".bootloader", Value: p.Bootloader},
			cloudra.Claim{Name: t.name + ".tee", Value: p.TEE},
			cloudra.Claim{Name: t.name + ".snp", Value: p.SNP},
			cloudra.Claim{Name: t.name + ".microcode", Value: p.Microcode})
	}
	out = append(out,
		cloudra.Claim{Name: "current_version", Value: versionString(r.CurrentMajor, r.CurrentMinor, r.CurrentBuild)},
		cloudra.Claim{Name: "committed_version", Value: versionString(r.CommittedMajor, r.CommittedMinor, r.CommittedBuild)},
		cloudra.Claim{Name: "product", Value: c.product},
		cloudra.Claim{Name: "signer", Value: c.signer})
	return out
}

func versionString(major, minor, build uint8) string {
	return itoa(int(major)) + "." + itoa(int(minor)) + "." + itoa(int(build))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [4]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
