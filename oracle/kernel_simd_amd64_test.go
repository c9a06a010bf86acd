//go:build goexperiment.simd && amd64

package oracle

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"testing"
)

// TestGemvT64AVX512 checks the AVX-512 state product against the AVX2 one,
// bit for bit (the AVX2 one is checked against exact sums in
// TestKernelsAgainstGo): lane by lane they run the same fused chain.
func TestGemvT64AVX512(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("CPU without AVX-512")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, sz := range [][2]int{{64, 64}, {64, 70}, {5, 128}, {7, 3}, {64, 33}, {1, 130}} {
		r, n := sz[0], sz[1]
		m, x := make([]float64, r*n), make([]float64, r)
		for i := range m {
			m[i] = rng.NormFloat64()
		}
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		a, b := make([]float64, n), make([]float64, n)
		gemvT64AVX512(a, m, x)
		gemvT64AVX2(b, m, x)
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				t.Fatalf("%v: y[%d] avx512 %v, avx2 %v", sz, i, a[i], b[i])
			}
		}
	}
}

// TestSupportAVX2 compares the vector support scan with supportGo.
func TestSupportAVX2(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 200; trial++ {
		K := 1 + rng.IntN(40)
		e := make([]float32, K)
		for v := range e {
			if rng.IntN(4) == 0 {
				e[v] = rng.Float32() + 0.1
			}
		}
		mask := rng.IntN(K+1) - 1 // -1: no MASK
		want := rng.IntN(K + 1)
		a, b := make([]int32, K), make([]int32, K)
		na, nb := supportAVX2(a, e, mask, want), supportGo(b, e, mask, want, 0)
		if na != nb {
			t.Fatalf("K=%d mask=%d want=%d: %d vs %d entries", K, mask, want, na, nb)
		}
		for j := 0; j < na; j++ {
			if a[j] != b[j] {
				t.Fatalf("K=%d: entry %d: %d vs %d", K, j, a[j], b[j])
			}
		}
	}
}
