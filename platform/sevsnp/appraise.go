package sevsnp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/lebytes"
	"github.com/cloudra/cloudra/policy"
)

// platformInfoBits names PLATFORM_INFO bits for require/forbid rules.
var platformInfoBits = map[string]uint64{
	"smt-en": PlatformInfoSMTEn, "tsme-en": PlatformInfoTSMEEn, "ecc-en": PlatformInfoECCEn,
	"rapl-dis": PlatformInfoRAPLDis, "ciphertext-hiding-en": PlatformInfoCiphertext,
	"alias-check-complete": PlatformInfoAliasCheck, "tio-en": PlatformInfoTIOEn,
}

// appraise evaluates every rule of pol against the genuine report r and
// records each violated rule (all of them, not only the first) plus one
// check per rule group. Rule names are the policy field names.
func appraise(res *cloudra.Result, r *Report, product string, vlek bool, pol *Policy) {
	n := len(res.Violations)
	violate := func(rule string, class cloudra.Class, want, got string) {
		res.Violate(rule, class, want, got)
		res.Add("policy."+rule, cloudra.OutcomeFail, orPolicy(class), "want "+want+", got "+got)
	}
	pass := func(check string) { res.Add(check, cloudra.OutcomePass, "", "") }
	h := hex.EncodeToString

	// Binding: REPORT_DATA, full width (docs/pitfalls-snp.md B9).
	if len(pol.ReportData) > 0 {
		switch {
		case len(pol.ReportData) > 64:
			violate("report-data", cloudra.ClassBinding, "at most 64 bytes in the policy", strconv.Itoa(len(pol.ReportData)))
		case !bytes.Equal(r.ReportData[:len(pol.ReportData)], pol.ReportData) || !lebytes.IsZero(r.ReportData[len(pol.ReportData):]):
			want := h(pol.ReportData) + strings.Repeat("00", 64-len(pol.ReportData))
			violate("report-data", cloudra.ClassBinding, want, h(r.ReportData[:]))
		default:
			pass("policy.report-data")
		}
	}
	allow := func(rule string, list []cloudra.HexBytes, got []byte) {
		if len(list) == 0 {
			return
		}
		for _, m := range list {
			if bytes.Equal(m, got) {
				pass("policy." + rule)
				return
			}
		}
		violate(rule, cloudra.ClassPolicy, fmt.Sprintf("one of %d allowed values", len(list)), h(got))
	}
	allow("measurements", pol.Measurements, r.Measurement[:])
	allow("id-key-digests", pol.IDKeyDigests, r.IDKeyDigest[:])
	allow("author-key-digests", pol.AuthorKeyDigests, r.AuthorKeyDigest[:])
	exact := func(rule string, want cloudra.HexBytes, got []byte) {
		if len(want) == 0 {
			return
		}
		if !bytes.Equal(want, got) {
			violate(rule, cloudra.ClassPolicy, h(want), h(got))
			return
		}
		pass("policy." + rule)
	}
	exact("host-data", pol.HostData, r.HostData[:])
	exact("family-id", pol.FamilyID, r.FamilyID[:])
	exact("image-id", pol.ImageID, r.ImageID[:])
	if r.GuestSVN < pol.MinGuestSVN {
		violate("min-guest-svn", cloudra.ClassPolicy, "≥ "+strconv.Itoa(int(pol.MinGuestSVN)), strconv.Itoa(int(r.GuestSVN)))
	}

	// VMPL: 0 unless the policy pins another level; values above 3 are
	// host-initiated reports (docs/pitfalls-snp.md B8).
	wantVMPL := uint32(0)
	if pol.VMPL != nil {
		wantVMPL = *pol.VMPL
	}
	if r.VMPL != wantVMPL {
		violate("vmpl", cloudra.ClassPolicy, strconv.Itoa(int(wantVMPL)), strconv.Itoa(int(r.VMPL)))
	} else {
		pass("policy.vmpl")
	}

	// Guest policy bits (docs/pitfalls-snp.md B7).
	bit := func(rule string, set bool, allowed bool) {
		if set && !allowed {
			violate(rule, cloudra.ClassPolicy, "not set", "set")
		}
	}
	bit("allow-debug", r.Policy&PolicyDebug != 0, policy.Or(pol.AllowDebug, false))
	bit("allow-migrate-agent", r.Policy&PolicyMigrateMA != 0, policy.Or(pol.AllowMigrateAgent, false))
	bit("allow-smt", r.Policy&PolicySMT != 0, policy.Or(pol.AllowSMT, true))
	bit("allow-cxl", r.Policy&PolicyCXLAllow != 0, policy.Or(pol.AllowCXL, true))
	need := func(rule string, set, required bool) {
		if required && !set {
			violate(rule, cloudra.ClassPolicy, "set", "not set")
		}
	}
	need("require-single-socket", r.Policy&PolicySingleSocket != 0, pol.RequireSingleSocket)
	need("require-mem-aes-256-xts", r.Policy&PolicyMemAES256XTS != 0, pol.RequireMemAES256XTS)
	need("require-rapl-dis", r.Policy&PolicyRAPLDis != 0, pol.RequireRAPLDis)
	need("require-ciphertext-hiding", r.Policy&PolicyCiphertextHiding != 0, pol.RequireCiphertextHiding)
	need("require-page-swap-disable", r.Policy&PolicyPageSwapDisable != 0, pol.RequirePageSwapDisable)
	if pol.MinGuestABI != "" {
		maj, min, ok := parseMajorMinor(pol.MinGuestABI)
		switch {
		case !ok:
			violate("min-guest-abi", cloudra.ClassPolicy, "major.minor in the policy", pol.MinGuestABI)
		case r.ABIMajor() < maj || r.ABIMajor() == maj && r.ABIMinor() < min:
			violate("min-guest-abi", cloudra.ClassPolicy, "≥ "+pol.MinGuestABI, fmt.Sprintf("%d.%d", r.ABIMajor(), r.ABIMinor()))
		}
	}
	if pol.MinFirmware != "" {
		maj, min, ok := parseMajorMinor(pol.MinFirmware)
		if !ok {
			violate("min-firmware", cloudra.ClassPolicy, "major.minor in the policy", pol.MinFirmware)
		}
		for _, fw := range []struct {
			name     string
			maj, min uint8
		}{{"current", r.CurrentMajor, r.CurrentMinor}, {"committed", r.CommittedMajor, r.CommittedMinor}} {
			if ok && (fw.maj < maj || fw.maj == maj && fw.min < min) {
				violate("min-firmware", cloudra.ClassPolicy, "≥ "+pol.MinFirmware, fmt.Sprintf("%s %d.%d", fw.name, fw.maj, fw.min))
			}
		}
	}
	if pol.MinBuild != 0 && (r.CurrentBuild < pol.MinBuild || r.CommittedBuild < pol.MinBuild) {
		violate("min-build", cloudra.ClassPolicy, "≥ "+strconv.Itoa(int(pol.MinBuild)), fmt.Sprintf("current %d, committed %d", r.CurrentBuild, r.CommittedBuild))
	}

	// TCB consistency and floor, component-wise in the product layout
	// (docs/pitfalls-snp.md B5, B6).
	cur, com, rep := r.CurrentTCB.Parts(product), r.CommittedTCB.Parts(product), r.ReportedTCB.Parts(product)
	if !cur.AtLeast(com) {
		violate("committed-above-current", cloudra.ClassPolicy, "COMMITTED_TCB ≤ CURRENT_TCB", fmt.Sprintf("committed %s, current %s", com, cur))
	}
	// The same holds for the firmware version: SNP_COMMIT commits the running
	// version and the firmware refuses to roll back below it, so a committed
	// version above the current one is never genuine firmware state. Versions
	// compare as (major, minor, build): LIT's real current 1.51.3 over
	// committed 1.49.6 is an ordinary provisional state.
	if fwVersion(r.CommittedMajor, r.CommittedMinor, r.CommittedBuild) > fwVersion(r.CurrentMajor, r.CurrentMinor, r.CurrentBuild) {
		violate("committed-above-current", cloudra.ClassPolicy, "committed firmware version ≤ current",
			fmt.Sprintf("committed %s, current %s", versionString(r.CommittedMajor, r.CommittedMinor, r.CommittedBuild), versionString(r.CurrentMajor, r.CurrentMinor, r.CurrentBuild)))
	}
	if !cur.AtLeast(rep) {
		violate("reported-above-current", cloudra.ClassPolicy, "REPORTED_TCB ≤ CURRENT_TCB", fmt.Sprintf("reported %s, current %s", rep, cur))
	}
	if !policy.Or(pol.AllowProvisional, true) {
		if cur != com || r.CurrentBuild != r.CommittedBuild || r.CurrentMinor != r.CommittedMinor || r.CurrentMajor != r.CommittedMajor {
			violate("allow-provisional", cloudra.ClassPolicy, "CURRENT = COMMITTED (TCB and firmware version)",
				fmt.Sprintf("current %s %s, committed %s %s", cur, versionString(r.CurrentMajor, r.CurrentMinor, r.CurrentBuild), com, versionString(r.CommittedMajor, r.CommittedMinor, r.CommittedBuild)))
		} else {
			pass("policy.allow-provisional")
		}
	}
	if pol.MinTCB != nil {
		floor := TCBParts{Turin: product == Turin, Bootloader: pol.MinTCB.Bootloader, TEE: pol.MinTCB.TEE, SNP: pol.MinTCB.SNP, Microcode: pol.MinTCB.Microcode, FMC: pol.MinTCB.FMC}
		ok := true
		for _, t := range []struct {
			name string
			p    TCBParts
		}{{"reported", rep}, {"committed", com}} {
			if !t.p.AtLeast(floor) {
				ok = false
				violate("min-tcb", cloudra.ClassPolicy, "≥ "+floor.String(), t.name+" "+t.p.String())
			}
		}
		if ok {
			pass("policy.min-tcb")
		}
	}

	switch s := strings.ToLower(pol.Signer); s {
	case "", "any":
	case "vcek", "vlek":
		if (s == "vlek") != vlek {
			violate("signer", cloudra.ClassPolicy, s, strings.ToLower(kindName(vlek)))
		} else {
			pass("policy.signer")
		}
	default:
		violate("signer", cloudra.ClassPolicy, "vcek, vlek or any in the policy", pol.Signer)
	}
	if pol.MinReportVersion != 0 && r.Version < pol.MinReportVersion {
		violate("min-report-version", cloudra.ClassPolicy, "≥ "+strconv.Itoa(int(pol.MinReportVersion)), strconv.Itoa(int(r.Version)))
	}
	for _, name := range pol.RequirePlatformInfo {
		b, known := platformInfoBits[name]
		if !known || r.PlatformInfo&b == 0 {
			violate("require-platform-info", cloudra.ClassPolicy, name+" set", fmt.Sprintf("PLATFORM_INFO %#x", r.PlatformInfo))
		}
	}
	for _, name := range pol.ForbidPlatformInfo {
		b, known := platformInfoBits[name]
		if !known || r.PlatformInfo&b != 0 {
			violate("forbid-platform-info", cloudra.ClassPolicy, name+" clear", fmt.Sprintf("PLATFORM_INFO %#x", r.PlatformInfo))
		}
	}
	if len(res.Violations) == n {
		res.Add("policy", cloudra.OutcomePass, "", "")
	}
}

func orPolicy(c cloudra.Class) cloudra.Class {
	if c == "" {
		return cloudra.ClassPolicy
	}
	return c
}

func parseMajorMinor(s string) (uint8, uint8, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 10, 8)
	y, err2 := strconv.ParseUint(b, 10, 8)
	return uint8(x), uint8(y), err1 == nil && err2 == nil
}

// fwVersion orders a firmware version as major, minor, build.
func fwVersion(major, minor, build uint8) uint32 {
	return uint32(major)<<16 | uint32(minor)<<8 | uint32(build)
}
