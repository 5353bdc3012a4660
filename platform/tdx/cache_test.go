package tdx

import (
	"context"
	"sync"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
)

// The caches never change a verdict: same verifier, different times, roots
// and collateral give what a fresh verifier gives.
func TestCachesPreserveVerdicts(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	quote := k.TDQuote(4, false).Bytes()
	col := k.Collateral(true)
	verify := func(opts cloudra.Options, col *cloudra.Collateral) *cloudra.Result {
		res, err := v.Verify(context.Background(), Evidence{Quote: quote}, col, nil, opts)
		res = checktest.Result(t, res, err)
		return res
	}
	now := cloudra.Options{Time: k.Now, AllowTestRoots: true}
	if res := verify(now, col); res.Verdict != cloudra.Pass {
		t.Fatalf("%s", dcaptest.Dump(res))
	}
	later := now
	later.Time = k.Now.AddDate(0, 0, 16) // TCB Info expired (nextUpdate +15 days)
	checktest.WantFail(t, verify(later, col), "tcb-info.verify", cloudra.ClassFresh)
	if res := verify(now, col); res.Verdict != cloudra.Pass {
		t.Fatalf("back at now: %s", dcaptest.Dump(res))
	}
	checktest.WantFail(t, verify(cloudra.Options{Time: k.Now}, col), "pck.chain", cloudra.ClassChain)
	later.Time = k.Now.AddDate(2, 0, 0) // PCK certificate expired
	checktest.WantFail(t, verify(later, col), "pck.chain", cloudra.ClassFresh)

	ti := k.DefaultTCBInfo(true)
	ti.Levels[0].Status = "OutOfDate"
	res := verify(now, k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()))
	if res.TCB.Status != "OutOfDate" {
		t.Fatalf("changed collateral: %s", res.TCB.Status)
	}
	if res := verify(now, col); res.TCB.Status != "UpToDate" {
		t.Fatalf("original collateral: %s", res.TCB.Status)
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				res, err := v.Verify(context.Background(), Evidence{Quote: quote}, col, nil, now)
				if err != nil || res.Verdict != cloudra.Pass {
					t.Error(err, res.Verdict)
				}
			}
		})
	}
	wg.Wait()
}
