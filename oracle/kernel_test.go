package oracle

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernels compares the kernels in use (AVX2 under GOEXPERIMENT=simd)
// with the pure-Go ones on lengths that exercise every tail.
func TestKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Logf("kernels: %s", kernel)
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 100, 1001} {
		a32, b32 := make([]float32, n), make([]float32, n)
		a64, b64 := make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			a32[i], b32[i] = rng.Float32(), rng.Float32()
			a64[i], b64[i] = rng.Float64(), rng.Float64()
		}
		if got, want := dot32(a32, b32), dot32Go(a32, b32); !(math.Abs(got-want) <= 1e-13*(1+want)) {
			t.Fatalf("dot32 n=%d: %v, Go %v", n, got, want)
		}
		if got, want := dot64(a64, b64), dot64Go(a64, b64); !(math.Abs(got-want) <= 1e-13*(1+want)) {
			t.Fatalf("dot64 n=%d: %v, Go %v", n, got, want)
		}
		y1, y2 := append([]float64(nil), b64...), append([]float64(nil), b64...)
		axpy64(y1, 0.3, a64)
		axpy64Go(y2, 0.3, a64)
		for i := range y1 {
			if !(math.Abs(y1[i]-y2[i]) <= 1e-15) {
				t.Fatalf("axpy64 n=%d at %d: %v, Go %v", n, i, y1[i], y2[i])
			}
		}
		if n > 0 && n <= 100 {
			m := make([]float64, 3*n)
			for i := range m {
				m[i] = rng.Float64()
			}
			y1, y2 := make([]float64, 3), make([]float64, 3)
			gemv64(y1, m, a64)
			gemv64Go(y2, m, a64)
			for i := range y1 {
				if !(math.Abs(y1[i]-y2[i]) <= 1e-13*(1+y2[i])) {
					t.Fatalf("gemv64 n=%d row %d: %v, Go %v", n, i, y1[i], y2[i])
				}
			}
		}
		for _, S := range []int{1, 3, 5, 64} {
			w, e := make([]float32, S), make([]float32, S*n)
			for i := range w {
				w[i] = rng.Float32()
			}
			for i := range e {
				e[i] = rng.Float32()
			}
			q1, q2 := make([]float32, n), make([]float32, n)
			q1 = append(q1, 7) // a sentinel past K must stay untouched
			gemvT(q1, w, e, S, n)
			gemvTGo(q2, w, e, S, n)
			for i := range q2 {
				if !(math.Abs(float64(q1[i]-q2[i])) <= 1e-5*float64(S)) {
					t.Fatalf("gemvT S=%d n=%d at %d: %v, Go %v", S, n, i, q1[i], q2[i])
				}
			}
			if q1[n] != 7 {
				t.Fatalf("gemvT wrote past K")
			}
		}
	}
}
