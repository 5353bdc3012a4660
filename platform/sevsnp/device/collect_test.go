package device

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/acquire"
	"github.com/cloudra/cloudra/platform/tsm"
)

func TestCollectorTSM(t *testing.T) {
	k := &fakeKernel{guestVMPL: 2, certs: fakeCertTable()}
	root, f := newTSM(t, tsm.ProviderSEVGuest, k)
	c := &Collector{Options: Options{TSMRoot: root, TSM: f, Extended: true}, VMPL: 2}
	if c.Platform() != "sev-snp" {
		t.Errorf("Platform() = %q", c.Platform())
	}
	ev, err := c.Collect(context.Background(), acquire.Request{ReportData: [64]byte{0xAA}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Interface != InterfaceTSM || len(ev.Artifacts) != 2 || ev.Collateral != nil {
		t.Fatalf("evidence %+v", ev)
	}
	rep, tab := ev.Artifacts[0], ev.Artifacts[1]
	if rep.Kind != cloudra.KindSNPReport || rep.Data[offReportData] != 0xAA ||
		rep.Meta["vmpl"] != "2" || rep.Meta["interface"] != InterfaceTSM || len(rep.Meta) != 2 {
		t.Errorf("report artifact %s meta %v", rep.Kind, rep.Meta)
	}
	if tab.Kind != cloudra.KindSNPCertTable || !bytes.Equal(tab.Data, fakeCertTable()) || tab.Meta != nil {
		t.Errorf("cert-table artifact %s meta %v", tab.Kind, tab.Meta)
	}

	// A failing interface that is there is not "not available".
	c.VMPL = 0
	_, err = c.Collect(context.Background(), acquire.Request{})
	var pe *tsm.PrivLevelError
	if !errors.As(err, &pe) || errors.Is(err, acquire.ErrNotAvailable) {
		t.Fatalf("VMPL below the floor: err = %v", err)
	}
}

func TestCollectorStandardReport(t *testing.T) {
	k := &fakeKernel{certs: fakeCertTable()}
	c := &Collector{Options: Options{TSMRoot: noTSM(t), OpenDevice: k.open}}
	ev, err := c.Collect(context.Background(), acquire.Request{ReportData: [64]byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Interface != InterfaceDevice || len(ev.Artifacts) != 1 || ev.Artifacts[0].Meta["vmpl"] != "0" {
		t.Fatalf("evidence %+v", ev)
	}
}

func TestCollectorNotAvailable(t *testing.T) {
	absent := func(string) (Device, error) { return nil, syscall.ENOENT }
	other, f := newTSM(t, tsm.ProviderTDXGuest, &fakeKernel{})
	for name, o := range map[string]Options{
		"no interface":       {TSMRoot: noTSM(t), OpenDevice: absent},
		"tdx_guest provider": {TSMRoot: other, TSM: f},
		"no configfs-tsm":    {TSMRoot: noTSM(t), Interface: InterfaceTSM},
	} {
		_, openErr := Open(o)
		_, err := (&Collector{Options: o}).Collect(context.Background(), acquire.Request{})
		if !errors.Is(err, acquire.ErrNotAvailable) || err.Error() != openErr.Error() {
			t.Errorf("%s: err = %v, want ErrNotAvailable with Open's message %q", name, err, openErr)
		}
	}
	_, err := (&Collector{Options: Options{Interface: "vsock"}}).Collect(context.Background(), acquire.Request{})
	if err == nil || errors.Is(err, acquire.ErrNotAvailable) {
		t.Errorf("unknown interface: err = %v", err)
	}
}

// A collector given a provider (a simulated platform) does not open the
// machine's interfaces, and its errors stay its own.
func TestCollectorOpen(t *testing.T) {
	k := &fakeKernel{}
	p, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open})
	if err != nil {
		t.Fatal(err)
	}
	c := &Collector{Options: Options{OpenDevice: func(string) (Device, error) { t.Fatal("device opened"); return nil, nil }},
		Open: func() (Provider, error) { return p, nil }, VMPL: 1}
	ev, err := c.Collect(context.Background(), acquire.Request{})
	if err != nil || ev.Artifacts[0].Meta["vmpl"] != "1" {
		t.Fatalf("collect: %v", err)
	}
	boom := errors.New("no simulator")
	c.Open = func() (Provider, error) { return nil, boom }
	if _, err := c.Collect(context.Background(), acquire.Request{}); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the provider's", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Collect(ctx, acquire.Request{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}
