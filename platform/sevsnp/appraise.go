package sevsnp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/reportdata"
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
	a := appraisal{res: res, r: r, pol: pol}
	a.reportData()
	a.identity()
	a.vmpl()
	a.guestPolicy()
	a.firmware()
	a.tcb(product)
	a.signer(vlek)
	a.platformInfo()
	if len(res.Violations) == n {
		res.Add("policy", cloudra.OutcomePass, "", "")
	}
}

// appraisal is the state of one appraise call.
type appraisal struct {
	res *cloudra.Result
	r   *Report
	pol *Policy
}

// violate records a violated rule and its failed "policy.<rule>" check.
func (a *appraisal) violate(rule string, class cloudra.Class, want, got string) {
	a.res.Violate(rule, class, want, got)
	a.res.Add("policy."+rule, cloudra.OutcomeFail, orPolicy(class), "want "+want+", got "+got)
}

func (a *appraisal) pass(check string) { a.res.Add(check, cloudra.OutcomePass, "", "") }

// reportData binds REPORT_DATA, full width (docs/pitfalls-snp.md B9).
func (a *appraisal) reportData() {
	want := a.pol.ReportData
	if len(want) == 0 {
		return
	}
	switch o, full := reportdata.Compare(want, a.r.ReportData[:]); o {
	case reportdata.TooLong:
		a.violate("report-data", cloudra.ClassBinding, "at most 64 bytes in the policy", strconv.Itoa(len(want)))
	case reportdata.Differs:
		a.violate("report-data", cloudra.ClassBinding, full, hex.EncodeToString(a.r.ReportData[:]))
	default:
		a.pass("policy.report-data")
	}
}

// identity applies the allow-lists and exact values of the launch identity
// (measurement, ID and author keys, host data, family and image IDs) and the
// guest SVN floor.
func (a *appraisal) identity() {
	r, pol := a.r, a.pol
	a.allow("measurements", pol.Measurements, r.Measurement[:])
	a.allow("id-key-digests", pol.IDKeyDigests, r.IDKeyDigest[:])
	a.allow("author-key-digests", pol.AuthorKeyDigests, r.AuthorKeyDigest[:])
	a.exact("host-data", pol.HostData, r.HostData[:])
	a.exact("family-id", pol.FamilyID, r.FamilyID[:])
	a.exact("image-id", pol.ImageID, r.ImageID[:])
	if r.GuestSVN < pol.MinGuestSVN {
		a.violate("min-guest-svn", cloudra.ClassPolicy, "≥ "+strconv.Itoa(int(pol.MinGuestSVN)), strconv.Itoa(int(r.GuestSVN)))
	}
}

// allow checks got against a non-empty allow-list.
func (a *appraisal) allow(rule string, list []cloudra.HexBytes, got []byte) {
	if len(list) == 0 {
		return
	}
	for _, m := range list {
		if bytes.Equal(m, got) {
			a.pass("policy." + rule)
			return
		}
	}
	a.violate(rule, cloudra.ClassPolicy, fmt.Sprintf("one of %d allowed values", len(list)), hex.EncodeToString(got))
}

// exact checks got against a non-empty expected value.
func (a *appraisal) exact(rule string, want cloudra.HexBytes, got []byte) {
	if len(want) == 0 {
		return
	}
	if !bytes.Equal(want, got) {
		a.violate(rule, cloudra.ClassPolicy, hex.EncodeToString(want), hex.EncodeToString(got))
		return
	}
	a.pass("policy." + rule)
}

// vmpl: 0 unless the policy pins another level; values above 3 are
// host-initiated reports (docs/pitfalls-snp.md B8).
func (a *appraisal) vmpl() {
	want := uint32(0)
	if a.pol.VMPL != nil {
		want = *a.pol.VMPL
	}
	if a.r.VMPL != want {
		a.violate("vmpl", cloudra.ClassPolicy, strconv.Itoa(int(want)), strconv.Itoa(int(a.r.VMPL)))
	} else {
		a.pass("policy.vmpl")
	}
}

// guestPolicy applies the rules on the guest policy bits (docs/pitfalls-snp.md B7) and
// the minimum guest ABI.
func (a *appraisal) guestPolicy() {
	r, pol := a.r, a.pol
	bit := func(rule string, set bool, allowed bool) {
		if set && !allowed {
			a.violate(rule, cloudra.ClassPolicy, "not set", "set")
		}
	}
	bit("allow-debug", r.Policy&PolicyDebug != 0, policy.Or(pol.AllowDebug, false))
	bit("allow-migrate-agent", r.Policy&PolicyMigrateMA != 0, policy.Or(pol.AllowMigrateAgent, false))
	bit("allow-smt", r.Policy&PolicySMT != 0, policy.Or(pol.AllowSMT, true))
	bit("allow-cxl", r.Policy&PolicyCXLAllow != 0, policy.Or(pol.AllowCXL, true))
	need := func(rule string, set, required bool) {
		if required && !set {
			a.violate(rule, cloudra.ClassPolicy, "set", "not set")
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
			a.violate("min-guest-abi", cloudra.ClassPolicy, "major.minor in the policy", pol.MinGuestABI)
		case r.ABIMajor() < maj || r.ABIMajor() == maj && r.ABIMinor() < min:
			a.violate("min-guest-abi", cloudra.ClassPolicy, "≥ "+pol.MinGuestABI, fmt.Sprintf("%d.%d", r.ABIMajor(), r.ABIMinor()))
		}
	}
}

