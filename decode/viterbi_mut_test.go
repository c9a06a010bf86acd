package decode

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// mutMarkov is a first-order Markov chain over len(init) tokens, with its
// LogProb written out: log init[x_0] + Σ log trans[x_{i−1}·K + x_i].
type mutMarkov struct{ init, trans []float64 }

func (m mutMarkov) Markov() ([]float64, []float64) { return m.init, m.trans }
func (m mutMarkov) LogProb(x []int32) (float64, error) {
	K := len(m.init)
	lp := math.Log(m.init[x[0]])
	for i := 1; i < len(x); i++ {
		lp += math.Log(m.trans[int(x[i-1])*K+int(x[i])])
	}
	return lp, nil
}

// TestViterbiMatchesBruteForce: on a 4-position lattice of up to 3
// candidates over a 4-token chain, Viterbi's sequence and score are the
// enumerated maximiser of log p + Σ log ℓ + w·Σ log b (bruteMAP), for
// several belief weights, in Evals = L.
func TestViterbiMatchesBruteForce(t *testing.T) {
	mc := mutMarkov{
		init: []float64{0.1, 0.4, 0.3, 0.2},
		trans: []float64{
			0.1, 0.2, 0.3, 0.4,
			0.5, 0.1, 0.1, 0.3,
			0.25, 0.25, 0.4, 0.1,
			0.3, 0.3, 0.2, 0.2,
		}}
	lat := mkLattice(
		[][]int32{{2, 0, 1}, {1, 3, 0}, {0, 2}, {3, 1, 2}},
		[][]float64{{-0.3, -1.1, -2.2}, {-0.4, -1.3, -1.9}, {-0.2, -1.7}, {-0.6, -0.9, -1.4}},
		[][]float64{{-0.05, -0.7, -0.2}, {-0.9, -0.1, -0.4}, {-0.3, -0.6}, {-0.15, -1.2, -0.01}})
	seen := map[string]bool{}
	for _, w := range []float64{0, 1, 2.5, -1.5, 6} {
		want, arg := bruteMAP(mc, lat, w)
		d, err := viterbi(mc, lat, w)
		if err != nil {
			t.Fatal(err)
		}
		if !(math.Abs(d.Score-want) <= 1e-9) || !slices.Equal(d.Tokens, arg) || d.Evals != 4 {
			t.Fatalf("w=%v: %v score %v evals %d, want %v score %v", w, d.Tokens, d.Score, d.Evals, arg, want)
		}
		seen[fmt.Sprint(arg)] = true
	}
	if len(seen) < 2 {
		t.Fatal("the weights do not move the optimum: a weak test")
	}
}

