package eventlog

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

const gceLogs = "eventlog/go-tpm-tools-gce-and-other-logs"

type expectedFile struct {
	Logs map[string]struct {
		ExpectedPCRs map[string]map[string]string `json:"expected_pcrs"`
		EFIApps      map[string][]string          `json:"expected_efi_app_digests"`
	} `json:"logs"`
	Cmdlines map[string]string `json:"kernel_cmdlines_from_internal_test_test_data_go"`
}

func loadExpected(t *testing.T) *expectedFile {
	t.Helper()
	var ex expectedFile
	if err := json.Unmarshal(vectortest.Read(t, gceLogs+"/expected_pcrs.json"), &ex); err != nil {
		t.Fatal(err)
	}
	return &ex
}

var bankIDs = map[string]uint16{"SHA1": AlgSHA1, "SHA256": AlgSHA256, "SHA384": AlgSHA384}

// TestReplayVectors replays every go-tpm-tools log into every expected bank.
func TestReplayVectors(t *testing.T) {
	ex := loadExpected(t)
	if len(ex.Logs) != 14 {
		t.Fatalf("expected 14 logs, got %d", len(ex.Logs))
	}
	for name, want := range ex.Logs {
		t.Run(name, func(t *testing.T) {
			l, err := Parse(vectortest.Read(t, gceLogs+"/"+name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for bank, pcrs := range want.ExpectedPCRs {
				got, err := Replay(l, bankIDs[bank])
				if err != nil {
					t.Fatalf("Replay %s: %v", bank, err)
				}
				quoted := map[int][]byte{}
				for k, v := range pcrs {
					i, _ := strconv.Atoi(k)
					quoted[i], _ = hex.DecodeString(v)
				}
				for _, m := range Compare(got, quoted) {
					t.Errorf("%s PCR %d: replayed %x, expected %x", bank, m.PCR, m.Replayed, m.Quoted)
				}
			}
		})
	}
}

// TestLegacyVectors parses every go-eventlog legacy log.
func TestLegacyVectors(t *testing.T) {
	dir := filepath.Join(vectortest.Dir(t), "eventlog/go-eventlog-legacydata")
	want := map[string]struct {
		events int
		format Format
	}{
		"coreos_36_shielded_vm_no_secure_boot_eventlog":   {76, FormatCryptoAgile},
		"crypto_agile_eventlog":                           {27, FormatCryptoAgile},
		"ebs_event_missing_eventlog":                      {38, FormatSHA1},
		"option_rom_eventlog":                             {61, FormatSHA1},
		"sb_cert_eventlog":                                {15, FormatCryptoAgile},
		"short_no_action_eventlog":                        {1, FormatSHA1},
		"ubuntu_2104_shielded_vm_no_secure_boot_eventlog": {106, FormatCryptoAgile},
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			l, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			n := len(l.Events)
			if l.Format == FormatCryptoAgile {
				n++ // the PROVENANCE count includes the Spec ID header
			}
			if n != w.events || l.Format != w.format {
				t.Errorf("events %d format %d, want %d %d", n, l.Format, w.events, w.format)
			}
		})
	}
}

// TestLinuxTPM12 replays the TPM 1.2 log of linux_tpm12.json against its PCRs.
func TestLinuxTPM12(t *testing.T) {
	var dump struct {
		Log struct {
			PCRs []struct {
				Index     int
				Digest    string
				DigestAlg int
			}
			Raw string
		}
	}
	if err := json.Unmarshal(vectortest.Read(t, "eventlog/go-eventlog-legacydata/linux_tpm12.json"), &dump); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(dump.Log.Raw)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got, err := Replay(l, AlgSHA1)
	if err != nil {
		t.Fatal(err)
	}
	quoted := map[int][]byte{}
	for _, p := range dump.Log.PCRs {
		quoted[p.Index], _ = base64.StdEncoding.DecodeString(p.Digest)
	}
	if len(quoted) == 0 {
		t.Fatal("no PCRs in dump")
	}
	for _, m := range Compare(got, quoted) {
		// PCR 10 is IMA's, extended by the kernel after the firmware log ends.
		if m.Replayed == nil && m.PCR >= 8 {
			continue
		}
		t.Errorf("PCR %d: replayed %x, quoted %x", m.PCR, m.Replayed, m.Quoted)
	}
}
