package eventlog

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

func allVerified() map[int]bool {
	m := map[int]bool{}
	for i := 0; i < 24; i++ {
		m[i] = true
	}
	return m
}

var bankIDs384 = map[string]uint16{"SHA1": AlgSHA1, "SHA256": AlgSHA256, "SHA384": AlgSHA384}

func TestAnalyzeVectors(t *testing.T) {
	ex := loadExpected(t)
	cmdlines := map[string]string{
		"ubuntu-2404-amd-sevsnp.bin": "Ubuntu2404AmdSevSnpCmdline",
		"cos-85-amd-sev.bin":         "Cos85AmdSevCmdline",
		"cos-93-amd-sev.bin":         "Cos93AmdSevCmdline",
		"cos-101-amd-sev.bin":        "Cos101AmdSevCmdline",
	}
	secureBoot := map[string]bool{
		"rhel8-uefi.bin": true, "cos-85-amd-sev.bin": true, "ubuntu-1804-amd-sev.bin": false,
		"ubuntu-2104-no-dbx.bin": false, "ubuntu-2104-no-secure-boot.bin": false, "glinux-alex.bin": false,
	}
	for name, want := range ex.Logs {
		t.Run(name, func(t *testing.T) {
			l, err := Parse(vectortest.Read(t, gceLogs+"/"+name))
			if err != nil {
				t.Fatal(err)
			}
			for bank, apps := range want.EFIApps {
				if name == "gdc-host.bin" {
					// go-tpm-tools expects this log to fail ("invalid SCRTM
					// version event"); its app digests are not in the log.
					break
				}
				alg := bankIDs384[bank]
				st, err := Analyze(l, alg, allVerified())
				if err != nil {
					t.Fatal(err)
				}
				// Expected apps are those go-tpm-tools reports up to
				// ExitBootServices; a log may measure more after it.
				if len(st.EFIApps) < len(apps) {
					t.Fatalf("%s: %d EFI apps, want %d", bank, len(st.EFIApps), len(apps))
				}
				for i, a := range apps {
					if st.EFIApps[i] != a {
						t.Errorf("%s app %d: %s, want %s", bank, i, st.EFIApps[i], a)
					}
				}
			}
			st := analyzeBest(t, l)
			if len(st.Problems) > 0 {
				t.Errorf("problems: %v", st.Problems)
			}
			if c, ok := cmdlines[name]; ok {
				w := strings.TrimSuffix(strings.ReplaceAll(strings.ReplaceAll(ex.Cmdlines[c], `\x00`, "\x00"), `\"`, `"`), "\x00")
				if st.KernelCmdline != w {
					t.Errorf("cmdline %q\nwant    %q", st.KernelCmdline, w)
				}
			}
			if sb, ok := secureBoot[name]; ok {
				got := st.SecureBoot != nil && st.SecureBoot.Enabled
				if got != sb {
					t.Errorf("secure boot %v, want %v (notes %v)", got, sb, st.Notes)
				}
			}
			t.Logf("apps=%d cmdline=%.40q sb=%v notes=%v", len(st.EFIApps), st.KernelCmdline, st.SecureBoot != nil && st.SecureBoot.Enabled, st.Notes)
		})
	}
}

// TestAnalyzeLegacy: the go-eventlog edge-case logs yield a Secure Boot
// state (go-eventlog secureboot_test.go) without rule violations.
func TestAnalyzeLegacy(t *testing.T) {
	for _, name := range []string{"sb_cert_eventlog", "option_rom_eventlog", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog",
		"coreos_36_shielded_vm_no_secure_boot_eventlog", "crypto_agile_eventlog", "ebs_event_missing_eventlog", "short_no_action_eventlog"} {
		t.Run(name, func(t *testing.T) {
			st := analyzeLegacy(t, name)
			if len(st.Problems) > 0 {
				t.Errorf("problems %v", st.Problems)
			}
			t.Logf("sb=%v apps=%d notes=%v", st.SecureBoot != nil && st.SecureBoot.Enabled, len(st.EFIApps), st.Notes)
		})
	}
}

// TestResetValues: unextended PCRs match only their reset value; DRTM PCRs
// 17–22 reset to all 0xFF (D6).
func TestResetValues(t *testing.T) {
	ff := bytes.Repeat([]byte{0xff}, 32)
	quoted := map[int][]byte{10: make([]byte, 32), 17: ff, 18: make([]byte, 32)}
	m := Compare(map[int][]byte{}, quoted)
	if len(m) != 1 || m[0].PCR != 18 || m[0].Replayed != nil {
		t.Errorf("mismatches %+v", m)
	}
}

// analyzeLegacy parses a go-eventlog legacy log and analyses its SHA-256
// bank (SHA-1 for TPM 1.2 logs) with every PCR taken as verified.
func analyzeLegacy(t *testing.T, name string) *State {
	t.Helper()
	return analyzeVector(t, legacyLogs+"/"+name)
}

// analyzeVector parses the log rel of the real vectors and analyses it
// with analyzeBest.
func analyzeVector(t *testing.T, rel string) *State {
	t.Helper()
	l, err := Parse(vectortest.Read(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return analyzeBest(t, l)
}

// analyzeBest analyses the SHA-256 bank of l (SHA-1 for TPM 1.2 logs) with
// every PCR taken as verified.
func analyzeBest(t *testing.T, l *Log) *State {
	t.Helper()
	bank := AlgSHA256
	if !l.HasAlg(bank) {
		bank = AlgSHA1
	}
	st, err := Analyze(l, bank, allVerified())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
