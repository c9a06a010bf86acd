package decode_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// table2 is the joint scorer of a law over 2 binary positions, index
// 2·x_0 + x_1: p(00) = p(01) = p(10) = 0.2, p(11) = 0.4.
type table2 struct{}

var table2P = [4]float64{0.2, 0.2, 0.2, 0.4}

func (table2) LogProb(x []int32) (float64, error) {
	return math.Log(table2P[2*x[0]+x[1]]), nil
}

// skewedState is the end state with beliefs q = (0.8, 0.2) at both
// positions (a proposal far from the target: q(11) = 0.04 where
// p(11) = 0.4), no evidence, nothing committed, so the target π is p.
func skewedState(t *testing.T) *decode.FinalState {
	t.Helper()
	v := tokVocab(t, 2)
	bel := soft.NewDense(2, 3)
	copy(bel.Row(0), []float32{0.8, 0.2, 0})
	copy(bel.Row(1), []float32{0.8, 0.2, 0})
	st, err := decode.BeliefState(v, bel)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestFinalDecodersNonUniformProposal: the final decoders on a proposal
// q = (0.8, 0.2)² that disagrees with the target p (table2). Values by
// hand:
//
//   - MBR under p: the expected Hamming agreement of y is
//     Σ_i P_p(x_i = y_i)/2, with P_p(x_i = 1) = 0.6 at both positions
//     (0.2 + 0.4), so 11 scores 0.6, 01 and 10 0.5, 00 0.4: MBR returns 11.
//     Without the 1/q correction the candidates' law is ∝ p·q = (0.128,
//     0.032, 0.032, 0.016)/0.208, whose marginals P(x_i = 1) = 0.231 make
//     00 the answer. With N = 4000 candidates the self-normalised weights
//     p/q (0.3125, 1.25, 1.25, 10; E_q[w²] = 4.56, effective sample size
//     ≈ 877) estimate the marginals to ±0.017, so the 0.1 margin is six
//     standard errors; Score is 0.6 ± 0.05.
//   - IR at N = 1000 draws 2000 outputs whose counts pass a chi-square
//     test against p at level 10⁻⁴ (df 3; the bias of self-normalised
//     resampling is O(E_q[w²]/N) ≈ 0.5% relative); without the correction
//     the law would be p·q normalised (0.615 on 00).
//   - Beam (Width 4, K 2, BeliefWeight 0) maximises log p: 11, Score
//     log 0.4. With BeliefWeight 1 it maximises log p + log q: 00
//     (0.2·0.64 = 0.128, against 0.032 for 01 and 10 and 0.016 for 11),
//     Score log 0.128.
func TestFinalDecodersNonUniformProposal(t *testing.T) {
	st := skewedState(t)
	ctx := context.Background()
	for seed := range uint64(5) {
		d, err := decode.MBR{N: 4000}.Decode(ctx, st, table2{}, rand.New(rand.NewPCG(seed, 77)))
		if err != nil {
			t.Fatal(err)
		}
		if d.Tokens[0] != 1 || d.Tokens[1] != 1 || !within(d.Score, 0.6, 0.05) {
			t.Fatalf("seed %d: MBR returned %v (score %v), want [1 1] (expected agreement 0.6)", seed, d.Tokens, d.Score)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 2000
	var counts [4]int
	for range n {
		d, err := decode.ImportanceResample{N: 1000}.Decode(ctx, st, table2{}, rng)
		if err != nil {
			t.Fatal(err)
		}
		counts[2*d.Tokens[0]+d.Tokens[1]]++
	}
	x2 := chiSquareTable(counts[:], table2P[:], n)
	if crit := chiCrit(3); !(x2 <= crit) {
		t.Fatalf("IR: chi-square %.1f > %.2f, counts %v for p %v", x2, crit, counts, table2P)
	}
	for _, c := range []struct {
		w     float64
		want  [2]int32
		score float64
	}{{0, [2]int32{1, 1}, math.Log(0.4)}, {1, [2]int32{0, 0}, math.Log(0.2 * 0.64)}} {
		d, err := decode.Beam{Width: 4, K: 2, BeliefWeight: c.w}.Decode(ctx, st, table2{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Tokens[0] != c.want[0] || d.Tokens[1] != c.want[1] || !within(d.Score, c.score, 1e-6) {
			t.Fatalf("beam (belief weight %v): %v score %v, want %v score %v", c.w, d.Tokens, d.Score, c.want, c.score)
		}
	}
}
