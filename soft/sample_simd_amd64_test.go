//go:build goexperiment.simd && amd64

package soft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// maxSource is a rand.Source whose every value is all ones, so that
// Float64 returns its largest value, 1 − 2^−53.
type maxSource struct{}

func (maxSource) Uint64() uint64 { return math.MaxUint64 }

// TestSampleVecFallback: when rounding leaves the variate u at or above
// every running total of the walk (the vector total, summed in another
// order, exceeds the walk's), sampleVec returns the last positive entry of
// the row, as Sample's rule says, also when that entry lies before the last
// whole block (the backward scan) and when it is in the tail. Rows are
// searched for which (1 − 2^−53)·total ≥ the walk's total (the largest
// variate); the expected index is found by a scan from the end.
func TestSampleVecFallback(t *testing.T) {
	if !haveSampleVec {
		t.Skip("no vector Sample in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(25, 25))
	r := rand.New(maxSource{})
	found := [3]int{}
	for trial := 0; trial < 20000 && (found[0] < 5 || found[1] < 5 || found[2] < 5); trial++ {
		kind := trial % 3
		n := 96
		if kind == 2 {
			n = 100 // 3 blocks and a tail of 4
		}
		p := make([]float32, n)
		for v := range p {
			p[v] = float32(math.Exp(rng.NormFloat64() * 8))
		}
		switch kind {
		case 1: // zeros from some point of the last block on
			for v := 64 + rng.IntN(32); v < n; v++ {
				p[v] = 0
			}
		case 2: // zeros in the tail but its first entry
			for v := 97; v < n; v++ {
				p[v] = 0
			}
		}
		var total float64
		if haveSample512 {
			total = sumPositive512(p)
		} else {
			total = sumPositive(p)
		}
		start, c := sampleWalk(p, math.Inf(1))
		for _, x := range p[start:] {
			if x > 0 {
				c += float64(x)
			}
		}
		if !(r.Float64()*total >= c) {
			continue
		}
		found[kind]++
		want := int32(n - 1)
		for !(p[want] > 0) {
			want--
		}
		if got := sampleVec(r, p); got != want {
			t.Fatalf("trial %d: %d, want the last positive entry %d", trial, got, want)
		}
	}
	if found[0] == 0 || found[1] == 0 || found[2] == 0 {
		t.Fatalf("fallback cases found: %v (want each kind)", found)
	}
}
