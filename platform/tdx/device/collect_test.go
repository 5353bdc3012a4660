package device

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/tsmtest"
	"github.com/cloudra/cloudra/platform/acquire"
	"github.com/cloudra/cloudra/platform/tsm"
)

func TestCollectorQuoteAndCCEL(t *testing.T) {
	root := t.TempDir()
	f, err := tsmtest.New(root, tsm.ProviderTDXGuest, -1, func(in []byte, _ uint32) ([]byte, []byte, error) {
		return fakeQuote(4, in), nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sys := t.TempDir()
	table := append([]byte("CCEL"), make([]byte, 52)...)
	write(t, sys, ccelTablePath, table)
	write(t, sys, ccelDataPath, []byte("log bytes"))
	c := &Collector{Options: Options{TSMRoot: root, TSM: f}, Sys: SysOptions{Root: sys}}
	if c.Platform() != "tdx" {
		t.Errorf("Platform() = %q", c.Platform())
	}
	ev, err := c.Collect(context.Background(), acquire.Request{ReportData: [64]byte{0xEE}})
	if err != nil {
		t.Fatal(err)
	}
	want := []cloudra.Kind{cloudra.KindTDXQuote, cloudra.KindCCEL, cloudra.KindCCELLog}
	if ev.Interface != InterfaceTSM || len(ev.Artifacts) != len(want) || ev.Collateral != nil {
		t.Fatalf("evidence %+v", ev)
	}
	for i, k := range want {
		if ev.Artifacts[i].Kind != k {
			t.Errorf("artifact %d is %s, want %s", i, ev.Artifacts[i].Kind, k)
		}
	}
	if m := ev.Artifacts[0].Meta; len(m) != 1 || m["interface"] != InterfaceTSM {
		t.Errorf("quote meta %v", m)
	}
	if string(ev.Artifacts[2].Data) != "log bytes" || ev.Artifacts[1].Meta != nil {
		t.Errorf("CCEL artifacts %+v", ev.Artifacts[1:])
	}
}

// The TDREPORT path, on a firmware without a CCEL (Azure): no CCEL
// artifacts and no error.
func TestCollectorTDReportNoCCEL(t *testing.T) {
	c := &Collector{Options: Options{TSMRoot: noTSM(t), OpenDevice: opener(newDev())}, Sys: SysOptions{Root: t.TempDir()}}
	ev, err := c.Collect(context.Background(), acquire.Request{ReportData: [64]byte{5}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Interface != InterfaceDevice || len(ev.Artifacts) != 1 || ev.Artifacts[0].Kind != cloudra.KindTDReport {
		t.Fatalf("evidence %+v", ev)
	}
}

func TestCollectorNotAvailable(t *testing.T) {
	absent := func(string) (Device, error) { return nil, syscall.ENOENT }
	snp := t.TempDir()
	f, _ := tsmtest.New(snp, tsm.ProviderSEVGuest, 0, nil)
	for name, o := range map[string]Options{
		"no interface":       {TSMRoot: noTSM(t), OpenDevice: absent},
		"sev_guest provider": {TSMRoot: snp, TSM: f},
	} {
		_, openErr := Open(o)
		_, err := (&Collector{Options: o}).Collect(context.Background(), acquire.Request{})
		if !errors.Is(err, acquire.ErrNotAvailable) || err.Error() != openErr.Error() {
			t.Errorf("%s: err = %v, want ErrNotAvailable with Open's message %q", name, err, openErr)
		}
	}
	d := newDev()
	d.err = syscall.EIO
	_, err := (&Collector{Options: Options{TSMRoot: noTSM(t), OpenDevice: opener(d)}}).Collect(context.Background(), acquire.Request{})
	if !errors.Is(err, syscall.EIO) || errors.Is(err, acquire.ErrNotAvailable) {
		t.Errorf("failing device: err = %v", err)
	}
}

// A collector given a provider (a simulated platform) passes its collateral
// on and reads no CCEL of this machine.
func TestCollectorOpen(t *testing.T) {
	sys := t.TempDir()
	write(t, sys, ccelTablePath, append([]byte("CCEL"), make([]byte, 52)...))
	write(t, sys, ccelDataPath, []byte("log bytes"))
	p, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: opener(newDev())})
	if err != nil {
		t.Fatal(err)
	}
	col := []cloudra.Artifact{{Kind: "collateral/x", Name: "x", Data: []byte("x")}}
	c := &Collector{Sys: SysOptions{Root: sys}, Open: func() (Provider, []cloudra.Artifact, error) { return p, col, nil }}
	ev, err := c.Collect(context.Background(), acquire.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Artifacts) != 1 || len(ev.Collateral) != 1 || ev.Collateral[0].Name != "x" {
		t.Fatalf("evidence %+v", ev)
	}
	boom := errors.New("no simulator")
	c.Open = func() (Provider, []cloudra.Artifact, error) { return nil, nil, boom }
	if _, err := c.Collect(context.Background(), acquire.Request{}); !errors.Is(err, boom) || errors.Is(err, acquire.ErrNotAvailable) {
		t.Errorf("err = %v, want the provider's", err)
	}
}
