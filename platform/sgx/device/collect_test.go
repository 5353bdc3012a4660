package device

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/acquire"
)

func TestCollector(t *testing.T) {
	rd := [64]byte{1, 2, 3}
	c := &Collector{Options: Options{Root: fakeGramine(t, "dcap", sgxQuote(rd))}}
	if c.Platform() != "sgx" {
		t.Errorf("Platform() = %q", c.Platform())
	}
	ev, err := c.Collect(context.Background(), acquire.Request{ReportData: rd})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Interface != Interface || len(ev.Artifacts) != 1 || ev.Collateral != nil {
		t.Fatalf("evidence %+v", ev)
	}
	a := ev.Artifacts[0]
	if a.Kind != cloudra.KindSGXQuote || len(a.Data) != 436 || len(a.Meta) != 2 ||
		a.Meta["interface"] != Interface || a.Meta["attestation_type"] != "dcap" {
		t.Errorf("artifact %s meta %v", a.Kind, a.Meta)
	}
}

func TestCollectorNotAvailable(t *testing.T) {
	o := Options{Root: filepath.Join(t.TempDir(), "none")}
	_, openErr := Open(o)
	_, err := (&Collector{Options: o}).Collect(context.Background(), acquire.Request{})
	if !errors.Is(err, acquire.ErrNotAvailable) || !errors.Is(err, ErrNoInterface) || err.Error() != openErr.Error() {
		t.Errorf("outside Gramine: err = %v", err)
	}
	// Gramine is there but offers no DCAP attestation: its own error.
	_, err = (&Collector{Options: Options{Root: fakeGramine(t, "none", nil)}}).Collect(context.Background(), acquire.Request{})
	if err == nil || errors.Is(err, acquire.ErrNotAvailable) {
		t.Errorf(`attestation_type "none": err = %v`, err)
	}
}

func TestCollectorOpen(t *testing.T) {
	rd := [64]byte{7}
	p, err := Open(Options{Root: fakeGramine(t, "dcap", sgxQuote(rd))})
	if err != nil {
		t.Fatal(err)
	}
	col := []cloudra.Artifact{{Kind: "collateral/x", Name: "x"}}
	c := &Collector{Open: func() (Provider, []cloudra.Artifact, error) { return p, col, nil }}
	ev, err := c.Collect(context.Background(), acquire.Request{ReportData: rd})
	if err != nil || len(ev.Collateral) != 1 {
		t.Fatalf("collect: %v %+v", err, ev)
	}
}
