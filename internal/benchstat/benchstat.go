// Package benchstat holds what the benchmarks of the main module and of
// the bench module share: the interleaved comparison their ratios are read
// from.
package benchstat

import (
	"slices"
	"testing"
	"time"
)

// Interleaved alternates two operations call by call (swapping which goes
// first), then reports the median time of each and their ratio. On a loaded
// machine separate sub-benchmarks run seconds apart under different load;
// medians of interleaved calls are what a ratio should be computed from.
func Interleaved(b *testing.B, nameA string, a func(*testing.B), nameB string, c func(*testing.B)) {
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
	ma, mb := Median(ta), Median(tb)
	b.ReportMetric(float64(ma.Nanoseconds()), nameA+"-ns")
	b.ReportMetric(float64(mb.Nanoseconds()), nameB+"-ns")
	b.ReportMetric(float64(ma)/float64(mb), nameA+"/"+nameB)
}

// Median is the median of d (sorted in place), 0 for none.
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}
