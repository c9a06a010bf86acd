package decode_test

// Chi-square exactness of the step-count samplers (MDLM and the four ReMDM
// schedules) at many steps, on an enumerable joint law whose positions are
// strongly correlated, with the exact denoiser of that law (jointTable in
// exact_test.go).

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
)

// corr3 is a joint law of 3 binary positions, index Σ_i x_i 2^i, that puts
// 0.8 on "all equal": p(000) = p(111) = 0.40 and 0.2 spread over the other
// six. Its marginals are P(x_0 = 1) = p1+p3+p5+p7 = 0.05+0.04+0.03+0.40 =
// 0.52, P(x_1 = 1) = p2+p3+p6+p7 = 0.03+0.04+0.03+0.40 = 0.50, P(x_2 = 1) =
// p4+p5+p6+p7 = 0.02+0.03+0.03+0.40 = 0.48, so the product of the marginals
// gives p(000) = 0.48·0.50·0.52 ≈ 0.125, not 0.40: a sampler that draws two
// positions from stale or independent beliefs is far from this law.
var corr3 = []float64{0.40, 0.05, 0.03, 0.04, 0.02, 0.03, 0.03, 0.40}

// chiSquareTable is Pearson's statistic of counts (by index) against the
// probabilities p over n draws, summed in index order; df = len(p) − 1.
func chiSquareTable(counts []int, p []float64, n int) float64 {
	var x2 float64
	for j, pj := range p {
		e := float64(n) * pj
		d := float64(counts[j]) - e
		x2 += d * d / e
	}
	return x2
}

// TestManyStepExactness: with the exact denoiser, MDLM and ReMDM draw from
// the joint law in the limit of many steps, where at most one position
// changes per step (each step then draws one position from its exact
// conditional given the others: the chain rule for MDLM; for ReMDM, a
// re-mask followed later by a redraw from the exact conditional is a Gibbs
// move, which keeps the law). On a uniform grid of S steps with α linear in
// t, two of the 3 positions unmask in the same step with probability about
// 3/S, drawing from the product of their conditionals: at S = 400 (MDLM: 1000, cheap with its cache) that
// touches under 1% of the runs, a shift of the cell probabilities of a few
// 10⁻³, a noncentrality of the statistic of about n·Σ Δp²/p < 1 at
// n = 3000. The test is Pearson's chi-square at level 10⁻⁴ (df 7, critical
// value 29.88 from chiCrit), fixed seeds.
//
// Mutations caught (each applied by hand to the code and the test seen to
// fail): MDLM's cache always on (the denoiser called only at the first
// step: every position drawn from the first-step marginals, statistic
// about 6100); ReMDM denoising only at the first step (stale beliefs: all
// four schedules fail). Not caught, by design: mutations of ReMDM's timing
// (σ ignored, the re-mask compensation dropped from the move probability)
// leave the law unchanged in the many-step limit, where every move is a
// draw from an exact conditional; TestReMDMRates catches those.
func TestManyStepExactness(t *testing.T) {
	v := tokVocab(t, 2)
	den := jointTable{p: corr3, n: 3, k: 2}
	n := 3000
	if testing.Short() {
		n = 1500
	}
	for ci, tc := range []struct {
		alg   decode.Algorithm
		steps int
	}{
		{decode.MDLM{}, 1000},
		{decode.ReMDM{Strategy: decode.ReMDMCap, Eta: 0.05}, 400},
		{decode.ReMDM{Strategy: decode.ReMDMRescale, Eta: 1}, 400},
		{decode.ReMDM{Strategy: decode.ReMDMConf}, 400},
		{decode.ReMDM{Strategy: decode.ReMDMLoop}, 400},
	} {
		t.Run(tc.alg.Name(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, uint64(ci)))
			counts := make([]int, len(corr3))
			for range n {
				res, err := decode.Generate(context.Background(), den, v, 3, tc.alg, decode.Options{Steps: tc.steps, Rand: rng, NoEntropy: true})
				if err != nil {
					t.Fatal(err)
				}
				j := 0
				for i := 2; i >= 0; i-- {
					x := res.Tokens[i]
					if x != 0 && x != 1 {
						t.Fatalf("output %v holds a token outside {0, 1}", res.Tokens)
					}
					j = 2*j + int(x)
				}
				counts[j]++
			}
			x2 := chiSquareTable(counts, corr3, n)
			if crit := chiCrit(len(corr3) - 1); !(x2 <= crit) {
				t.Fatalf("chi-square %.1f > %.2f (df %d): counts %v for p %v", x2, crit, len(corr3)-1, counts, corr3)
			}
			t.Logf("chi-square %.1f, counts %v", x2, counts)
		})
	}
}
