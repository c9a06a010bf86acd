package decode_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
)

// TestFastDLLMSettings: Threshold must lie in [0, 1], 1 included (the doc's
// rule c ≥ Threshold then commits the candidates of belief exactly 1);
// Factor and Temperature ≥ 0; NaN anywhere is an error. Infinite Factor and
// Temperature are accepted, also together (the check must not add them:
// +Inf − +Inf is NaN).
func TestFastDLLMSettings(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.75, 0.25}, []float32{1, 0}, []float32{0.5, 0.5})
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct {
		alg decode.FastDLLM
		ok  bool
	}{
		{decode.FastDLLM{Threshold: 1}, true},
		{decode.FastDLLM{Threshold: math.Nextafter(1, 2)}, false},
		{decode.FastDLLM{Threshold: -0.5}, false},
		{decode.FastDLLM{Threshold: nan}, false},
		{decode.FastDLLM{Factor: nan}, false},
		{decode.FastDLLM{Temperature: nan}, false},
		{decode.FastDLLM{Factor: -1}, false},
		{decode.FastDLLM{Temperature: -1}, false},
		{decode.FastDLLM{Factor: inf}, true},
		{decode.FastDLLM{Temperature: inf}, true},
		{decode.FastDLLM{Factor: inf, Temperature: inf}, true},
		{decode.FastDLLM{Threshold: 1, Factor: inf, Temperature: inf}, true},
	} {
		res, err := decode.Generate(context.Background(), den, v, 3, c.alg, decode.Options{})
		if (err == nil) != c.ok {
			t.Errorf("%+v: error %v, want ok %v", c.alg, err, c.ok)
			continue
		}
		if err == nil && res.Steps[len(res.Steps)-1].Committed != 3 {
			t.Errorf("%+v: %d committed at the end, want 3", c.alg, res.Steps[len(res.Steps)-1].Committed)
		}
	}
}

// TestFastDLLMThresholdTies: the threshold rule commits every candidate with
// c ≥ Threshold, so a belief exactly at the threshold passes (0.75 and 1
// are exact binary fractions: the product denoiser normalises rows summing
// to exactly 1 without rounding). Rows (2 tokens), Temperature 0:
//
//	Threshold 1:    (0.5, 0.5), (1, 0), (1, 0): step 0 commits positions 1
//	                (the most confident, ties to the smaller position) and
//	                2 (c = 1 ≥ 1); step 1 commits position 0.
//	Threshold 0.75: (1, 0), (0.75, 0.25), (0.5, 0.5): step 0 commits 0 and
//	                1 (0.75 ≥ 0.75), step 1 position 2.
func TestFastDLLMThresholdTies(t *testing.T) {
	v := tokVocab(t, 2)
	for _, c := range []struct {
		th   float64
		rows [][]float32
		want []int
	}{
		{1, [][]float32{{0.5, 0.5}, {1, 0}, {1, 0}}, []int{1, 2}},
		{0.75, [][]float32{{1, 0}, {0.75, 0.25}, {0.5, 0.5}}, []int{0, 1}},
	} {
		res := gen(t, product(c.rows...), v, 3, decode.FastDLLM{Threshold: c.th}, decode.Options{})
		if len(res.Steps) != 2 {
			t.Fatalf("threshold %v: %d steps, want 2", c.th, len(res.Steps))
		}
		if pos, tok := commitsOf(res, 0, v.Mask()); !eqInts(pos, c.want) || tok[0] != 0 || tok[1] != 0 {
			t.Errorf("threshold %v: step 0 committed %v %v, want %v tokens 0", c.th, pos, tok, c.want)
		}
	}
}

