package soft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpShiftScale checks ExpShift against math.Exp entry by entry and its
// float64 sum against the sum of the entries (within the 9e-7 relative bound
// of the float32-lane chunks that the AVX2 kernel folds into float64,
// docs/soft.md), and Scale against a plain
// product. The 2e-6 relative bound is the exponential's documented accuracy
// (docs/soft.md: about 1e-6 + |z|·6e-8 for z ≥ −20 here).
func TestExpShiftScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 17, 1000} {
		src := make([]float32, n)
		m := float32(math.Inf(-1))
		for i := range src {
			src[i] = float32(rng.NormFloat64() * 5)
			m = max(m, src[i])
		}
		dst := make([]float32, n)
		sum := ExpShift(dst, src, m)
		var want float64
		for i, x := range src {
			w := math.Exp(float64(x) - float64(m))
			if !(math.Abs(float64(dst[i])-w) <= 2e-6*w+1e-30) {
				t.Fatalf("n=%d: exp(%v−%v) = %v, want %v", n, x, m, dst[i], w)
			}
			want += float64(dst[i])
		}
		if !(math.Abs(sum-want) <= 9e-7*want) {
			t.Fatalf("n=%d: sum %v, want %v", n, sum, want)
		}
		Scale(dst, dst, 2)
		for i, x := range src {
			w := 2 * math.Exp(float64(x)-float64(m))
			if !(math.Abs(float64(dst[i])-w) <= 4e-6*w+1e-30) {
				t.Fatalf("n=%d: Scale: %v, want %v", n, dst[i], w)
			}
		}
	}
	if got := ExpShift([]float32{0}, []float32{-200}, 0); got != 0 {
		t.Fatalf("exp(−200) sum = %v, want 0 (underflow to 0)", got)
	}
}

// TestCheckArgmax compares CheckArgmax with ValidateRow and Argmax on valid
// rows (ties included), and on rows with one bad entry at every position of
// a row long enough for the vector loop, its chunk boundary and the tail.
func TestCheckArgmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 8, 9, 130, 1001} {
		p := make([]float32, n)
		var s float64
		for i := range p {
			p[i] = float32(rng.IntN(5)) // many ties, zeros included
			s += float64(p[i])
		}
		if s == 0 {
			p[n-1], s = 1, 1
		}
		for i := range p {
			p[i] = float32(float64(p[i]) / s)
		}
		am, err := CheckArgmax(p)
		if err != nil || am != Argmax(p) {
			t.Fatalf("n=%d: CheckArgmax = %d, %v; want %d, nil", n, am, err, Argmax(p))
		}
		for j := 0; j < n; j++ {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1e-3} {
				q := append([]float32(nil), p...)
				q[j] = bad
				_, err := CheckArgmax(q)
				want := ValidateRow(q)
				if err == nil || want == nil || err.Error() != want.Error() {
					t.Fatalf("n=%d, entry %d = %v: error %v, want %v", n, j, bad, err, want)
				}
			}
		}
		q := append([]float32(nil), p...)
		q[0] += 0.01 // sum off by 1e-2
		if _, err := CheckArgmax(q); err == nil {
			t.Fatalf("n=%d: unnormalised row accepted", n)
		}
	}
}
