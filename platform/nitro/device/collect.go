package device

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/acquire"
)

// Collector is the [acquire.Collector] for a Nitro enclave: an attestation
// document from the NSM.
type Collector struct {
	// Options is how [Open] finds the NSM.
	Options Options
	// Open, when set, replaces Open(Options): it returns the provider to
	// use (a simulated platform's) and the collateral that travels with
	// its evidence.
	Open func() (Provider, []cloudra.Artifact, error)
	// UserData and PublicKey go into the document's user_data and
	// public_key fields; nil leaves a field null.
	UserData, PublicKey []byte
}

var _ acquire.Collector = (*Collector)(nil)

// Platform implements [acquire.Collector].
func (c *Collector) Platform() string { return Platform }

// Collect implements [acquire.Collector]. The document's nonce is
// req.Nonce, the challenge unpadded, because the document carries the nonce
// in a field of its own length; an empty req.Nonce leaves it null. Running
// outside a Nitro enclave is [acquire.ErrNotAvailable].
//
// The NSM's description (module_id, digest, version) is recorded in the
// artifact's Meta when the NSM gives it: it helps to read the document, and
// its absence takes nothing from the evidence.
func (c *Collector) Collect(ctx context.Context, req acquire.Request) (*acquire.Evidence, error) {
	p, col, err := acquire.Open(ctx, c.Open, func() (Provider, error) { return Open(c.Options) }, notHere)
	if err != nil {
		return nil, err
	}
	iface := InterfaceDevice
	if c.Open != nil {
		iface = InterfaceSimulated
	}
	nonce := req.Nonce
	if len(nonce) == 0 {
		nonce = nil
	}
	// An NSM request cannot be cancelled once sent; ctx is checked before
	// each.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cl := Client{Provider: p}
	doc, err := cl.Attestation(c.UserData, nonce, c.PublicKey)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{"interface": iface}
	if ctx.Err() == nil {
		if d, err := cl.DescribeNSM(); err == nil {
			meta["module_id"] = d.ModuleID
			meta["digest"] = d.Digest
			meta["version"] = fmt.Sprintf("%d.%d.%d", d.VersionMajor, d.VersionMinor, d.VersionPatch)
		}
	}
	return &acquire.Evidence{Interface: iface, Collateral: col, Artifacts: []cloudra.Artifact{{
		Kind: cloudra.KindNitroDoc, Data: doc, Meta: meta,
	}}}, nil
}

// notHere reports whether Open's error says this process runs outside a
// Nitro enclave.
func notHere(err error) bool {
	return errors.Is(err, ErrNoDevice) || errors.Is(err, ErrUnsupportedOS)
}
