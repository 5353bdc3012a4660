package device

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestDeviceHostileReasons tightens TestDeviceHostile (which asserts only
// err != nil): each hostile answer is refused for its own reason, before it
// could be stored as evidence (docs/pitfalls-snp.md A5, B8, B9 on the collection side).
func TestDeviceHostileReasons(t *testing.T) {
	for _, c := range []struct {
		mode string
		want string
	}{
		{"replay", "other REPORT_DATA than requested"}, // B9: a report for another challenge
		{"size", "report_size"},                        // A5: absurd length field
		{"vmpl", "states VMPL 3, requested 0"},         // B8: another privilege level
		{"grow", "certificate buffer"},                 // A5: unbounded allocation
	} {
		k := &fakeKernel{}
		mode := c.mode
		open := func(string) (Device, error) { return hostileDev{fakeDev{k}, mode}, nil }
		p, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: open, Extended: mode == "grow"})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := p.Report([64]byte{9}, 0)
		if err == nil || raw != nil {
			t.Errorf("%s: accepted (%v)", mode, raw)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sevsnp/device: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", mode, err, c.want)
		}
	}
}

// TestDeviceFirmwareRefusal: a firmware INVALID_PARAM (VMPL below the
// guest's own) is an error with a hint, not an empty report; the extended
// request without certificates (virtee/sev 6a176a5f) is a report with no
// table, not a panic.
func TestDeviceFirmwareRefusal(t *testing.T) {
	k := &fakeKernel{guestVMPL: 2}
	p, _ := Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open, Extended: true})
	raw, err := p.Report([64]byte{}, 1)
	if err == nil || raw != nil || !strings.Contains(err.Error(), "INVALID_PARAM") || !strings.Contains(err.Error(), "hint") {
		t.Fatalf("VMPL 1 from a VMPL-2 guest: %v", err)
	}
	k = &fakeKernel{noExt: true}
	p, _ = Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open, Extended: true})
	if _, err := p.Report([64]byte{}, 0); !errors.Is(err, syscall.ENOTTY) || !strings.Contains(err.Error(), "hint") {
		t.Fatalf("no extended requests: %v", err)
	}
}
