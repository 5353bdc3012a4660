package tdx

import (
	"context"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// Verify stops when its context is done, returning an error that wraps the
// context's; a later verification by the same verifier is unaffected.
func TestDCAPVerifyHonoursContext(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	q := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/quote.bin")
	col := dcaptest.LoadCollateral(t, "tdx/dcapqvl-v4-uptodate/collateral")
	opts := cloudra.Options{Time: vectortest.Time(t, "2025-07-01T00:00:00Z")}
	dcaptest.HonoursContext(t, func(ctx context.Context) (*cloudra.Result, error) {
		return v.Verify(ctx, Evidence{Quote: q}, col, nil, opts)
	})
}
