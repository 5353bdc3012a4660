package tdx

import (
	"context"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
)

// Verify stops when its context is done, returning an error that wraps the
// context's; a later verification by the same verifier is unaffected.
func TestDCAPVerifyHonoursContext(t *testing.T) {
	dcaptest.QuoteHonoursContext(t, "tdx/dcapqvl-v4-uptodate", "2025-07-01T00:00:00Z", NewVerifier, func(ctx context.Context, v *Verifier, q []byte, col *cloudra.Collateral, opts cloudra.Options) (*cloudra.Result, error) {
		return v.Verify(ctx, Evidence{Quote: q}, col, nil, opts)
	})
}
