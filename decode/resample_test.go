package decode_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// irState is the end state of a run on the sticky HMM (3 tokens, length 5)
// that has committed position 0 to token 1 and holds soft evidence at
// positions 2 (likelihood 0.6, 0.3, 0.1: a soft sampler's row, no MASK
// mass) and 4 (token mass 0.1, 0, 0.4 and MASK mass 0.5: likelihood 0.6,
// 0.5, 0.9), nothing at 1 and 3; its beliefs are the exact oracle's.
func irState(t *testing.T, h *oracle.HMM) *decode.FinalState {
	v := h.Vocab()
	L, K, m := h.Len(), v.Size(), v.Mask()
	ev := soft.AllMask(L, K, m)
	set := func(i int, row ...float32) { copy(ev.Row(i), row) }
	set(0, 0, 1, 0, 0)
	set(2, 0.6, 0.3, 0.1, 0)
	set(4, 0.1, 0, 0.4, 0.5)
	bel := soft.NewDense(L, K)
	if err := h.Denoise(bel, ev, 0); err != nil {
		t.Fatal(err)
	}
	x := []int32{1, m, m, m, m}
	return &decode.FinalState{Vocab: v, Beliefs: bel, Evidence: ev, Tokens: x}
}

// TestImportanceResampleTarget: importance resampling converges to the
// posterior of the end state, π(x) ∝ p(x)·ℓ_2(x_2)·ℓ_4(x_4) on x_0 = 1,
// computed here by enumerating the 81 completions with the HMM's LogProb
// and the likelihoods written in irState (not by decode). The total
// variation to π falls as the number of candidates grows (N = 1 draws from
// the product of π's marginals, TV 0.54; the chain's correlations make it a
// poor proposal, so convergence needs many candidates), and at N = 512 the
// counts of 5000 outputs pass a chi-square test at level 10⁻⁴ (cells of
// expected count below 5 pooled). Dropping the evidence likelihood from the
// weight (the target p(x | x_0 = 1)) fails it by far.
func TestImportanceResampleTarget(t *testing.T) {
	h := oracle.Sticky3()
	st := irState(t, h)
	lik := map[int][3]float64{2: {0.6, 0.3, 0.1}, 4: {0.6, 0.5, 0.9}}
	pi := map[[5]int32]float64{}
	var order [][5]int32 // the completions in a fixed order, for every sum
	var z float64
	for code := 0; code < 81; code++ {
		x := [5]int32{1}
		c := code
		for i := 1; i < 5; i++ {
			x[i] = int32(c % 3)
			c /= 3
		}
		lp, err := h.LogProb(x[:])
		if err != nil {
			t.Fatal(err)
		}
		w := math.Exp(lp) * lik[2][x[2]] * lik[4][x[4]]
		pi[x] = w
		order = append(order, x)
		z += w
	}
	for x := range pi {
		pi[x] /= z
	}
	const M = 5000
	draw := func(N int, seed uint64) map[[5]int32]int {
		rng := rand.New(rand.NewPCG(seed, 9))
		counts := map[[5]int32]int{}
		for range M {
			d, err := decode.ImportanceResample{N: N}.Decode(context.Background(), st, h, rng)
			if err != nil {
				t.Fatal(err)
			}
			if d.Tokens[0] != 1 {
				t.Fatalf("committed position changed: %v", d.Tokens)
			}
			counts[[5]int32(d.Tokens)]++
		}
		return counts
	}
	tv := func(counts map[[5]int32]int) float64 {
		var s float64
		for _, x := range order {
			s += math.Abs(float64(counts[x])/M - pi[x])
		}
		return s / 2
	}
	c1, c8, cN := draw(1, 1), draw(8, 2), draw(512, 3)
	t1, t8, tN := tv(c1), tv(c8), tv(cN)
	t.Logf("TV to π: N=1 %.3f, N=8 %.3f, N=512 %.3f", t1, t8, tN)
	if !(t1 > t8 && t8 > tN) {
		t.Errorf("TV does not fall with N: %.3f, %.3f, %.3f", t1, t8, tN)
	}
	// pooled chi-square at N = 512
	keys := append([][5]int32(nil), order...)
	sort.SliceStable(keys, func(a, b int) bool { return pi[keys[a]] > pi[keys[b]] })
	var chi, poolE, poolO float64
	df := -1
	for _, x := range keys {
		e := M * pi[x]
		if e < 5 {
			poolE += e
			poolO += float64(cN[x])
			continue
		}
		d := float64(cN[x]) - e
		chi += d * d / e
		df++
	}
	if poolE > 0 {
		chi += (poolO - poolE) * (poolO - poolE) / poolE
		df++
	}
	crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-4)
	if !(chi <= crit) {
		t.Errorf("N=512: χ² = %.1f above the 10⁻⁴ critical value %.1f (df %d)", chi, crit, df)
	}
}

// TestIRAfterSLUnbiased: stochastic localisation at 160 NFE (where its own
// discretisation bias is small) followed by importance resampling of 8
// candidates samples the sticky HMM without a likelihood bias: the mean
// −log p(x) of 6000 outputs is within 4 standard errors of the entropy
// H(p) (enumerated over the 243 sequences). Weighting by p/q alone, without
// the accumulated evidence, double-counts the prior and pulls the output
// towards likely sequences.
func TestIRAfterSLUnbiased(t *testing.T) {
	h := oracle.Sticky3()
	var H float64
	sup := enumerate(t, h)
	keys := make([]string, 0, len(sup))
	for k := range sup {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a fixed order of summation
	for _, k := range keys {
		H -= math.Exp(sup[k]) * sup[k]
	}
	const n = 6000
	var s, s2 float64
	rng := rand.New(rand.NewPCG(40, 8))
	for range n {
		res, err := decode.Generate(context.Background(), h, h.Vocab(), 5, decode.SoftSL{},
			decode.Options{Steps: 160, Rand: rng, Final: decode.ImportanceResample{N: 8}, Scorer: h})
		if err != nil {
			t.Fatal(err)
		}
		lp, err := h.LogProb(res.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		s += -lp
		s2 += lp * lp
	}
	mean := s / n
	se := math.Sqrt((s2/n - mean*mean) / n)
	gap := mean - H
	t.Logf("NLL gap %.4f ± %.4f (H = %.4f)", gap, se, H)
	if !(math.Abs(gap) <= 4*se) {
		t.Errorf("NLL gap %.4f, more than 4 standard errors (%.4f) from 0", gap, se)
	}
}
