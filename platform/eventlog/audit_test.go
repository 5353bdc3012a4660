package eventlog

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// The tests in this file close the gaps found when every event-log entry
// of the pitfall catalogue (D5, D6, A5) and every eventlog/ vector expectation was
// mapped to a test that asserts it (docs/pitfalls-tpm.md).

const legacyLogs = "eventlog/go-eventlog-legacydata"

// TestAuditExpectedPCRsNotVacuous: TestReplayVectors compares only the PCRs
// expected_pcrs.json lists; this checks that every log has the banks and
// PCR counts PROVENANCE.md lists, and that the comparison catches one
// changed value in each bank (the negative twin of every replay).
func TestAuditExpectedPCRsNotVacuous(t *testing.T) {
	ex := loadExpected(t)
	minPCRs := map[string]int{"glinux-alex.bin": 8, "debian-10.bin": 8, "arch-linux-workstation.bin": 9}
	for name, want := range ex.Logs {
		l, err := Parse(vectortest.Read(t, gceLogs+"/"+name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(want.ExpectedPCRs) == 0 {
			t.Errorf("%s: no expected banks", name)
		}
		for bank, pcrs := range want.ExpectedPCRs {
			n := 10
			if m, ok := minPCRs[name]; ok {
				n = m
			}
			if len(pcrs) < n {
				t.Errorf("%s %s: %d expected PCRs, want ≥ %d", name, bank, len(pcrs), n)
			}
			got, err := Replay(l, bankIDs[bank])
			if err != nil {
				t.Fatal(err)
			}
			quoted := map[int][]byte{}
			for k, v := range pcrs {
				i, _ := strconv.Atoi(k)
				quoted[i] = hexDecode(t, v)
			}
			if m := Compare(got, quoted); len(m) != 0 {
				t.Errorf("%s %s: %d mismatches", name, bank, len(m))
			}
			// PCR 0 is in every expectation; one bit changed is reported.
			quoted[0] = append([]byte(nil), quoted[0]...)
			quoted[0][0] ^= 1
			if m := Compare(got, quoted); len(m) != 1 || m[0].PCR != 0 {
				t.Errorf("%s %s: changed PCR 0 not reported: %+v", name, bank, m)
			}
		}
	}
}

func hexDecode(t *testing.T, s string) []byte {
	t.Helper()
	b := make([]byte, len(s)/2)
	for i := range b {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		b[i] = byte(v)
	}
	return b
}

// TestAuditKnownOddLogs: the two logs go-tpm-tools rejects by default.
// Arch (needs AllowEFIAppBeforeCallingEvent; "SecureBoot data len is 0"):
// cloudra has no calling-event ordering rule, and reads the empty
// SecureBoot variable as Secure Boot off, noted. GDC host ("invalid SCRTM
// version event"): the S-CRTM version is not claimed, and the mismatch is
// noted.
func TestAuditKnownOddLogs(t *testing.T) {
	arch, err := Parse(vectortest.Read(t, gceLogs+"/arch-linux-workstation.bin"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Analyze(arch, AlgSHA256, allVerified())
	if err != nil {
		t.Fatal(err)
	}
	if st.SecureBoot == nil || st.SecureBoot.Enabled || !containsStr(st.Notes, "SecureBoot variable is empty") || len(st.Problems) != 0 {
		t.Errorf("arch: sb %+v notes %v problems %v", st.SecureBoot, st.Notes, st.Problems)
	}
	gdc, err := Parse(vectortest.Read(t, gceLogs+"/gdc-host.bin"))
	if err != nil {
		t.Fatal(err)
	}
	st, err = Analyze(gdc, AlgSHA256, allVerified())
	if err != nil {
		t.Fatal(err)
	}
	if st.SCRTMVersion != "" || !containsStr(st.Notes, "EV_S_CRTM_VERSION digest does not match its data") {
		t.Errorf("gdc: scrtm %q notes %v", st.SCRTMVersion, st.Notes)
	}
	// Without PCR0 verified nothing about it is even looked at.
	st, _ = Analyze(gdc, AlgSHA256, map[int]bool{})
	if st.SCRTMVersion != "" || containsStr(st.Notes, "EV_S_CRTM_VERSION") {
		t.Errorf("gdc, PCR0 unverified: scrtm %q notes %v", st.SCRTMVersion, st.Notes)
	}
}

func containsStr(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestAuditLegacyExpectations: go-eventlog's expectations for its legacy
// logs, asserted rather than logged: the four Secure Boot logs yield a
// Secure Boot state (enabled only where it was); the EBS-missing log is
// analysed without the ExitBootServices event (the workaround: boot
// applications are collected to the end of the log); the one-event log
// with a short EV_NO_ACTION parses and extends nothing.
func TestAuditLegacyExpectations(t *testing.T) {
	for name, enabled := range map[string]bool{
		"sb_cert_eventlog":    true,
		"option_rom_eventlog": true,
		"ubuntu_2104_shielded_vm_no_secure_boot_eventlog": false,
		"coreos_36_shielded_vm_no_secure_boot_eventlog":   false,
	} {
		st := analyzeLegacy(t, name)
		if st.SecureBoot == nil || st.SecureBoot.Enabled != enabled || len(st.Problems) != 0 {
			t.Errorf("%s: sb %+v problems %v", name, st.SecureBoot, st.Problems)
		}
	}

	ebs, err := Parse(vectortest.Read(t, legacyLogs+"/ebs_event_missing_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Analyze(ebs, AlgSHA1, allVerified())
	if err != nil {
		t.Fatal(err)
	}
	if containsStr(st.EFIActions, exitBootServices) || len(st.EFIApps) == 0 || len(st.Problems) != 0 {
		t.Errorf("ebs missing: actions %v apps %d problems %v", st.EFIActions, len(st.EFIApps), st.Problems)
	}

	short, err := Parse(vectortest.Read(t, legacyLogs+"/short_no_action_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	if len(short.Events) != 1 || short.Events[0].Type != EvNoAction {
		t.Fatalf("short no-action: %+v", short.Events)
	}
	rep, err := Replay(short, AlgSHA1)
	if err != nil || len(rep) != 0 {
		t.Errorf("short no-action extended %v (%v)", rep, err)
	}
}

// A5/D6: every prefix of real logs is either a valid log ending on an
// event boundary or a *ParseError — never a panic, never a partial log.
func TestAuditTruncateEveryOffset(t *testing.T) {
	for _, rel := range []string{legacyLogs + "/sb_cert_eventlog", legacyLogs + "/short_no_action_eventlog", gceLogs + "/debian-10.bin"} {
		b := vectortest.Read(t, rel)
		full, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		// Every offset of the header and first events, then every 7th
		// (the race detector makes a full sweep of 40 KB take seconds).
		for cut := 0; cut < len(b); cut = nextCut(cut) {
			l, err := Parse(b[:cut])
			if err == nil {
				// A valid prefix: exactly its events, re-marshalled.
				if !bytes.Equal(l.Marshal(), b[:cut]) || len(l.Events) > len(full.Events) {
					t.Fatalf("%s cut %d: accepted a prefix that is not whole events", rel, cut)
				}
				continue
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%s cut %d: %v is not a ParseError", rel, cut, err)
			}
		}
	}
}

func nextCut(cut int) int {
	if cut < 2048 {
		return cut + 1
	}
	return cut + 7
}

// D6: a quoted DRTM PCR (17–22) the log never extends matches only the
// all-0xFF reset value, in SHA-1 and SHA-384 sizes too; a static PCR only
// zero.
func TestAuditResetValuesAllBanks(t *testing.T) {
	for _, size := range []int{20, 32, 48} {
		ff := bytes.Repeat([]byte{0xff}, size)
		zero := make([]byte, size)
		for pcr := 0; pcr < 24; pcr++ {
			drtm := pcr >= 17 && pcr <= 22
			good, bad := zero, ff
			if drtm {
				good, bad = ff, zero
			}
			if m := Compare(map[int][]byte{}, map[int][]byte{pcr: good}); len(m) != 0 {
				t.Errorf("size %d PCR %d: reset value rejected", size, pcr)
			}
			if m := Compare(map[int][]byte{}, map[int][]byte{pcr: bad}); len(m) != 1 || m[0].Replayed != nil {
				t.Errorf("size %d PCR %d: wrong reset value accepted", size, pcr)
			}
		}
	}
}

// V11 (display is not evidence): the S-CRTM version is a UCS-2 string or
// a GUID (PFP §10.4.1, EV_S_CRTM_VERSION); the Arch workstation's is a
// GUID and two legacy laptop logs carry binary data. The claim renders
// them as such, never as UTF-16 decoded from arbitrary bytes.
func TestAuditSCRTMVersionRendering(t *testing.T) {
	for rel, want := range map[string]string{
		gceLogs + "/arch-linux-workstation.bin":                         "546bfb1e-1d0c-4055-a4ad-4ef4bf17b83a",
		gceLogs + "/cos-85-amd-sev.bin":                                 "GCE Virtual Firmware v1",
		legacyLogs + "/ubuntu_2104_shielded_vm_no_secure_boot_eventlog": "GCE Virtual Firmware v1",
		legacyLogs + "/sb_cert_eventlog":                                "",
		legacyLogs + "/option_rom_eventlog":                             "hex:4d3630",
		legacyLogs + "/ebs_event_missing_eventlog":                      "hex:4d3630",
	} {
		st := analyzeVector(t, rel)
		if strings.HasPrefix(want, "hex:") {
			if !strings.HasPrefix(st.SCRTMVersion, strings.TrimPrefix(want, "hex:")) || strings.ContainsFunc(st.SCRTMVersion, func(r rune) bool { return !strings.ContainsRune("0123456789abcdef", r) }) {
				t.Errorf("%s: S-CRTM version %.60q, want hex", rel, st.SCRTMVersion)
			}
			continue
		}
		if st.SCRTMVersion != want {
			t.Errorf("%s: S-CRTM version %q, want %q", rel, st.SCRTMVersion, want)
		}
	}
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("v\x001\x00\x00\x00"), "v1"},
		{[]byte("v\x001\x00"), "v1"}, // not NUL-terminated, printable ASCII
		{[]byte{0, 0}, ""},
		{[]byte{0xff}, "ff"},
		{[]byte{0x3d, 0xd8, 0, 0}, "3dd80000"}, // lone surrogate
	} {
		if got := scrtmVersion(tc.data); got != tc.want {
			t.Errorf("scrtmVersion(%x) = %q, want %q", tc.data, got, tc.want)
		}
	}
}

// D5: the last PCR4 application retyped to any other type PCR4 may carry
// is either a problem or still listed among EFIApps — never hidden; an
// unverifiable EV_EFI_ACTION in PCR7 is a problem.
func TestAuditRetypedApplicationNotHidden(t *testing.T) {
	b := vectortest.Read(t, gceLogs+"/cos-85-amd-sev.bin")
	l, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	genuine, _ := Analyze(l, AlgSHA256, allVerified())
	if len(genuine.EFIApps) == 0 || len(genuine.Problems) != 0 {
		t.Fatalf("genuine: %+v", genuine)
	}
	kernel := genuine.EFIApps[len(genuine.EFIApps)-1]
	last := -1
	for i, e := range l.Events {
		if e.Index == 4 && e.Type == EvEFIBootServicesApp {
			last = i
		}
	}
	for typ := range pcr4Types {
		if typ == EvEFIBootServicesApp {
			continue
		}
		m, _ := Parse(b)
		m.Events[last].Type = typ
		st, _ := Analyze(m, AlgSHA256, allVerified())
		if len(st.Problems) == 0 && !containsStr(st.EFIApps, kernel) {
			t.Errorf("kernel retyped to %v: hidden (apps %v)", typ, st.EFIApps)
		}
	}
	// PCR7: an EV_EFI_ACTION whose digest is not of its text.
	s := newLog(AlgSHA256)
	s.add(7, EvEFIAction, []byte("some action"))
	s.Events[0].Digests[0].Value = sha256Sum([]byte("an image"))
	if st, _ := Analyze(s, AlgSHA256, allVerified()); !containsStr(st.Problems, "EV_EFI_ACTION event 1 in PCR7") {
		t.Errorf("unverifiable PCR7 EV_EFI_ACTION: problems %v", st.Problems)
	}
	s.Events[0].Digests[0].Value = sha256Sum([]byte("some action"))
	if st, _ := Analyze(s, AlgSHA256, allVerified()); len(st.Problems) != 0 {
		t.Errorf("genuine PCR7 EV_EFI_ACTION: problems %v", st.Problems)
	}
}
