package bench

import (
	"crypto/elliptic"
	"os"
	"testing"

	"github.com/cloudra/cloudra/internal/benchstat"
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

// interleaved is benchstat.Interleaved: cloudra and the floor called
// alternately, medians and their ratio.
func interleaved(b *testing.B, nameA string, a func(*testing.B), nameB string, c func(*testing.B)) {
	benchstat.Interleaved(b, nameA, a, nameB, c)
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
