package decode_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// zeroSource is a random source whose every variate is 0: rand.Float64
// returns 0, the smallest value it can return, so every "u < p" with p > 0
// holds.
type zeroSource struct{}

func (zeroSource) Uint64() uint64 { return 0 }

// tinyRates is a kernel whose integrated forward rates are 2⁻¹⁴⁹ (the
// smallest positive float32) wherever the wrapped kernel's are positive.
type tinyRates struct{ decode.CTMCKernel }

func (k tinyRates) RatesInto(dst []float32, x int32, s, t float64) {
	k.CTMCKernel.RatesInto(dst, x, s, t)
	for y, q := range dst {
		if q > 0 {
			dst[y] = 0x1p-149
		}
	}
}

// zeroMarginal is a kernel whose marginal gives state col probability 0
// (inconsistent with its likelihoods, which still reach col).
type zeroMarginal struct {
	decode.CTMCKernel
	col int
}

func (k zeroMarginal) Marginal(dst, src *soft.Dense, t float64) {
	k.CTMCKernel.Marginal(dst, src, t)
	for i := range dst.L {
		dst.Row(i)[k.col] = 0
	}
}

// TestCTMCUnrepresentableRates: the absorbing kernel (log-linear schedule,
// α(1) = 10⁻³) with every rate out of MASK replaced by 2⁻¹⁴⁹. At step 0
// (t = 1, every position in MASK, uniform evidence, belief w = (0.75,
// 0.25)) the reverse rate to token y is λ(y) = 2⁻¹⁴⁹·m(y)/m(MASK) with
// m(y) = α(1)·w(y) and m(MASK) = 1 − α(1): about 2⁻¹⁴⁹·7.5·10⁻⁴, positive in
// float64 (so the jump probability is positive) but 0 in float32. With a
// source whose variates are 0 the jump test u < p passes, yet no target is
// representable: the position must stay (drawing from an all-zero row
// would panic). The last step then draws x_0 from the beliefs (u = 0:
// token 0). Both rules.
func TestCTMCUnrepresentableRates(t *testing.T) {
	v := tokVocab(t, 2)
	ab, err := kernels.NewAbsorbing(v.Size(), v.Mask(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []decode.CTMCRule{decode.CTMCTauLeap, decode.CTMCEuler} {
		alg := decode.KernelCTMC{Kernel: tinyRates{ab}, Rule: rule}
		res, err := decode.Generate(context.Background(), product([]float32{0.75, 0.25}, []float32{0.75, 0.25}), v, 2, alg,
			decode.Options{Steps: 2, Rand: rand.New(zeroSource{})})
		if err != nil {
			t.Fatalf("%v: %v", rule, err)
		}
		if res.Tokens[0] != 0 || res.Tokens[1] != 0 || res.NFE != 2 {
			t.Errorf("%v: tokens %v NFE %d, want [0 0] and 2", rule, res.Tokens, res.NFE)
		}
	}
}

// TestCTMCZeroMarginal: a kernel whose marginal gives the current state
// (MASK, at step 0) probability 0 is an error naming the position and
// saying so, rather than a division by zero (an infinite or NaN rate).
func TestCTMCZeroMarginal(t *testing.T) {
	v := tokVocab(t, 2)
	ab, err := kernels.NewAbsorbing(v.Size(), v.Mask(), nil)
	if err != nil {
		t.Fatal(err)
	}
	alg := decode.KernelCTMC{Kernel: zeroMarginal{ab, int(v.Mask())}}
	_, err = decode.Generate(context.Background(), product([]float32{0.75, 0.25}, []float32{0.75, 0.25}), v, 2, alg, decode.Options{Steps: 2})
	if err == nil || !strings.Contains(err.Error(), "position 0") || !strings.Contains(err.Error(), "probability 0") {
		t.Fatalf("error %v, want one naming position 0 and probability 0", err)
	}
}

// halfSource is a random source whose every variate is 1/2
// (rand.Float64 = (Uint64 mod 2⁵³)/2⁵³).
type halfSource struct{}

func (halfSource) Uint64() uint64 { return 1 << 52 }

// exactRates is a kernel with integrated rates 1/2 out of MASK into each
// token and a marginal of (1/4, 1/4, 1/2) (tokens 0, 1, MASK) for every
// row, so that the reverse rates are exact binary fractions.
type exactRates struct{ decode.CTMCKernel }

func (k exactRates) RatesInto(dst []float32, x int32, s, t float64) {
	k.CTMCKernel.RatesInto(dst, x, s, t)
	for y, q := range dst {
		if q > 0 {
			dst[y] = 0.5
		}
	}
}

func (k exactRates) Marginal(dst, src *soft.Dense, t float64) {
	for i := range dst.L {
		copy(dst.Row(i), []float32{0.25, 0.25, 0.5})
	}
}

// TestCTMCEulerJumpBoundary: the Euler step jumps when u < p, strictly, so
// that P(jump) = p exactly for rand.Float64's variates k/2⁵³ and any p on
// that grid. Step 0 of 2 from MASK: λ(y) = (1/2)·(1/4)/(1/2) = 1/4 for both
// tokens, Λ = p = 1/2 exactly; with every variate 1/2 the position stays
// (1/2 < 1/2 fails). The last step sees uniform evidence and draws x_0
// from the belief (0.75, 0.25) at u = 1/2: token 0. Had it jumped (to
// token 1: 1/2·Λ = 1/4 is not < λ(0) = 1/4), the last step's evidence would
// be token 1, and so the token.
func TestCTMCEulerJumpBoundary(t *testing.T) {
	v := tokVocab(t, 2)
	ab, err := kernels.NewAbsorbing(v.Size(), v.Mask(), nil)
	if err != nil {
		t.Fatal(err)
	}
	alg := decode.KernelCTMC{Kernel: exactRates{ab}, Rule: decode.CTMCEuler}
	res, err := decode.Generate(context.Background(), product([]float32{0.75, 0.25}), v, 1, alg,
		decode.Options{Steps: 2, Rand: rand.New(halfSource{})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tokens[0] != 0 {
		t.Errorf("token %d, want 0 (no jump at u = p = 1/2)", res.Tokens[0])
	}
}
