// Package acquire is what a platform's device package implements so that
// cloudra can collect the platform's evidence inside a guest or an enclave:
// a [Collector]. The command line lists the collectors in one file
// (cmd/cloudra/cli/collectors.go), in the order --platform auto tries them.
//
// It imports only the root package, so that a collector links no verifier,
// no policy and no YAML: the collecting side stays small, which matters
// inside an SGX enclave.
package acquire

import (
	"context"
	"errors"

	"github.com/cloudra/cloudra"
)

// Collector collects one platform's evidence. Platform-specific settings
// (the VMPL, the interface, device paths) are fields of the implementation,
// set when it is built; Collect takes only what every platform needs.
type Collector interface {
	// Platform is the name the platform's verifier goes by ("sev-snp",
	// "tdx", "sgx"); it is the evidence bundle's platform.
	Platform() string
	// Collect asks the platform for evidence carrying req.ReportData. A
	// platform whose guest interface this machine does not have returns
	// an error wrapping [ErrNotAvailable]; any other error means the
	// interface is there and failed.
	Collect(ctx context.Context, req Request) (*Evidence, error)
}

// Request is what every collector is asked.
type Request struct {
	// ReportData is the relying party's challenge (zero-padded), for the
	// report's REPORT_DATA field.
	ReportData [64]byte
	// Nonce is the same challenge as given, unpadded, for platforms whose
	// evidence carries it in a field of its own length (the nonce of a
	// Nitro attestation document).
	Nonce []byte
}

// Evidence is what a collector returns.
type Evidence struct {
	// Artifacts are the evidence, primary artifact first, followed by its
	// companions (the host's certificate table, the CC event log). Host
	// data among them is untrusted, like the rest of the evidence.
	Artifacts []cloudra.Artifact
	// Collateral travels with the evidence for the verifier (a simulated
	// platform's PCS stand-in serves it this way); nil for hardware.
	Collateral []cloudra.Artifact
	// Interface names the guest interface that produced the evidence
	// ("configfs-tsm", "/dev/sev-guest", "simulated").
	Interface string
}

// ErrNotAvailable is wrapped by Collect when the platform's guest interface
// is not on this machine (no device, another platform's configfs-tsm
// provider, not Linux, not inside the enclave runtime).
var ErrNotAvailable = errors.New("acquire: platform not available on this machine")

// NotAvailable marks err as [ErrNotAvailable] without changing its message:
// errors.Is reports both ErrNotAvailable and whatever err wraps. It returns
// nil for a nil err.
func NotAvailable(err error) error {
	if err == nil {
		return nil
	}
	return notAvailable{err}
}

type notAvailable struct{ err error }

func (e notAvailable) Error() string        { return e.err.Error() }
func (e notAvailable) Unwrap() error        { return e.err }
func (e notAvailable) Is(target error) bool { return target == ErrNotAvailable }

// Open is how a collector's Collect gets its provider: after checking ctx,
// sim's when sim is set (a simulated platform's, with the collateral that
// travels with its evidence), else open's, whose error is marked
// [ErrNotAvailable] when notHere says this machine lacks the platform's
// interface.
func Open[P any](ctx context.Context, sim func() (P, []cloudra.Artifact, error), open func() (P, error), notHere func(error) bool) (P, []cloudra.Artifact, error) {
	var zero P
	if err := ctx.Err(); err != nil {
		return zero, nil, err
	}
	if sim != nil {
		return sim()
	}
	p, err := open()
	if err != nil && notHere(err) {
		err = NotAvailable(err)
	}
	return p, nil, err
}