// TestViterbiTies: a uniform chain over 2 tokens on the lattice
// {1, 0} × {1, 0}: all four sequences score log ¼, and ties go to the
// first candidate in lattice order, at the last position and among the
// predecessors: 1 1.
func TestViterbiTies(t *testing.T) {
	mc := mutMarkov{init: []float64{0.5, 0.5}, trans: []float64{0.5, 0.5, 0.5, 0.5}}
	d, err := viterbi(mc, mkLattice([][]int32{{1, 0}, {1, 0}}, nil, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Tokens, []int32{1, 1}) || !(math.Abs(d.Score-math.Log(0.25)) <= 1e-12) {
		t.Fatalf("%v score %v, want [1 1] log ¼", d.Tokens, d.Score)
	}
}

// TestViterbiAllZero: every sequence has probability zero (no transition
// into the last position's token), though the best prefix into position 1
// comes from candidate 1 at position 0 (0.8·0.5 > 0.2·0.5): the result is
// the top-1 candidates 0 2 0 with Score −Inf, not a back-traced path.
func TestViterbiAllZero(t *testing.T) {
	mc := mutMarkov{init: []float64{0.2, 0.8, 0}, trans: []float64{
		0, 0, 0.5,
		0, 0, 0.5,
		0, 0, 0,
	}}
	d, err := viterbi(mc, mkLattice([][]int32{{0, 1}, {2}, {0}}, nil, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Tokens, []int32{0, 2, 0}) || !math.IsInf(d.Score, -1) || d.Evals != 3 {
		t.Fatalf("%+v, want [0 2 0] −Inf in 3", d)
	}
}

// TestViterbiArgs: a candidate id equal to the chain's K is an error; K 0
// means 4 (the same decode as K 4), K −1 is an error.
func TestViterbiArgs(t *testing.T) {
	mc := mutMarkov{init: []float64{0.5, 0.5}, trans: []float64{0.9, 0.1, 0.2, 0.8}}
	if _, err := viterbi(mc, mkLattice([][]int32{{0}, {2}}, nil, nil), 0); err == nil {
		t.Fatal("candidate 2 of a 2-token chain accepted")
	}
	// beliefs over 2 tokens (MASK 2) give both tokens as candidates at
	// both positions; with BeliefWeight 0 and no evidence (ℓ = 1) the
	// objective is log p: p(00) = 0.5·0.9 = 0.45, p(01) = 0.05,
	// p(10) = 0.1, p(11) = 0.4, so 0 0 with Score log 0.45, although the
	// beliefs favour 1 at position 0.
	s := mutState(t, 2, []float32{0.3, 0.7, 0}, []float32{0.6, 0.4, 0})
	d0, err := Viterbi{}.Decode(context.Background(), s, mc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d0.Tokens, []int32{0, 0}) || !(math.Abs(d0.Score-math.Log(0.45)) <= 1e-12) {
		t.Fatalf("K 0: %+v, want [0 0] log 0.45", d0)
	}
	if _, err := (Viterbi{K: -1}).Decode(context.Background(), s, mc, nil); err == nil {
		t.Fatal("K −1 accepted")
	}
}

// TestViterbiInvalidValues: chain entries the lattice reads must be finite
// and non-negative (NaN, −0.1 and +Inf in init or trans are errors naming
// the entry; zero is probability zero), and BeliefWeight finite.
func TestViterbiInvalidValues(t *testing.T) {
	lat := mkLattice([][]int32{{0, 1}, {1}}, nil, nil)
	for _, bad := range []float64{math.NaN(), -0.1, math.Inf(1)} {
		if _, err := viterbi(mutMarkov{init: []float64{0.5, bad}, trans: []float64{0.5, 0.5, 0.5, 0.5}}, lat, 0); err == nil || !strings.Contains(err.Error(), "init[1]") {
			t.Fatalf("init %v: err %v", bad, err)
		}
		if _, err := viterbi(mutMarkov{init: []float64{0.5, 0.5}, trans: []float64{0.5, bad, 0.5, 0.5}}, lat, 0); err == nil || !strings.Contains(err.Error(), "trans[1]") {
			t.Fatalf("trans %v: err %v", bad, err)
		}
	}
	d, err := viterbi(mutMarkov{init: []float64{0.5, 0}, trans: []float64{0.5, 0.5, 0.5, 0.5}}, lat, 0)
	if err != nil || !slices.Equal(d.Tokens, []int32{0, 1}) || !(math.Abs(d.Score-math.Log(0.25)) <= 1e-12) {
		t.Fatalf("init (0.5, 0): %+v %v, want 01 log ¼", d, err)
	}
	// the largest float is a (huge, unnormalised) weight: 11 scores
	// log 0.5 + log MaxFloat64
	d, err = viterbi(mutMarkov{init: []float64{0.5, 0.5}, trans: []float64{0.5, 0.5, 0.5, math.MaxFloat64}}, lat, 0)
	if err != nil || !slices.Equal(d.Tokens, []int32{1, 1}) || !(math.Abs(d.Score-math.Log(0.5)-math.Log(math.MaxFloat64)) <= 1e-9) {
		t.Fatalf("trans[3] = MaxFloat64: %+v %v, want 11", d, err)
	}
	s := mutState(t, 2, []float32{0.3, 0.7, 0})
	mc := mutMarkov{init: []float64{0.5, 0.5}, trans: []float64{0.5, 0.5, 0.5, 0.5}}
	for _, w := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := (Viterbi{BeliefWeight: w}).Decode(context.Background(), s, mc, nil); err == nil {
			t.Fatalf("BeliefWeight %v accepted", w)
		}
	}
}
