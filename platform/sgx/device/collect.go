package device

import (
	"context"
	"errors"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/acquire"
)

// Platform is the name of the platform this package collects for, as its
// verifier (package sgx) names it.
const Platform = "sgx"

// Collector is the [acquire.Collector] for an SGX enclave under Gramine: a
// DCAP quote from /dev/attestation.
type Collector struct {
	// Options is how [Open] finds Gramine's attestation files.
	Options Options
	// Open, when set, replaces Open(Options): it returns the provider to
	// use (a simulated platform's) and the collateral that travels with
	// its evidence.
	Open func() (Provider, []cloudra.Artifact, error)
}

var _ acquire.Collector = (*Collector)(nil)

// Platform implements [acquire.Collector].
func (c *Collector) Platform() string { return Platform }

// Collect implements [acquire.Collector]. Running outside a Gramine
// enclave is [acquire.ErrNotAvailable]; the error's message is Open's. A
// Gramine enclave without DCAP attestation is an error of its own.
func (c *Collector) Collect(ctx context.Context, req acquire.Request) (*acquire.Evidence, error) {
	p, col, err := acquire.Open(ctx, c.Open, func() (Provider, error) { return Open(c.Options) }, notHere)
	if err != nil {
		return nil, err
	}
	raw, err := p.Report(req.ReportData)
	if err != nil {
		return nil, err
	}
	return &acquire.Evidence{Interface: raw.Interface, Collateral: col, Artifacts: []cloudra.Artifact{{
		Kind: cloudra.KindSGXQuote, Data: raw.Quote,
		Meta: map[string]string{"interface": raw.Interface, "attestation_type": raw.AttestationType},
	}}}, nil
}

// notHere reports whether Open's error says this process runs outside a
// Gramine enclave.
func notHere(err error) bool { return errors.Is(err, ErrNoInterface) }
