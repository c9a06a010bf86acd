package hybrid

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExp32 compares exp32 with math.Exp on [−87, 0] (relative error
// bound 3e-7, from its doc comment) and at the ends of its range.
func TestExp32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	check := func(x float32) {
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if !(math.Abs(got-want) <= 3e-7*want) {
			t.Fatalf("exp32(%v) = %v, want %v", x, got, want)
		}
	}
	for range 200000 {
		check(-float32(rng.Float64() * 87))
	}
	for _, x := range []float32{0, -1e-30, -0.5 * math.Ln2, -math.Ln2, -1, -86.99} {
		check(x)
	}
	if exp32(-88) != 0 || exp32(float32(math.Inf(-1))) != 0 {
		t.Fatal("exp32 below −87 is not 0")
	}
}

func BenchmarkExp32(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = -float32(i) / 50
	}
	var s float32
	b.Run("exp32", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				s += exp32(x)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				s += float32(math.Exp(float64(x)))
			}
		}
	})
	_ = s
}
