package sgx

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
	q := vectortest.Read(t, "sgx/automata-v3-00606a-swhardening/quote.bin")
	col := dcaptest.LoadCollateral(t, "sgx/automata-v3-00606a-swhardening/collateral")
	opts := cloudra.Options{Time: vectortest.Time(t, "2025-08-15T05:45:00Z")}
	dcaptest.HonoursContext(t, func(ctx context.Context) (*cloudra.Result, error) {
		return v.Verify(ctx, Evidence{Quote: q}, col, nil, opts)
	})
}
