package remote

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNextNonzero: the kernel in use (AVX2 in a GOEXPERIMENT=simd build)
// and the Go one list exactly the entries that are not 0 — NaN and
// infinities included, −0 not — at every offset and length.
func TestNextNonzero(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	special := []float32{1, -2, float32(math.NaN()), float32(math.Inf(1)), float32(math.Copysign(0, -1)), 1e-45}
	for trial := 0; trial < 300; trial++ {
		p := make([]float32, rng.IntN(70))
		var want []int
		for i := range p {
			if rng.IntN(6) == 0 {
				p[i] = special[rng.IntN(len(special))]
				if p[i] != 0 || p[i] != p[i] {
					want = append(want, i)
				}
			}
		}
		for name, f := range map[string]func([]float32, int) int{"in use": nextNonzero, "go": nextNonzeroGo} {
			var got []int
			for j := f(p, 0); j < len(p); j = f(p, j+1) {
				got = append(got, j)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %v: nonzero at %v, want %v", name, p, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: %v: nonzero at %v, want %v", name, p, got, want)
				}
			}
		}
	}
}

// A hard evidence row of LLaDA's vocabulary (one nonzero entry), against
// copying the row: go test ./remote -bench NextNonzero (and with
// GOEXPERIMENT=simd).
func BenchmarkNextNonzero126k(b *testing.B) {
	p := make([]float32, 126464)
	p[70000] = 1
	b.SetBytes(int64(4 * len(p)))
	for b.Loop() {
		if j := nextNonzero(p, 0); j != 70000 || nextNonzero(p, j+1) != len(p) {
			b.Fatal(j)
		}
	}
}

func BenchmarkCopy126k(b *testing.B) {
	p, q := make([]float32, 126464), make([]float32, 126464)
	b.SetBytes(int64(4 * len(p)))
	for b.Loop() {
		copy(p, q)
	}
}
