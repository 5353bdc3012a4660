package dcaptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// HonoursContext checks that verify stops when its context is done,
// returning an error that wraps the context's, and that a later
// verification by the same verifier is unaffected (it must pass).
func HonoursContext(t testing.TB, verify func(context.Context) (*cloudra.Result, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := verify(ctx); !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("cancelled: %v, %v", res, err)
	}
	dl, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	if _, err := verify(dl); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	res, err := verify(context.Background())
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("afterwards: %v\n%s", err, Dump(res))
	}
}

// QuoteHonoursContext is HonoursContext for the real vector folder dir
// (its quote.bin and collateral folder) verified at the RFC 3339 time at,
// by a verifier newVerifier (sgx.NewVerifier or tdx.NewVerifier) makes
// with no options; verify calls the verifier's Verify.
func QuoteHonoursContext[V, O any](t testing.TB, dir, at string, newVerifier func(...O) (V, error), verify func(ctx context.Context, v V, quote []byte, col *cloudra.Collateral, opts cloudra.Options) (*cloudra.Result, error)) {
	t.Helper()
	v, err := newVerifier()
	if err != nil {
		t.Fatal(err)
	}
	q := vectortest.Read(t, dir+"/quote.bin")
	col := LoadCollateral(t, dir+"/collateral")
	opts := cloudra.Options{Time: vectortest.Time(t, at)}
	HonoursContext(t, func(ctx context.Context) (*cloudra.Result, error) {
		return verify(ctx, v, q, col, opts)
	})
}
