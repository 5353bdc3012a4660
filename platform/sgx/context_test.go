package sgx

import (
	"context"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
)

// Verify stops when its context is done, returning an error that wraps the
// context's; a later verification by the same verifier is unaffected.
func TestDCAPVerifyHonoursContext(t *testing.T) {
	dcaptest.QuoteHonoursContext(t, "sgx/automata-v3-00606a-swhardening", "2025-08-15T05:45:00Z", NewVerifier, func(ctx context.Context, v *Verifier, q []byte, col *cloudra.Collateral, opts cloudra.Options) (*cloudra.Result, error) {
		return v.Verify(ctx, Evidence{Quote: q}, col, nil, opts)
	})
}
