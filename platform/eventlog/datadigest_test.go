package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// variableData encodes UEFI_VARIABLE_DATA (PFP §10.4.6).
func variableData(g GUID, name string, data []byte) []byte {
	var b []byte
	b = append(b, g[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(name)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	for _, r := range name {
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return append(b, data...)
}

// setDigest makes e's digest in alg H(data), whatever e.Data holds.
func setDigest(e *Event, alg uint16, data []byte) {
	h, _ := HashFor(alg)
	hh := h.New()
	hh.Write(data)
	for i := range e.Digests {
		if e.Digests[i].Alg == alg {
			e.Digests[i].Value = hh.Sum(nil)
		}
	}
}

func dataDigestProblems(st *State) []string {
	var out []string
	for _, p := range st.Problems {
		if strings.HasPrefix(p, ProblemDataDigest+": ") {
			out = append(out, p)
		}
	}
	return out
}

var allBanks = []uint16{AlgSHA1, AlgSHA256, AlgSHA384, AlgSHA512}

// TestEventDataMustMatchDigestForSecureBootAuthorities: an authority (and
// the Secure Boot variables) is derived only from UEFI_VARIABLE_DATA that
// hashes to every digest of its event (PFP §10.4.6). Forged data, or data
// that only one bank proves, is an eventlog.data-digest problem, never a
// silently shorter authority list.
func TestEventDataMustMatchDigestForSecureBootAuthorities(t *testing.T) {
	owner := mustGUID("77fa9abd-0359-4d32-bd60-28f4e78f784b")
	cert := func(b byte) []byte { return append(append([]byte{}, owner[:]...), bytes.Repeat([]byte{b}, 40)...) }
	build := func() *Log {
		l := newLog(allBanks...)
		l.add(7, EvEFIVariableDriverConfig, variableData(EFIGlobalVariable(), "SecureBoot", []byte{1}))
		l.add(7, EvSeparator, []byte{0, 0, 0, 0})
		l.add(7, EvEFIVariableAuthority, variableData(EFIImageSecurityDB(), "db", cert(0xa1)))
		l.add(7, EvEFIVariableAuthority, variableData(EFIImageSecurityDB(), "db", cert(0xb2)))
		return l
	}
	fp := func(b byte) string { s := sha256.Sum256(cert(b)); return hex.EncodeToString(s[:]) }

	// Honest log, every bank: both authorities, no problem.
	for _, bank := range allBanks {
		st, err := Analyze(build(), bank, allVerified())
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Problems) != 0 || st.SecureBoot == nil || !st.SecureBoot.Enabled ||
			len(st.SecureBoot.Authorities) != 2 || st.SecureBoot.Authorities[0] != fp(0xa1) || st.SecureBoot.Authorities[1] != fp(0xb2) {
			t.Fatalf("%s: honest log: %+v %+v", AlgName(bank), st, st.SecureBoot)
		}
	}

	type forgery struct {
		name string
		edit func(l *Log)
	}
	for _, f := range []forgery{
		// The first authority's data replaced; its digests are of the original.
		{"data-replaced", func(l *Log) { l.Events[2].Data = variableData(EFIImageSecurityDB(), "db", cert(0xee)) }},
		// Replaced and the SHA-256 digest recomputed: SHA-256 proves the
		// new data, the other banks do not.
		{"one-bank-rewritten", func(l *Log) {
			e := &l.Events[2]
			e.Data = variableData(EFIImageSecurityDB(), "db", cert(0xee))
			setDigest(e, AlgSHA256, e.Data)
		}},
		// Every bank but SHA-512 rewritten: SHA-512 alone contradicts.
		{"all-but-sha512", func(l *Log) {
			e := &l.Events[2]
			e.Data = variableData(EFIImageSecurityDB(), "db", cert(0xee))
			for _, a := range []uint16{AlgSHA1, AlgSHA256, AlgSHA384} {
				setDigest(e, a, e.Data)
			}
		}},
		// Proven data that is not UEFI_VARIABLE_DATA.
		{"unparsable", func(l *Log) {
			e := &l.Events[2]
			e.Data = []byte("not a variable")
			for _, a := range allBanks {
				setDigest(e, a, e.Data)
			}
		}},
	} {
		for _, bank := range allBanks {
			l := build()
			f.edit(l)
			st, err := Analyze(l, bank, allVerified())
			if err != nil {
				t.Fatal(err)
			}
			if st.SecureBoot == nil {
				t.Fatalf("%s/%s: no Secure Boot state", f.name, AlgName(bank))
			}
			if a := st.SecureBoot.Authorities; len(a) != 1 || a[0] != fp(0xb2) {
				t.Errorf("%s/%s: authorities %v, want only the genuine second one", f.name, AlgName(bank), a)
			}
			if len(st.Problems) == 0 {
				t.Errorf("%s/%s: the forged authority is not reported", f.name, AlgName(bank))
			}
			if f.name != "unparsable" && len(dataDigestProblems(st)) == 0 {
				t.Errorf("%s/%s: no %s problem: %v", f.name, AlgName(bank), ProblemDataDigest, st.Problems)
			}
		}
	}

	// The Secure Boot variable itself: SHA-256 says SecureBoot=1, the
	// other banks say SecureBoot=0. No state, reported.
	l := build()
	e := &l.Events[0]
	for _, a := range allBanks {
		setDigest(e, a, variableData(EFIGlobalVariable(), "SecureBoot", []byte{0}))
	}
	setDigest(e, AlgSHA256, e.Data)
	st, _ := Analyze(l, AlgSHA256, allVerified())
	if st.SecureBoot != nil && st.SecureBoot.Enabled {
		t.Errorf("Secure Boot enabled from a variable only SHA-256 proves: %+v", st.SecureBoot)
	}
	if len(dataDigestProblems(st)) == 0 {
		t.Errorf("mixed-bank SecureBoot variable not reported: %v", st.Problems)
	}
}

// TestEventDataMustMatchDigestForShimAuthorityQuirk: the real shim
// authority events whose data is one byte longer than what was hashed
// (cos-85: events 24 and 42) are noted, not listed, and not problems; the
// same events with a changed byte are data-digest problems.
func TestEventDataMustMatchDigestForShimAuthorityQuirk(t *testing.T) {
	raw := vectortest.Read(t, gceLogs+"/cos-85-amd-sev.bin")
	l, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Analyze(l, AlgSHA256, allVerified())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 0 || st.SecureBoot == nil || len(st.SecureBoot.Authorities) != 1 {
		t.Fatalf("genuine log: problems %v, state %+v", st.Problems, st.SecureBoot)
	}
	if !containsStr(st.Notes, "EV_EFI_VARIABLE_AUTHORITY event 24: malformed by shim") ||
		!containsStr(st.Notes, "EV_EFI_VARIABLE_AUTHORITY event 42: malformed by shim") {
		t.Errorf("quirk not noted: %v", st.Notes)
	}
	for i := range l.Events {
		if l.Events[i].Seq == 24 {
			l.Events[i].Data = append([]byte{}, l.Events[i].Data...)
			l.Events[i].Data[40] ^= 1
		}
	}
	st, _ = Analyze(l, AlgSHA256, allVerified())
	if p := dataDigestProblems(st); len(p) != 1 || !strings.Contains(p[0], "event 24") {
		t.Errorf("altered quirk event: problems %v", st.Problems)
	}
	if len(st.SecureBoot.Authorities) != 1 {
		t.Errorf("authorities %v", st.SecureBoot.Authorities)
	}
}

// TestEventDataMustMatchDigestForKernelCmdline: GRUB measures the command
// line without its "kernel_cmdline: " prefix (the event data has it), and
// systemd-stub measures the UTF-16LE command line into PCR12; the command
// line is taken only from text every digest of its event proves.
func TestEventDataMustMatchDigestForKernelCmdline(t *testing.T) {
	// Real GRUB log (ubuntu-2404-amd-sevsnp): the claim, then forgeries.
	raw := vectortest.Read(t, gceLogs+"/ubuntu-2404-amd-sevsnp.bin")
	genuine, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Analyze(genuine, AlgSHA256, allVerified())
	want := st.KernelCmdline
	if !strings.HasPrefix(want, "/vmlinuz-6.8.0-1010-gcp ") || len(st.Problems) != 0 {
		t.Fatalf("genuine: cmdline %q, problems %v", want, st.Problems)
	}
	idx := -1
	for i, e := range genuine.Events {
		if e.Index == 8 && e.Type == EvIPL && bytes.HasPrefix(e.Data, []byte("kernel_cmdline: ")) {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatal("no kernel_cmdline event")
	}
	evil := []byte("kernel_cmdline: /vmlinuz-6.8.0-1010-gcp root=/dev/sda1 init=/bin/sh\x00")
	for _, tc := range []struct {
		name    string
		rewrite []uint16 // banks whose digest is recomputed over the forged text
	}{
		{"data-only", nil},
		{"sha1-rewritten", []uint16{AlgSHA1}},
		{"sha256-rewritten", []uint16{AlgSHA256}},
		{"all-but-sha384", []uint16{AlgSHA1, AlgSHA256}},
	} {
		for _, bank := range []uint16{AlgSHA1, AlgSHA256, AlgSHA384} {
			l, _ := Parse(raw)
			e := &l.Events[idx]
			e.Data = evil
			for _, a := range tc.rewrite {
				setDigest(e, a, bytes.TrimSuffix(evil[len("kernel_cmdline: "):], []byte{0}))
			}
			st, _ := Analyze(l, bank, allVerified())
			if st.KernelCmdline == string(bytes.TrimSuffix(evil[len("kernel_cmdline: "):], []byte{0})) {
				t.Errorf("%s/%s: forged command line claimed", tc.name, AlgName(bank))
			}
			if p := dataDigestProblems(st); len(p) == 0 {
				t.Errorf("%s/%s: forged command line not reported: %v", tc.name, AlgName(bank), st.Problems)
			}
		}
	}

	// systemd-stub, PCR12, UTF-16LE with its NUL.
	cmd := "console=ttyS0 root=/dev/vda2"
	u16 := func(s string) []byte {
		var b []byte
		for _, c := range utf16.Encode([]rune(s + "\x00")) {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		return b
	}
	l := newLog(AlgSHA256, AlgSHA384)
	l.add(12, EvIPL, u16(cmd))
	st, _ = Analyze(l, AlgSHA256, allVerified())
	if st.KernelCmdline != cmd || len(st.Problems) != 0 {
		t.Fatalf("systemd-stub: %q %v", st.KernelCmdline, st.Problems)
	}
	// Only SHA-256 proves the forged line; SHA-384 has the original.
	l.Events[0].Data = u16("console=ttyS0 root=/dev/vda2 init=/bin/sh")
	setDigest(&l.Events[0], AlgSHA256, l.Events[0].Data)
	for _, bank := range []uint16{AlgSHA256, AlgSHA384} {
		st, _ = Analyze(l, bank, allVerified())
		if st.KernelCmdline != "" || len(dataDigestProblems(st)) != 1 {
			t.Errorf("systemd-stub mixed banks (%s): %q %v", AlgName(bank), st.KernelCmdline, st.Problems)
		}
	}
	// A PCR12 event whose data proves nothing (a credential's description)
	// is not a command line and not a problem.
	l = newLog(AlgSHA256, AlgSHA384)
	l.add(12, EvIPL, u16("Credentials"))
	setDigest(&l.Events[0], AlgSHA256, []byte("file contents"))
	setDigest(&l.Events[0], AlgSHA384, []byte("file contents"))
	st, _ = Analyze(l, AlgSHA256, allVerified())
	if st.KernelCmdline != "" || len(st.Problems) != 0 {
		t.Errorf("file measurement: %q %v", st.KernelCmdline, st.Problems)
	}
}

// TestEventDataProvenEveryBank: DataProven compares every computable bank
// and ignores algorithms it cannot compute.
func TestEventDataProvenEveryBank(t *testing.T) {
	l := newLog(AlgSHA1, AlgSHA256)
	l.add(7, EvEFIAction, []byte("x"))
	e := &l.Events[0]
	if all, some := e.DataProven(e.Data); !all || !some {
		t.Errorf("honest: %v %v", all, some)
	}
	setDigest(e, AlgSHA1, []byte("y"))
	if all, some := e.DataProven(e.Data); all || !some {
		t.Errorf("one bank off: %v %v", all, some)
	}
	e.Digests = append(e.Digests[1:], Digest{Alg: AlgSM3, Value: make([]byte, 32)})
	if all, _ := e.DataProven(e.Data); !all {
		t.Error("an SM3 digest (not computable) counted against the data")
	}
	e.Digests = e.Digests[1:]
	if all, some := e.DataProven(e.Data); all || some {
		t.Error("no computable digest proved the data")
	}
}

// TestEventDataDigestVectorsUnchanged: every real log's events satisfy the
// data-digest rule in every bank (no problem), and the authorities derived
// from them are those derived before the rule (the shim-quirk events of
// cos-85, cos-93, debian-10 and sb_cert were never listed).
func TestEventDataDigestVectorsUnchanged(t *testing.T) {
	want := map[string]int{
		gceLogs + "/arch-linux-workstation.bin": 0, gceLogs + "/confidential-gke-debug-251000_eventlog.bin": 4,
		gceLogs + "/cos-101-amd-sev.bin": 3, gceLogs + "/cos-85-amd-sev.bin": 1, gceLogs + "/cos-93-amd-sev.bin": 1,
		gceLogs + "/debian-10.bin": 1, gceLogs + "/eventlogwithsp800155.bin": 4, gceLogs + "/gdc-host.bin": 1,
		gceLogs + "/glinux-alex.bin": 0, gceLogs + "/rhel8-uefi.bin": 2, gceLogs + "/ubuntu-1804-amd-sev.bin": 0,
		gceLogs + "/ubuntu-2104-no-dbx.bin": 1, gceLogs + "/ubuntu-2104-no-secure-boot.bin": 1,
		gceLogs + "/ubuntu-2404-amd-sevsnp.bin":                       1,
		legacyLogs + "/coreos_36_shielded_vm_no_secure_boot_eventlog": 2, legacyLogs + "/crypto_agile_eventlog": 0,
		legacyLogs + "/ebs_event_missing_eventlog": 0, legacyLogs + "/option_rom_eventlog": 2,
		legacyLogs + "/sb_cert_eventlog": 1, legacyLogs + "/ubuntu_2104_shielded_vm_no_secure_boot_eventlog": 1,
	}
	for name, n := range want {
		l, err := Parse(vectortest.Read(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range l.Algs {
			st, err := Analyze(l, a.Alg, allVerified())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Problems) != 0 {
				t.Errorf("%s/%s: problems %v", name, AlgName(a.Alg), st.Problems)
			}
			if st.SecureBoot == nil || len(st.SecureBoot.Authorities) != n {
				t.Errorf("%s/%s: Secure Boot %+v, want %d authorities", name, AlgName(a.Alg), st.SecureBoot, n)
			}
		}
	}
}
