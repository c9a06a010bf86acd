package soft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxFinite: the maximum found by a plain loop here, and the flag false
// for a NaN, +Inf or −Inf (and a subnormal or ±0 accepted) at every offset
// of rows around the vector widths, in whichever kernel the build runs.
func TestMaxFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	if m, ok := MaxFinite(nil); !ok || !math.IsInf(float64(m), -1) {
		t.Fatalf("empty: %v %v", m, ok)
	}
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 33, 1000} {
		x := make([]float32, n)
		for j := range x {
			x[j] = float32(rng.NormFloat64() * 10)
		}
		x[rng.IntN(n)] = 0x1p-140 // subnormal
		want := x[0]
		for _, v := range x {
			if v > want {
				want = v
			}
		}
		if m, ok := MaxFinite(x); !ok || m != want {
			t.Fatalf("n=%d: %v %v, want %v true", n, m, ok, want)
		}
		for j := range n {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				old := x[j]
				x[j] = bad
				if _, ok := MaxFinite(x); ok {
					t.Fatalf("n=%d: %v at %d accepted", n, bad, j)
				}
				x[j] = old
			}
		}
	}
}
