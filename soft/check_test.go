package soft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sumMinArgmaxOld is sumMinArgmaxGo as it was before the four
// accumulators, verbatim: the reference of TestSumMinArgmaxGoMatchesOld.
func sumMinArgmaxOld(p []float32) (float64, float32, int) {
	var s float64
	am := 0
	for i, x := range p {
		if !(x >= 0 && x <= math.MaxFloat32) {
			return math.NaN(), x, i
		}
		s += float64(x)
		if x > p[am] {
			am = i
		}
	}
	return s, 0, am
}

// TestSumMinArgmaxGoMatchesOld: the Go kernel gives the old kernel's
// argmax (first index of the maximum, with ties planted), a NaN sum
// exactly when the old one does (a NaN, infinite or negative entry at a
// random place; MaxFloat32 entries are valid), and otherwise a sum within 1e-13 relative of it (both are
// float64 sums of the same float32 values in different orders: each is
// within K·2^−53 ≈ 1e-13 of the exact sum for K ≤ 1000), so CheckArgmax
// accepts and rejects the same rows except within 1e-13 of the tolerance's
// edge.
func TestSumMinArgmaxGoMatchesOld(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), -1, float32(math.Inf(-1))}
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 63, 1000} {
		p := make([]float32, n)
		for trial := range 400 {
			for v := range p {
				p[v] = float32(rng.Float64())
				if trial%3 == 0 {
					p[v] = float32(rng.IntN(4)) // ties
				}
			}
			if trial%5 == 1 {
				p[rng.IntN(n)] = bad[trial%len(bad)]
			}
			if trial%5 == 2 { // the largest finite value is valid
				p[rng.IntN(n)] = math.MaxFloat32
			}
			s, _, am := sumMinArgmaxGo(p)
			so, _, amo := sumMinArgmaxOld(p)
			if math.IsNaN(so) != math.IsNaN(s) {
				t.Fatalf("n=%d trial %d: sum %v, before %v", n, trial, s, so)
			}
			if math.IsNaN(so) {
				continue
			}
			if am != amo {
				t.Fatalf("n=%d trial %d: argmax %d, before %d", n, trial, am, amo)
			}
			if !(math.Abs(s-so) <= 1e-13*so) {
				t.Fatalf("n=%d trial %d: sum %v, before %v", n, trial, s, so)
			}
		}
	}
}

// BenchmarkSumMinArgmax: the Go kernel and the old one-accumulator loop on
// a 1000-entry row.
func BenchmarkSumMinArgmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float32, 1000)
	for v := range p {
		p[v] = float32(rng.ExpFloat64() / 1000)
	}
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			sumMinArgmaxGo(p)
		}
	})
	b.Run("old", func(b *testing.B) {
		for b.Loop() {
			sumMinArgmaxOld(p)
		}
	})
}
