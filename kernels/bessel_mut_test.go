package kernels

import (
	"math"
	"testing"
)

// Tests written to kill surviving mutants of bessel.go.

// besselRef returns e^{−z}I_k(z) = (1/π)∫_0^π e^{z(cos θ − 1)} cos kθ dθ by
// the trapezoid rule (spectrally accurate for this periodic integrand).
func besselRef(k int, z float64) float64 {
	const m = 600
	var s float64
	for i := 0; i <= m; i++ {
		th := math.Pi * float64(i) / m
		f := math.Exp(z*(math.Cos(th)-1)) * math.Cos(float64(k)*th)
		if i == 0 || i == m {
			f /= 2
		}
		s += f
	}
	return s / m
}

func TestChebExpCoeffsReference(t *testing.T) {
	if c := chebExpCoeffs(nil, 0, 1e-10); len(c) != 1 || c[0] != 1 {
		t.Fatalf("z = 0: %v, want [1]", c)
	}
	for _, z := range []float64{0.5, 3, 30, 120} {
		c := chebExpCoeffs(nil, z, 1e-14)
		for k, x := range c {
			want := besselRef(k, z)
			if k > 0 {
				want *= 2
			}
			if !(math.Abs(x-want) <= 1e-13) {
				t.Fatalf("z=%v: c_%d = %v, want %v", z, k, x, want)
			}
		}
		// The dropped tail is at most tol (the reference tail, with slack
		// for the quadrature).
		var tail float64
		for k := len(c); k < len(c)+60; k++ {
			tail += 2 * besselRef(k, z)
		}
		if !(tail <= 1.5e-14) {
			t.Fatalf("z=%v: %d terms leave a tail of %v", z, len(c), tail)
		}
	}
	// A tolerance ≥ 1 keeps only c_0.
	if c := chebExpCoeffs(nil, 5, 2); len(c) != 1 {
		t.Fatalf("tol 2: %d terms, want 1", len(c))
	}
	// Σ_{k>N} c_k ≤ tol with equality allowed: tol = the last coefficient of
	// the untruncated series drops exactly that one.
	full := chebExpCoeffs(nil, 5, 0)
	last := full[len(full)-1]
	if !(last > 0) {
		t.Fatalf("last coefficient %v", last)
	}
	if c := chebExpCoeffs(nil, 5, last); len(c) != len(full)-1 {
		t.Fatalf("tol = c_N: %d terms, want %d", len(c), len(full)-1)
	}
}
