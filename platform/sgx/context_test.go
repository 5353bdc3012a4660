package sgx

import (
	"context"
	"errors"
	"testing"
	"time"

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
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := v.Verify(ctx, Evidence{Quote: q}, col, nil, opts); !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("cancelled: %v, %v", res, err)
	}
	dl, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	if _, err := v.Verify(dl, Evidence{Quote: q}, col, nil, opts); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	res, err := v.Verify(context.Background(), Evidence{Quote: q}, col, nil, opts)
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("afterwards: %v\n%s", err, dcaptest.Dump(res))
	}
}
