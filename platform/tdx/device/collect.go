package device

import (
	"context"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/guestdev"
	"github.com/cloudra/cloudra/platform/acquire"
)

// Platform is the name of the platform this package collects for, as its
// verifier (package tdx) names it.
const Platform = "tdx"

// Collector is the [acquire.Collector] for TDX: a quote (configfs-tsm) or a
// TDREPORT (/dev/tdx_guest), and the CCEL table and event log when the
// firmware offers them (Azure never does).
type Collector struct {
	// Options is how [Open] finds the guest interface.
	Options Options
	// Sys locates the CCEL in sysfs.
	Sys SysOptions
	// Open, when set, replaces Open(Options) and the CCEL: it returns the
	// provider to use (a simulated platform's) and the collateral that
	// travels with its evidence. This machine's CCEL does not describe
	// that provider's trust domain, so none is read.
	Open func() (Provider, []cloudra.Artifact, error)
}

var _ acquire.Collector = (*Collector)(nil)

// Platform implements [acquire.Collector].
func (c *Collector) Platform() string { return Platform }

// Collect implements [acquire.Collector]. No guest interface, another
// platform's configfs-tsm provider and a system other than Linux are
// [acquire.ErrNotAvailable]; the error's message is Open's. A missing or
// unreadable CCEL is no error: the evidence goes without it.
func (c *Collector) Collect(ctx context.Context, req acquire.Request) (*acquire.Evidence, error) {
	p, col, err := acquire.Open(ctx, c.Open, func() (Provider, error) { return Open(c.Options) }, notHere)
	if err != nil {
		return nil, err
	}
	raw, err := p.Report(req.ReportData)
	if err != nil {
		return nil, err
	}
	ev := &acquire.Evidence{Interface: raw.Interface, Collateral: col}
	meta := map[string]string{"interface": raw.Interface}
	if len(raw.Quote) > 0 {
		ev.Artifacts = append(ev.Artifacts, cloudra.Artifact{Kind: cloudra.KindTDXQuote, Data: raw.Quote, Meta: meta})
	}
	if len(raw.TDReport) > 0 {
		ev.Artifacts = append(ev.Artifacts, cloudra.Artifact{Kind: cloudra.KindTDReport, Data: raw.TDReport, Meta: meta})
	}
	if c.Open != nil {
		return ev, nil
	}
	if ccel, err := ReadCCEL(c.Sys); err == nil {
		ev.Artifacts = append(ev.Artifacts,
			cloudra.Artifact{Kind: cloudra.KindCCEL, Data: ccel.Table},
			cloudra.Artifact{Kind: cloudra.KindCCELLog, Data: ccel.Log})
	}
	return ev, nil
}

// notHere reports whether Open's error says this machine is not a TDX
// guest, rather than an interface that is there and failed.
func notHere(err error) bool { return guestdev.NotHere(err, ErrNoInterface, ErrUnsupportedOS) }
