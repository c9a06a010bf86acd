package draw

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

func TestLog32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		x := float32(math.Exp(rng.Float64()*170 - 85))
		got, want := log32(x), math.Log(float64(x))
		if !(math.Abs(got-want) <= 2e-7) {
			t.Fatalf("log32(%v) = %v, want %v", x, got, want)
		}
	}
	for _, x := range []float32{1, 2, 0.5, math.Sqrt2, 0x1p-126, math.MaxFloat32} {
		if got, want := log32(x), math.Log(float64(x)); !(math.Abs(got-want) <= 2e-7) {
			t.Fatalf("log32(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestEntropyMatchesSoft(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float32, 1000)
	for range 100 {
		var z float64
		for v := range p {
			p[v] = float32(rng.ExpFloat64())
			if rng.IntN(4) == 0 {
				p[v] = 0
			}
			z += float64(p[v])
		}
		for v := range p {
			p[v] = float32(float64(p[v]) / z)
		}
		if got, want := Entropy(p), soft.Entropy(p); !(math.Abs(got-want) <= 1e-6) {
			t.Fatalf("entropy %v, soft.Entropy %v", got, want)
		}
	}
}

func BenchmarkEntropy(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float32, 1000)
	var z float64
	for v := range p[:999] {
		p[v] = float32(rng.ExpFloat64())
		z += float64(p[v])
	}
	for v := range p {
		p[v] = float32(float64(p[v]) / z)
	}
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			Entropy(p)
		}
	})
	b.Run("soft.Entropy", func(b *testing.B) {
		for b.Loop() {
			soft.Entropy(p)
		}
	})
}