// firmware applies the floors on the current and committed firmware
// version and build.
func (a *appraisal) firmware() {
	r, pol := a.r, a.pol
	if pol.MinFirmware != "" {
		maj, min, ok := parseMajorMinor(pol.MinFirmware)
		if !ok {
			a.violate("min-firmware", cloudra.ClassPolicy, "major.minor in the policy", pol.MinFirmware)
		}
		for _, fw := range []struct {
			name     string
			maj, min uint8
		}{{"current", r.CurrentMajor, r.CurrentMinor}, {"committed", r.CommittedMajor, r.CommittedMinor}} {
			if ok && (fw.maj < maj || fw.maj == maj && fw.min < min) {
				a.violate("min-firmware", cloudra.ClassPolicy, "≥ "+pol.MinFirmware, fmt.Sprintf("%s %d.%d", fw.name, fw.maj, fw.min))
			}
		}
	}
	if pol.MinBuild != 0 && (r.CurrentBuild < pol.MinBuild || r.CommittedBuild < pol.MinBuild) {
		a.violate("min-build", cloudra.ClassPolicy, "≥ "+strconv.Itoa(int(pol.MinBuild)), fmt.Sprintf("current %d, committed %d", r.CurrentBuild, r.CommittedBuild))
	}
}

// tcb checks TCB consistency and the floor, component-wise in the product
// layout (docs/pitfalls-snp.md B5, B6).
func (a *appraisal) tcb(product string) {
	r := a.r
	cur, com, rep := r.CurrentTCB.Parts(product), r.CommittedTCB.Parts(product), r.ReportedTCB.Parts(product)
	curV := func() string { return versionString(r.CurrentMajor, r.CurrentMinor, r.CurrentBuild) }
	comV := func() string { return versionString(r.CommittedMajor, r.CommittedMinor, r.CommittedBuild) }
	if !cur.AtLeast(com) {
		a.violate("committed-above-current", cloudra.ClassPolicy, "COMMITTED_TCB ≤ CURRENT_TCB", fmt.Sprintf("committed %s, current %s", com, cur))
	}
	// The same holds for the firmware version: SNP_COMMIT commits the running
	// version and the firmware refuses to roll back below it, so a committed
	// version above the current one is never genuine firmware state. Versions
	// compare as (major, minor, build): LIT's real current 1.51.3 over
	// committed 1.49.6 is an ordinary provisional state.
	if fwVersion(r.CommittedMajor, r.CommittedMinor, r.CommittedBuild) > fwVersion(r.CurrentMajor, r.CurrentMinor, r.CurrentBuild) {
		a.violate("committed-above-current", cloudra.ClassPolicy, "committed firmware version ≤ current",
			fmt.Sprintf("committed %s, current %s", comV(), curV()))
	}
	if !cur.AtLeast(rep) {
		a.violate("reported-above-current", cloudra.ClassPolicy, "REPORTED_TCB ≤ CURRENT_TCB", fmt.Sprintf("reported %s, current %s", rep, cur))
	}
	if !policy.Or(a.pol.AllowProvisional, true) {
		if cur != com || r.CurrentBuild != r.CommittedBuild || r.CurrentMinor != r.CommittedMinor || r.CurrentMajor != r.CommittedMajor {
			a.violate("allow-provisional", cloudra.ClassPolicy, "CURRENT = COMMITTED (TCB and firmware version)",
				fmt.Sprintf("current %s %s, committed %s %s", cur, curV(), com, comV()))
		} else {
			a.pass("policy.allow-provisional")
		}
	}
	a.minTCB(product, rep, com)
}

// minTCB applies the TCB floor to the reported and the committed TCB.
func (a *appraisal) minTCB(product string, rep, com TCBParts) {
	m := a.pol.MinTCB
	if m == nil {
		return
	}
	floor := TCBParts{Turin: product == Turin, Bootloader: m.Bootloader, TEE: m.TEE, SNP: m.SNP, Microcode: m.Microcode, FMC: m.FMC}
	ok := true
	for _, t := range []struct {
		name string
		p    TCBParts
	}{{"reported", rep}, {"committed", com}} {
		if !t.p.AtLeast(floor) {
			ok = false
			a.violate("min-tcb", cloudra.ClassPolicy, "≥ "+floor.String(), t.name+" "+t.p.String())
		}
	}
	if ok {
		a.pass("policy.min-tcb")
	}
}

// signer applies the signer kind and the minimum report version.
func (a *appraisal) signer(vlek bool) {
	switch s := strings.ToLower(a.pol.Signer); s {
	case "", "any":
	case "vcek", "vlek":
		if (s == "vlek") != vlek {
			a.violate("signer", cloudra.ClassPolicy, s, strings.ToLower(kindName(vlek)))
		} else {
			a.pass("policy.signer")
		}
	default:
		a.violate("signer", cloudra.ClassPolicy, "vcek, vlek or any in the policy", a.pol.Signer)
	}
	if min := a.pol.MinReportVersion; min != 0 && a.r.Version < min {
		a.violate("min-report-version", cloudra.ClassPolicy, "≥ "+strconv.Itoa(int(min)), strconv.Itoa(int(a.r.Version)))
	}
}

// platformInfo applies the required and forbidden PLATFORM_INFO bits.
func (a *appraisal) platformInfo() {
	info := a.r.PlatformInfo
	for _, name := range a.pol.RequirePlatformInfo {
		b, known := platformInfoBits[name]
		if !known || info&b == 0 {
			a.violate("require-platform-info", cloudra.ClassPolicy, name+" set", fmt.Sprintf("PLATFORM_INFO %#x", info))
		}
	}
	for _, name := range a.pol.ForbidPlatformInfo {
		b, known := platformInfoBits[name]
		if !known || info&b != 0 {
			a.violate("forbid-platform-info", cloudra.ClassPolicy, name+" clear", fmt.Sprintf("PLATFORM_INFO %#x", info))
		}
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
