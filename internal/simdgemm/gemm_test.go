package simdgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestMicroGo compares Micro6x16Go with the float64 sums computed in this
// test; float32 summation of n terms errs by at most n·2⁻²⁴·Σ|a·b|.
func TestMicroGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 5, 64, 300} {
		a, b := randF32(rng, 6*n), randF32(rng, 16*n)
		var out [96]float32
		Micro6x16Go(a, b, n, &out)
		for r := 0; r < 6; r++ {
			for c := 0; c < 16; c++ {
				want, abs := 0.0, 0.0
				for d := 0; d < n; d++ {
					p := float64(a[6*d+r]) * float64(b[16*d+c])
					want += p
					abs += math.Abs(p)
				}
				if got := float64(out[r*16+c]); !(math.Abs(got-want) <= float64(n)*0x1p-24*abs) {
					t.Errorf("n=%d r=%d c=%d: got %v, want %v", n, r, c, got, want)
				}
			}
		}
	}
}

// TestMicroVec compares the vector micro-kernel with Micro6x16Go on random
// inputs. Both sum in the same order; the vector kernel fuses each
// multiply-add (one rounding instead of two), so the totals differ by at most
// 2n·2⁻²⁴·Σ_d|a_d·b_d| (each side's float32 rounding error is bounded by
// n·2⁻²⁴·Σ|a·b|), the tolerance used per entry.
func TestMicroVec(t *testing.T) {
	if !Vector {
		t.Skip("no vector kernel in this build (needs GOEXPERIMENT=simd, amd64, AVX2+FMA)")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 33, 256} {
		a, b := randF32(rng, 6*n), randF32(rng, 16*n)
		var x, y [96]float32
		Micro6x16Vec(a, b, n, &x)
		Micro6x16Go(a, b, n, &y)
		for r := 0; r < 6; r++ {
			for c := 0; c < 16; c++ {
				abs := 0.0
				for d := 0; d < n; d++ {
					abs += math.Abs(float64(a[6*d+r]) * float64(b[16*d+c]))
				}
				tol := 2 * float64(n) * 0x1p-24 * abs
				if got, want := float64(x[r*16+c]), float64(y[r*16+c]); !(math.Abs(got-want) <= tol) {
					t.Errorf("n=%d r=%d c=%d: vector %v, Go %v (tol %g)", n, r, c, got, want, tol)
				}
			}
		}
	}
}

// BenchmarkMicro6x16 times the micro-kernel in use (vector or Go) at depth
// 256, the kNN build's.
func BenchmarkMicro6x16(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 256
	a, c := randF32(rng, 6*n), randF32(rng, 16*n)
	var out [96]float32
	b.ReportAllocs()
	for b.Loop() {
		Micro6x16(a, c, n, &out)
	}
	b.ReportMetric(2*96*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
