package bench

import (
	"crypto/elliptic"
	"os"
	"testing"
	"time"

	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/policy"
)

func elliptic256() elliptic.Curve { return elliptic.P256() }

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// tdxDebugPolicy allows the benchmark's debug TD (go-tdx-guest does not
// appraise TD attributes; this keeps the two doing the same work).
func tdxDebugPolicy() *tdx.Policy {
	return &tdx.Policy{AllowDebug: policy.Bool(true), RequireSEPTVEDisable: policy.Bool(false)}
}

// interleaved alternates two operations call by call (swapping which goes
// first), then reports the median time of each and their ratio. On a loaded
// machine separate sub-benchmarks run seconds apart under different load;
// medians of interleaved calls are what a ratio should be computed from.
func interleaved(b *testing.B, nameA string, a func(*testing.B), nameB string, c func(*testing.B)) {
	var ta, tb []time.Duration
	for i := 0; b.Loop(); i++ {
		first, second, d1, d2 := a, c, &ta, &tb
		if i%2 == 1 {
			first, second, d1, d2 = c, a, &tb, &ta
		}
		t0 := time.Now()
		first(b)
		t1 := time.Now()
		second(b)
		t2 := time.Now()
		*d1, *d2 = append(*d1, t1.Sub(t0)), append(*d2, t2.Sub(t1))
	}
	ma, mb := medianDuration(ta), medianDuration(tb)
	b.ReportMetric(float64(ma.Nanoseconds()), nameA+"-ns")
	b.ReportMetric(float64(mb.Nanoseconds()), nameB+"-ns")
	b.ReportMetric(float64(ma)/float64(mb), nameA+"/"+nameB)
}

// loop is a sub-benchmark that runs f with allocations reported.
func loop(f func(*testing.B)) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f(b)
		}
	}
}
