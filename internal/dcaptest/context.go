package dcaptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
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
