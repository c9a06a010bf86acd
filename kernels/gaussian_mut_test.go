package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Tests written to kill surviving mutants of gaussian.go.

// constSource is a rand.Source returning one fixed value: with 1<<52,
// Float64() = 2^52/2^53 = 0.5 exactly.
type constSource uint64

func (c constSource) Uint64() uint64 { return uint64(c) }

func TestGaussianNoise(t *testing.T) {
	g, err := NewGaussian(3, Linear{})
	if err != nil {
		t.Fatal(err)
	}
	// Linear at t = 0.4: α = 0.6, σ = √(1 − 0.36) = 0.8.
	a, s := g.Noise(0.4)
	if !(math.Abs(a-0.6) <= 1e-12 && math.Abs(s-0.8) <= 1e-12) {
		t.Fatalf("Noise(0.4) = %v, %v, want 0.6, 0.8", a, s)
	}
}

func TestGaussianPosteriorCases(t *testing.T) {
	g, err := NewGaussian(4, Linear{})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 4)
	// σ = 0 (t = 0): the prior restricted to the argmax of y over tokens the
	// prior allows; token 1 has the largest y but prior 0, so the argmax set
	// is {2, 3} and the posterior is (0, 0, 0.3, 0.5)/0.8.
	if err := g.Posterior(dst, []float32{0.1, 5, 0.9, 0.9}, []float32{0.2, 0, 0.3, 0.5}, 0); err != nil {
		t.Fatal(err)
	}
	for v, w := range []float64{0, 0, 0.375, 0.625} {
		if !(math.Abs(float64(dst[v])-w) <= 1e-6) {
			t.Fatalf("σ=0 posterior %v, want [0 0 0.375 0.625]", dst)
		}
	}
	// An all-zero prior is an error.
	if err := g.Posterior(dst, []float32{0, 0, 0, 0}, []float32{0, 0, 0, 0}, 0.5); err == nil {
		t.Fatal("all-zero prior accepted")
	}
	// t = 0.5: α = 0.5, σ² = 0.75; an infinite observation at a token the
	// prior excludes is ignored: p ∝ 0.5·exp(0.5·y/0.75) on tokens 0, 2, 3.
	y := []float32{0.3, float32(math.Inf(1)), 0.1, -0.6}
	prior := []float32{0.25, 0, 0.25, 0.5}
	if err := g.Posterior(dst, y, prior, 0.5); err != nil {
		t.Fatal(err)
	}
	checkSoftmax(t, dst, prior, y, 0.5/0.75)
	// Low noise, t = 1e-3: α = 0.999, α/σ² ≈ 500, so unnormalised weights
	// would overflow; the log-sum-exp result is the same softmax.
	y = []float32{1, 0.2, 0.9, 0.95}
	prior = []float32{0.25, 0.25, 0.25, 0.25}
	if err := g.Posterior(dst, y, prior, 1e-3); err != nil {
		t.Fatal(err)
	}
	a := 0.999
	checkSoftmax(t, dst, prior, y, a/(1-a*a))
}

// checkSoftmax checks dst ∝ prior·exp(c·y) over tokens with prior > 0,
// computing the weights relative to the largest exponent.
func checkSoftmax(t *testing.T, dst, prior, y []float32, c float64) {
	t.Helper()
	top := math.Inf(-1)
	for v := range y {
		if prior[v] > 0 {
			top = math.Max(top, math.Log(float64(prior[v]))+c*float64(y[v]))
		}
	}
	w := make([]float64, len(y))
	var z float64
	for v := range y {
		if prior[v] > 0 {
			w[v] = math.Exp(math.Log(float64(prior[v])) + c*float64(y[v]) - top)
			z += w[v]
		}
	}
	for v := range w {
		if !(math.Abs(float64(dst[v])-w[v]/z) <= 1e-6) {
			t.Fatalf("posterior %v, want %v/%v", dst, w, z)
		}
	}
}

func TestGaussianMutualInfoCases(t *testing.T) {
	// σ = 0 (t = 0): log p(x|y) − log p0(x) = −log p0(x) exactly.
	g2, _ := NewGaussian(2, Linear{})
	rng := rand.New(rand.NewPCG(3, 4))
	// Uniform p0 over 2 tokens, n = 3: every draw gives log 2, the standard
	// error is 0.
	m, se := g2.MutualInfo([]float32{0.5, 0.5}, 0, 3, rng)
	if !(math.Abs(m-math.Ln2) <= 1e-12 && math.Abs(se) <= 1e-6) {
		t.Fatalf("uniform, σ=0, n=3: %v ± %v, want ln 2 ± 0", m, se)
	}
	// n = 1: no standard error.
	m, se = g2.MutualInfo([]float32{0.5, 0.5}, 0, 1, rng)
	if !(math.Abs(m-math.Ln2) <= 1e-12 && se == 0) {
		t.Fatalf("n=1: %v ± %v, want ln 2 ± 0", m, se)
	}
	// Two-valued p0 = (1/4, 3/4), σ = 0, n = 40: each draw is a = ln 4 or
	// b = ln(4/3); with f the fraction of a's, mean = f·a + (1−f)·b and the
	// standard error is √(f(1−f)(a−b)²/(n−1)).
	n := 40
	m, se = g2.MutualInfo([]float32{0.25, 0.75}, 0, n, rng)
	av, bv := math.Log(4), math.Log(4.0/3)
	f := (m - bv) / (av - bv)
	cnt := f * float64(n)
	if !(math.Abs(cnt-math.Round(cnt)) <= 1e-9 && cnt >= 1 && cnt <= float64(n-1)) {
		t.Fatalf("mean %v is not a mix of %d draws of %v and %v", m, n, av, bv)
	}
	want := math.Sqrt(f * (1 - f) * (av - bv) * (av - bv) / float64(n-1))
	if !(math.Abs(se-want) <= 1e-9) {
		t.Fatalf("stderr %v, want %v", se, want)
	}
	// Nearly noiseless (t = 1e-4: α/σ² ≈ 5000): the posterior is a point
	// mass on x, so every draw gives log 3 up to e^{−thousands}; the
	// computation must not overflow.
	g3, _ := NewGaussian(3, Linear{})
	m, se = g3.MutualInfo([]float32{1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-4, 20, rng)
	if !(math.Abs(m-math.Log(3)) <= 1e-6 && math.Abs(se) <= 1e-6) {
		t.Fatalf("t=1e-4: %v ± %v, want ln 3 ± 0", m, se)
	}
}

func TestSampleF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	if v := sampleF32(rng, []float32{0, 0, 0}); v != -1 {
		t.Fatalf("no positive entry: %d, want -1", v)
	}
	// Mass 0.75 in total: u ≥ 0.75 falls back to the last positive entry
	// (1), never to the zero-mass token 2.
	cnt := [3]int{}
	for i := 0; i < 200; i++ {
		cnt[sampleF32(rng, []float32{0.5, 0.25, 0})]++
	}
	if cnt[2] != 0 || cnt[1] < 80 {
		t.Fatalf("counts %v", cnt)
	}
	// Half-open cells [0, 0.5), [0.5, 1): u = 0.5 exactly picks token 1.
	if v := sampleF32(rand.New(constSource(1<<52)), []float32{0.5, 0.5}); v != 1 {
		t.Fatalf("u = 0.5: %d, want 1", v)
	}
}
