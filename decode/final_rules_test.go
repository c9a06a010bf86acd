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

// only111 is the joint scorer of the law on 3 binary positions that puts
// all its mass on 111; graded111 gives every sequence a finite score,
// log p(x) = #ones(x)·log 10 − log 1331 (p ∝ 10^#ones, Z = (1 + 10)³).
type only111 struct{}

func (only111) LogProb(x []int32) (float64, error) {
	if x[0] == 1 && x[1] == 1 && x[2] == 1 {
		return 0, nil
	}
	return math.Inf(-1), nil
}

type graded111 struct{}

func (graded111) LogProb(x []int32) (float64, error) {
	n := float64(x[0] + x[1] + x[2])
	return n*math.Log(10) - 3*math.Log(11), nil
}

// TestBeamZeroProbabilityPlateau reproduces, on a 3-position law, why the
// joint-decode experiment's beam under the exact scorer returns an invalid
// sequence at NFE 1 on agreement-pcfg under the degraded model (there every
// valid sequence of the top-4 lattice differs from the top-1 sequence at 4
// positions; width 4 returns the top-1 sequence, width 64 a valid one).
// Beliefs q = (0.6, 0.4) at every position, so the top-1 sequence is 000;
// the target puts all its mass on 111, which differs from it at 3
// positions. By hand, with BeliefWeight 0 (ties: higher belief, then the
// lexicographically smaller sequence):
//
//   - Width 1: at each position the one entry is kept against its one
//     expansion, both of probability zero, by belief (0.6 > 0.4): the
//     output is 000 with Score −Inf, 1 + 3 scorer calls.
//   - Width 2: after position 0 {000, 100}; after 1 the best two of 000
//     (0.216), 010 and 100 (0.144 each; 010 first), 110 (0.096): {000, 010};
//     after 2 {000, 001}: 000, Score −Inf, 1 + 1 + 2 + 2 scorer calls.
//   - Width 4 keeps all 2² prefixes of positions 0–1, so 111 is expanded
//     at position 2: 111, Score log 1 = 0.
//   - MAP over the same lattice: 111.
//   - With the graded scorer (finite everywhere, log p rising by log 10 per
//     1), width 1 moves to 100, 110, 111: 111, Score 3 log 10 − 3 log 11.
//
// Among sequences of probability zero the beam has only the belief score to
// go by, which carries no information about where the valid sequences are;
// a beam narrower than the number of invalid prefixes on the way to one
// cannot reach it. This is the rule (a heuristic, documented as such), not
// a −Inf bug: a scorer with finite scores off the support (a model's
// pseudo-likelihood) guides the same beam there.
func TestBeamZeroProbabilityPlateau(t *testing.T) {
	v := tokVocab(t, 2)
	bel := soft.NewDense(3, 3)
	for i := range 3 {
		copy(bel.Row(i), []float32{0.6, 0.4, 0})
	}
	st, err := decode.BeliefState(v, bel)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		width int
		sc    decode.JointScorer
		want  [3]int32
		score float64
		evals int
	}{
		{1, only111{}, [3]int32{0, 0, 0}, math.Inf(-1), 4},
		{2, only111{}, [3]int32{0, 0, 0}, math.Inf(-1), 6},
		{4, only111{}, [3]int32{1, 1, 1}, 0, 0},
		{1, graded111{}, [3]int32{1, 1, 1}, 3*math.Log(10) - 3*math.Log(11), 4},
	} {
		d, err := decode.Beam{Width: c.width, K: 2}.Decode(ctx, st, c.sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		okScore := d.Score == c.score || within(d.Score, c.score, 1e-12)
		if [3]int32(d.Tokens) != c.want || !okScore || (c.evals > 0 && d.Evals != c.evals) {
			t.Errorf("beam width %d, %T: %v score %v evals %d, want %v score %v evals %d", c.width, c.sc, d.Tokens, d.Score, d.Evals, c.want, c.score, c.evals)
		}
	}
	d, err := decode.MAP{K: 2}.Decode(ctx, st, only111{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if [3]int32(d.Tokens) != [3]int32{1, 1, 1} || d.Score != 0 {
		t.Errorf("MAP: %v score %v, want [1 1 1] score 0", d.Tokens, d.Score)
	}
}
