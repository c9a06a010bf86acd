//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSpmv512BitIdentical: the AVX-512 panel product does the AVX2
// routine's operations lane by lane, so the two agree to the bit (the AVX2
// one is checked against spmvGo in TestSpmvAgree).
func TestSpmv512BitIdentical(t *testing.T) {
	if !useAVX512 {
		t.Skip("CPU without AVX-512")
	}
	rng := rand.New(rand.NewPCG(10, 11))
	nodes := 40
	cur := make([]float64, nodes*panel)
	for i := range cur {
		cur[i] = rng.NormFloat64()
	}
	for _, nnz := range []int{0, 1, 2, 5, 16, 31} {
		idx := make([]int32, nnz)
		w := make([]float64, nnz)
		for p := range idx {
			idx[p] = int32(rng.IntN(nodes))
			w[p] = rng.NormFloat64()
		}
		var a [panel]float64
		for r := range a {
			a[r] = rng.NormFloat64()
		}
		b := a
		spmv512(&a, cur, idx, w)
		spmv256(&b, cur, idx, w)
		for r := range a {
			if math.Float64bits(a[r]) != math.Float64bits(b[r]) {
				t.Fatalf("nnz=%d r=%d: avx512 %v, avx2 %v", nnz, r, a[r], b[r])
			}
		}
	}
}

// BenchmarkSpmvPanelAVX2 is BenchmarkSpmvPanel on the AVX2 routine, for
// comparison with the AVX-512 one on CPUs that have both.
func BenchmarkSpmvPanelAVX2(b *testing.B) {
	defer func(v bool) { useAVX512 = v }(useAVX512)
	useAVX512 = false
	BenchmarkSpmvPanel(b)
}