// TestFastDLLMDenoiserTimes: the denoiser is called at t = (masked
// positions)/(free positions). Rows (1, 0), (0.5, 0.5), (0.75, 0.25) at the
// default threshold 0.9: one commit per step (position 0, then 2 with
// 0.75, then 1), so the calls are at 3/3, 2/3 and 1/3.
func TestFastDLLMDenoiserTimes(t *testing.T) {
	v := tokVocab(t, 2)
	den := &timeRecorder{den: product([]float32{1, 0}, []float32{0.5, 0.5}, []float32{0.75, 0.25})}
	res := gen(t, den, v, 3, decode.FastDLLM{}, decode.Options{})
	want := []float64{1, 2.0 / 3, 1.0 / 3}
	if len(den.t) != len(want) || len(res.Steps) != len(want) {
		t.Fatalf("denoiser times %v (%d steps), want %v", den.t, len(res.Steps), want)
	}
	for k, w := range want {
		if !(math.Abs(den.t[k]-w) <= 1e-12) || !(math.Abs(res.Steps[k].T-w) <= 1e-12) {
			t.Errorf("call %d at t = %v (step T %v), want %v", k, den.t[k], res.Steps[k].T, w)
		}
	}
	for k, p := range []int{0, 2, 1} {
		if pos, _ := commitsOf(res, k, v.Mask()); !eqInts(pos, []int{p}) {
			t.Errorf("step %d committed %v, want [%d]", k, pos, p)
		}
	}
}

// TestFastDLLMFactorTie: candidate k passes the factor rule when
// c(k) ≥ 1 − f/(k+1), a tie passing. f = 0.75, sorted beliefs 1, 0.75,
// 0.5, 0.5 (rows (1, 0), (0.75, 0.25), (0.5, 0.5), (0.5, 0.5)): the second
// needs 1 − 0.75/3 = 0.75 (exact: 0.75/3 = 0.25) and has exactly 0.75, so
// it passes; the third needs 1 − 0.75/4 = 0.8125 and fails. M = 4 and the
// first failure is not the last candidate, so both rules commit 2:
// positions 0 and 1.
func TestFastDLLMFactorTie(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{1, 0}, []float32{0.75, 0.25}, []float32{0.5, 0.5}, []float32{0.5, 0.5})
	for _, strict := range []bool{false, true} {
		res := gen(t, den, v, 4, decode.FastDLLM{Factor: 0.75, StrictPrefix: strict}, decode.Options{})
		if pos, _ := commitsOf(res, 0, v.Mask()); !eqInts(pos, []int{0, 1}) {
			t.Errorf("factor 0.75 strict %v: step 0 committed %v, want [0 1]", strict, pos)
		}
	}
}

// TestFastDLLMInfiniteSettings: Factor +Inf passes every candidate
// (1 − ∞/(k+1) = −∞), so one step commits the whole block; Temperature +Inf
// draws uniformly from the belief's support: the row (0.75, 0.25, 0) gives
// tokens 0 and 1 with probability 1/2 each, never token 2.
func TestFastDLLMInfiniteSettings(t *testing.T) {
	inf := math.Inf(1)
	v2 := tokVocab(t, 2)
	res := gen(t, product([]float32{0.75, 0.25}, []float32{0.5, 0.5}, []float32{0.6, 0.4}), v2, 3, decode.FastDLLM{Factor: inf}, decode.Options{})
	if len(res.Steps) != 1 || res.Steps[0].Committed != 3 {
		t.Errorf("factor +Inf: steps %+v, want one step committing 3", res.Steps)
	}
	v := tokVocab(t, 3)
	const n = 3000
	rng := rand.New(rand.NewPCG(21, 22))
	var cnt [3]int
	for range n {
		res := gen(t, product([]float32{0.75, 0.25, 0}), v, 1, decode.FastDLLM{Temperature: inf}, decode.Options{Rand: rng})
		cnt[res.Tokens[0]]++
	}
	for k, p := range []float64{0.5, 0.5, 0} {
		if f := float64(cnt[k]) / n; p == 0 && cnt[k] != 0 || !within(f, p, binTol(p, n)) {
			t.Errorf("Temperature +Inf: token %d frequency %.4f, want %.4f", k, f, p)
		}
	}
}
