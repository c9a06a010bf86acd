package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// Tests written to kill surviving mutants of info.go, absorbing.go and
// uniform.go.

func TestNewInfoAbsorbingArgs(t *testing.T) {
	if _, err := NewInfoAbsorbing(2, 1, []float64{1, 1}, nil); err != nil {
		t.Errorf("K = 2: %v", err)
	}
	for _, c := range []struct {
		K    int
		mask int32
		w    []float64
	}{
		{1, 0, []float64{1}},
		{3, 3, []float64{1, 1, 1}},
		{3, -1, []float64{1, 1, 1}},
		{3, 2, []float64{0, 1, 1}},
		{3, 2, []float64{1, math.Inf(1), 1}},
		{3, 2, []float64{1, 1}},
	} {
		if _, err := NewInfoAbsorbing(c.K, c.mask, c.w, nil); err == nil {
			t.Errorf("NewInfoAbsorbing(%d, %d, %v) accepted", c.K, c.mask, c.w)
		}
	}
}

func TestInfoAbsorbingPosteriorClosedForm(t *testing.T) {
	// K = 3, MASK = 2, rate of token 1 is 2; Linear, s = 0.4, t = 0.6.
	// a(0,s) = 0.6² = 0.36, a(s,t) = (0.4/0.6)² = 4/9. x0 = 1, xt = MASK:
	// q(x_s | x_t, x_0) ∝ Q(s,t)[x_s, M]·Q̄(0,s)[1, x_s]: x_s = 1:
	// (1 − 4/9)·0.36 = 0.2; x_s = M: 1·0.64. Normalised: (0, 0.2, 0.64)/0.84.
	k, err := NewInfoAbsorbing(3, 2, []float64{1, 2, 1}, Linear{})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 3)
	if err := k.Posterior(dst, []float32{0, 0, 1}, []float32{0, 1, 0}, 0.4, 0.6); err != nil {
		t.Fatal(err)
	}
	for v, w := range []float64{0, 0.2 / 0.84, 0.64 / 0.84} {
		if !(math.Abs(float64(dst[v])-w) <= 1e-6) {
			t.Fatalf("posterior %v, want [0 %v %v]", dst, 0.2/0.84, 0.64/0.84)
		}
	}
}

func TestSamplersFullyCorrupted(t *testing.T) {
	// Linear at t = 1: α = 0, so every token is masked (absorbing kernels)
	// or redrawn (uniform), even when the uniform draw is exactly 0.
	ab, _ := NewAbsorbing(3, 2, Linear{})
	ia, _ := NewInfoAbsorbing(3, 2, []float64{1, 2, 1}, Linear{})
	dst := make([]int32, 2)
	for name, s := range map[string]ForwardSampler{"Absorbing": ab, "InfoAbsorbing": ia} {
		s.Sample(dst, []int32{0, 1}, 1, rand.New(zeroSource{}))
		if dst[0] != 2 || dst[1] != 2 {
			t.Errorf("%s: %v, want [2 2]", name, dst)
		}
	}
	// Uniform over 3 tokens: the source gives Float64 = 0, then a value for
	// the redraw IntN(3) (computed here with the library generator; a source
	// of zeros only would make IntN reject forever).
	un, _ := NewUniform(3, soft.NoToken, Linear{})
	vals := []uint64{0, 0x9E3779B97F4A7C15}
	rr := rand.New(&scriptSource{vals: vals})
	rr.Float64()
	y := int32(rr.IntN(3))
	x0 := (y + 1) % 3
	un.Sample(dst[:1], []int32{x0}, 1, rand.New(&scriptSource{vals: vals}))
	if dst[0] != y {
		t.Errorf("Uniform: %d, want the redraw %d", dst[0], y)
	}
}

func TestWeightsUnnormalised(t *testing.T) {
	// p = (2, 6) is (¼, ¾) unnormalised. Information weights, γ = 1:
	// w ∝ −log p̂ = (ln 4, ln 4/3), divided by Σ p̂ w.
	dst := make([]float64, 2)
	if err := InformationWeights(dst, []float64{2, 6}, 1); err != nil {
		t.Fatal(err)
	}
	h := []float64{math.Log(4), math.Log(4.0 / 3)}
	mean := 0.25*h[0] + 0.75*h[1]
	for v := range h {
		if !(math.Abs(dst[v]-h[v]/mean) <= 1e-12) {
			t.Fatalf("InformationWeights = %v, want %v", dst, []float64{h[0] / mean, h[1] / mean})
		}
	}
	// One token holds all the mass: −log 1 = 0, every rate is 1.
	dst = make([]float64, 3)
	if err := InformationWeights(dst, []float64{0, 5, 0}, 1); err != nil {
		t.Fatal(err)
	}
	for _, x := range dst {
		if x != 1 {
			t.Fatalf("single token: %v, want all 1", dst)
		}
	}
}

func TestCARTWeightsDefaultP(t *testing.T) {
	// masked = F T T F, p = 0.3 (p ≤ 0 means the default): w_1 = ½(p + p·q),
	// w_2 = ½(p·q + p) with q = 0.7, so both are 0.255.
	masked := []bool{false, true, true, false}
	for _, p := range []float64{0, -1, DefaultCARTP} {
		dst := make([]float64, 4)
		CARTWeights(dst, masked, p)
		for i, w := range []float64{0, 0.255, 0.255, 0} {
			if !(math.Abs(dst[i]-w) <= 1e-12) {
				t.Fatalf("p=%v: %v, want [0 0.255 0.255 0]", p, dst)
			}
		}
	}
}
