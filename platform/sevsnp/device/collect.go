package device

import (
	"context"
	"strconv"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/guestdev"
	"github.com/cloudra/cloudra/platform/acquire"
)

// Platform is the name of the platform this package collects for, as its
// verifier (package sevsnp) names it.
const Platform = "sev-snp"

// Collector is the [acquire.Collector] for SEV-SNP: a report at VMPL, plus
// the host's certificate table when Options.Extended asks for it.
type Collector struct {
	// Options is how [Open] finds the guest interface.
	Options Options
	// VMPL is the VMPL to request the report at (see [Provider]).
	VMPL uint32
	// Open, when set, replaces Open(Options): it returns the provider to
	// use (a simulated platform's).
	Open func() (Provider, error)
}

var _ acquire.Collector = (*Collector)(nil)

// Platform implements [acquire.Collector].
func (c *Collector) Platform() string { return Platform }

// Collect implements [acquire.Collector]. No guest interface, another
// platform's configfs-tsm provider and a system other than Linux are
// [acquire.ErrNotAvailable]; the error's message is Open's.
func (c *Collector) Collect(ctx context.Context, req acquire.Request) (*acquire.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var p Provider
	var err error
	if c.Open != nil {
		p, err = c.Open()
	} else if p, err = Open(c.Options); notHere(err) {
		err = acquire.NotAvailable(err)
	}
	if err != nil {
		return nil, err
	}
	raw, err := p.Report(req.ReportData, c.VMPL)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{"vmpl": strconv.FormatUint(uint64(c.VMPL), 10), "interface": raw.Interface}
	ev := &acquire.Evidence{Interface: raw.Interface,
		Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: raw.Report, Meta: meta}}}
	if len(raw.CertTable) > 0 {
		ev.Artifacts = append(ev.Artifacts, cloudra.Artifact{Kind: cloudra.KindSNPCertTable, Data: raw.CertTable})
	}
	return ev, nil
}

// notHere reports whether Open's error says this machine is not an SEV-SNP
// guest, rather than an interface that is there and failed.
func notHere(err error) bool { return guestdev.NotHere(err, ErrNoInterface, ErrUnsupportedOS) }
