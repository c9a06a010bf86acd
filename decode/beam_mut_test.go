package decode

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

// zeroScorer gives every sequence probability zero.
type zeroScorer struct{}

func (zeroScorer) LogProb([]int32) (float64, error) { return math.Inf(-1), nil }

// table3 scores the one-position sequences [0], [1], [2].
type table3 [3]float64

func (t table3) LogProb(x []int32) (float64, error) { return t[x[0]], nil }

// TestBeamDefaults: Width 0 means 4 and K 0 means 4, told apart by the
// number of scorer calls when every sequence has probability zero (the
// beam then keeps the best-belief entries, all distinct):
//
//   - 4 positions, beliefs (0.6, 0.4): at position i the beam holds
//     min(W, 2^i) entries, each expanded by its one other candidate, so
//     Evals = 1 + Σ_i min(W, 2^i): W 3 → 1+1+2+3+3 = 10, W 4 → 12,
//     W 5 → 13.
//   - 1 position, beliefs over 5 tokens, Width 1: Evals = 1 + (K − 1):
//     K 3 → 3, K 4 → 4, K 5 → 5.
//
// Width or K −1 is an error.
func TestBeamDefaults(t *testing.T) {
	ctx := context.Background()
	q := []float32{0.6, 0.4, 0}
	s4 := mutState(t, 2, q, q, q, q)
	for _, c := range []struct{ w, evals int }{{3, 10}, {4, 12}, {5, 13}, {0, 12}} {
		d, err := Beam{Width: c.w, K: 2}.Decode(ctx, s4, zeroScorer{}, nil)
		if err != nil || d.Evals != c.evals || !slices.Equal(d.Tokens, []int32{0, 0, 0, 0}) || !math.IsInf(d.Score, -1) {
			t.Fatalf("Width %d: %+v %v, want 0000 −Inf in %d", c.w, d, err, c.evals)
		}
	}
	s1 := mutState(t, 5, []float32{0.3, 0.25, 0.2, 0.15, 0.1, 0})
	for _, c := range []struct{ k, evals int }{{3, 3}, {4, 4}, {5, 5}, {0, 4}} {
		d, err := Beam{Width: 1, K: c.k}.Decode(ctx, s1, zeroScorer{}, nil)
		if err != nil || d.Evals != c.evals {
			t.Fatalf("K %d: %+v %v, want %d evals", c.k, d, err, c.evals)
		}
	}
	for _, b := range []Beam{{Width: -1}, {K: -1}} {
		if _, err := b.Decode(ctx, s1, zeroScorer{}, nil); err == nil {
			t.Fatalf("%+v accepted", b)
		}
	}
}

// table2tie is a law over 2 binary positions, index 2·x_0 + x_1:
// p(00) = 0.1, p(01) = 0.35, p(10) = 0.2, p(11) = 0.35.
type table2tie struct{}

func (table2tie) LogProb(x []int32) (float64, error) {
	return math.Log([4]float64{0.1, 0.35, 0.2, 0.35}[2*x[0]+x[1]]), nil
}

// TestBeamTieOrder: ties in score go to the higher belief, also when the
// lower-belief entry comes first in the expansion order. Width 2, beliefs
// (0.6, 0.4) then (0.7, 0.3), table2tie, by hand: position 0 expands 00
// to 10 and keeps [10 (0.2), 00 (0.1)]; position 1 expands 10 to 11 and
// 00 to 01, in that order, and 01 and 11 tie at 0.35: 01 (belief
// 0.6·0.3 = 0.18) ranks above 11 (0.4·0.3 = 0.12). Result 01, Score
// log 0.35, in 1 + 1 + 2 scorer calls.
func TestBeamTieOrder(t *testing.T) {
	s := mutState(t, 2, []float32{0.6, 0.4, 0}, []float32{0.7, 0.3, 0})
	d, err := Beam{Width: 2, K: 2}.Decode(context.Background(), s, table2tie{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Tokens, []int32{0, 1}) || !(math.Abs(d.Score-math.Log(0.35)) <= 1e-12) || d.Evals != 4 {
		t.Fatalf("%+v, want 01 log 0.35 in 4", d)
	}
}

// TestBeamZeroProbabilityRanksLast: a sequence of probability zero scores
// −Inf whatever the BeliefWeight, below every sequence of positive
// probability, even where w·Σ log b overflows: w = −10³⁰⁸, beliefs (0.8,
// 0.12, 0.08), p = (0, 0, 1). w·log 0.12 and w·log 0.08 exceed the largest
// float (|log b| > 1.8), so [2] scores +Inf and [1], of higher belief
// but probability zero, must still rank below it: the result is [2].
func TestBeamZeroProbabilityRanksLast(t *testing.T) {
	s := mutState(t, 3, []float32{0.8, 0.12, 0.08, 0})
	ninf := math.Inf(-1)
	d, err := Beam{Width: 4, K: 3, BeliefWeight: -1e308}.Decode(context.Background(), s, table3{ninf, ninf, 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Tokens, []int32{2}) {
		t.Fatalf("%+v, want [2]", d)
	}
}

// TestBeamInvalidValues: a scorer value of +Inf or NaN is an error (−Inf
// is probability zero); a BeliefWeight of NaN or ±Inf is an error.
func TestBeamInvalidValues(t *testing.T) {
	ctx := context.Background()
	s := mutState(t, 2, []float32{0.6, 0.4, 0})
	for _, bad := range []float64{math.Inf(1), math.NaN()} {
		if _, err := (Beam{}).Decode(ctx, s, table1{0, bad}, nil); err == nil || !strings.Contains(err.Error(), "not a log-probability") {
			t.Fatalf("scorer value %v: err %v", bad, err)
		}
	}
	if _, err := (Beam{}).Decode(ctx, s, table1{0, math.Inf(-1)}, nil); err != nil {
		t.Fatalf("scorer value −Inf: %v", err)
	}
	for _, w := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := (Beam{BeliefWeight: w}).Decode(ctx, s, table1{0, 0}, nil); err == nil {
			t.Fatalf("BeliefWeight %v accepted", w)
		}
	}
}
