package decode_test

// Mutation-driven tests of LRD (lrd.go): the setting checks, MaxRefine,
// the denoiser's time, the KL rule at its exact boundary in both phases,
// the NFE cap, and the entropy tie order. Expected values are derived by
// hand in the comments.

import (
	"math"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// scripted is a denoiser that ignores the evidence: its call c (from 0)
// gives every position the row calls[c mod len(calls)] if cycle, else
// calls[min(c, len(calls)−1)]. Rows hold the token columns; the MASK column
// (last id) gets 0.
type scripted struct {
	calls [][]float32
	cycle bool
	n     int
}

func (s *scripted) Denoise(dst, ev *soft.Dense, t float64) error {
	c := min(s.n, len(s.calls)-1)
	if s.cycle {
		c = s.n % len(s.calls)
	}
	s.n++
	for i := 0; i < dst.L; i++ {
		d := dst.Row(i)
		clear(d)
		copy(d, s.calls[c])
	}
	return nil
}

// P and Q are the two scripted rows over V = 2 (powers of two, exact in
// float32). KL(P‖Q) = 0.5·ln(0.5/0.75) + 0.5·ln(0.5/0.25) = 0.5·ln(4/3) =
// 0.143841; KL(Q‖P) = 0.75·ln 1.5 + 0.25·ln 0.5 = 0.130812. Both exceed the
// default Tol 1e-3.
var lrdP, lrdQ = []float32{0.5, 0.5, 0}, []float32{0.75, 0.25, 0}

// firstCommitStep returns the first step that commits a position (−1 if
// none).
func firstCommitStep(res *decode.Result) int {
	for k, s := range res.Steps {
		if len(s.Changes) > 0 {
			return k
		}
	}
	return -1
}

// TestLRDSettings: RF and TopP lie in [0, 1], Tol and Temperature are
// finite and ≥ 0, MaxRefine ≥ 0 (zero values select the defaults). The
// boundaries 1 (RF, TopP) and math.MaxFloat64 (Tol, Temperature) are
// accepted; the next float64 above 1, +Inf, NaN and negative values are
// rejected before any call.
func TestLRDSettings(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.99, 0.005, 0.005}, []float32{0.5, 0.3, 0.2})
	above1, inf, nan := math.Nextafter(1, 2), math.Inf(1), math.NaN()
	for _, m := range []decode.LRD{{}, {RF: 1}, {TopP: 1}, {RF: 1, TopP: 1}, {Tol: math.MaxFloat64}, {Temperature: math.MaxFloat64}, {MaxRefine: 0}} {
		if _, err := decode.Generate(t.Context(), den, v, 2, m, decode.Options{Steps: 4, Seed: 1}); err != nil {
			t.Errorf("%+v rejected: %v", m, err)
		}
	}
	for _, m := range []decode.LRD{
		{RF: above1}, {TopP: above1}, {RF: -1e-300}, {TopP: -1e-300}, {RF: nan}, {TopP: nan},
		{Tol: inf}, {Temperature: inf}, {Tol: inf, Temperature: inf}, {Tol: nan}, {Temperature: nan},
		{Tol: -1e-300}, {Temperature: -1e-300}, {MaxRefine: -1},
	} {
		rec := &recorder{den: den}
		if _, err := decode.Generate(t.Context(), rec, v, 2, m, decode.Options{Steps: 4, Seed: 1}); err == nil || len(rec.ev) != 0 {
			t.Errorf("%+v: error %v after %d calls, want a settings error before any call", m, err, len(rec.ev))
		}
	}
}

// TestLRDLargeFiniteSettings: Tol and Temperature both math.MaxFloat64 are
// finite and accepted (their sum overflows to +Inf, which must not count
// as an infinite setting).
func TestLRDLargeFiniteSettings(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.99, 0.005, 0.005}, []float32{0.5, 0.3, 0.2})
	m := decode.LRD{Tol: math.MaxFloat64, Temperature: math.MaxFloat64}
	if _, err := decode.Generate(t.Context(), den, v, 2, m, decode.Options{Steps: 4, Seed: 1}); err != nil {
		t.Errorf("%+v rejected: %v", m, err)
	}
}

// TestLRDMaxRefine: phase 1 lasts exactly MaxRefine calls when the KL rule
// does not stop it. The scripted beliefs alternate P, Q, P, … at both of L
// = 2 positions, so the mean KL between successive calls is 0.143841 or
// 0.130812, above Tol 1e-3 throughout. Steps 20: MaxRefine 0 means
// max(1, 20/4) = 5. The first commit is made by the first phase-2 step,
// step MaxRefine: steps 1, 2, 5 for MaxRefine 1, 2 and the default.
func TestLRDMaxRefine(t *testing.T) {
	v := tokVocab(t, 2)
	for _, tc := range []struct{ maxRefine, first int }{{1, 1}, {2, 2}, {0, 5}, {7, 7}} {
		den := &scripted{calls: [][]float32{lrdP, lrdQ}, cycle: true}
		res := gen(t, den, v, 2, decode.LRD{MaxRefine: tc.maxRefine}, decode.Options{Steps: 20})
		if got := firstCommitStep(res); got != tc.first {
			t.Errorf("MaxRefine %d: first commit at step %d, want %d", tc.maxRefine, got, tc.first)
		}
	}
}

// TestLRDTimes: LRD calls the denoiser at t = masked/free. L = 4 with
// position 3 fixed (3 free positions); the rows of TestLRDSoftInput with
// Tol 1e-5 and Steps 3: step 0 is the one refinement (MaxRefine = max(1,
// 3/4) = 1), step 1 commits only position 0 (mean KL 0.000553 ≥ 1e-5),
// step 2 reaches NFE 3 = Steps and commits the rest. The calls are at
// 3/3, 3/3, 2/3.
func TestLRDTimes(t *testing.T) {
	v := tokVocab(t, 3)
	den := &timeRecorder{den: product([]float32{0.99, 0.005, 0.005}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3}, []float32{0.5, 0.3, 0.2}, []float32{1, 0, 0})}
	res := gen(t, den, v, 4, decode.LRD{Tol: 1e-5}, decode.Options{Steps: 3, Fixed: []int32{soft.NoToken, soft.NoToken, soft.NoToken, 0}})
	if pos, _ := commitsOf(res, 1, v.Mask()); !eqInts(pos, []int{0}) {
		t.Fatalf("step 1 committed %v, want [0]", pos)
	}
	want := []float64{1, 1, 2.0 / 3}
	if len(den.t) != len(want) {
		t.Fatalf("calls at %v, want %v", den.t, want)
	}
	for c, w := range want {
		if !(math.Abs(den.t[c]-w) <= 1e-12) {
			t.Errorf("call %d at t = %v, want %v", c, den.t[c], w)
		}
	}
}

// TestLRDKLBoundary: both phases stop on mean KL strictly below Tol. Tol
// is set to exactly KL(P‖Q) as soft.KL computes it (0.5·ln(4/3) =
// 0.143841 by hand, checked); with L = 2 identical rows the mean
// (KL + KL)/2 is that value exactly. The scripted beliefs are P at call 1
// and Q from call 2 on, so the mean KL is +Inf (call 1: no previous
// beliefs), then Tol, then 0. Steps 40 (no cap).
//
//	phase 1, MaxRefine 10: call 2 has KL = Tol, not below: phase 1 goes
//	on; call 3 has KL 0 and ends it; step 3 (KL 0) commits both
//	positions at once. Steps 0–2 commit nothing.
//	phase 2, MaxRefine 1: phase 1 ends at call 1; step 1 has KL = Tol,
//	not below, so it commits one position (the entropies tie: position
//	0); step 2 (KL 0) commits position 1.
func TestLRDKLBoundary(t *testing.T) {
	v := tokVocab(t, 2)
	tol := soft.KL(lrdP, lrdQ)
	if !within(tol, 0.5*math.Log(4.0/3), 1e-12) || tol <= 0 {
		t.Fatalf("KL(P‖Q) = %v, want 0.5·ln(4/3)", tol)
	}
	for _, tc := range []struct {
		maxRefine int
		commits   [][]int // per step
	}{
		{10, [][]int{nil, nil, nil, {0, 1}}},
		{1, [][]int{nil, {0}, {1}}},
	} {
		res := gen(t, &scripted{calls: [][]float32{lrdP, lrdQ}}, v, 2, decode.LRD{Tol: tol, MaxRefine: tc.maxRefine}, decode.Options{Steps: 40})
		if len(res.Steps) != len(tc.commits) {
			t.Fatalf("MaxRefine %d: %d steps, want %d", tc.maxRefine, len(res.Steps), len(tc.commits))
		}
		for k, want := range tc.commits {
			if pos, _ := commitsOf(res, k, v.Mask()); !eqInts(pos, want) {
				t.Errorf("MaxRefine %d: step %d committed %v, want %v", tc.maxRefine, k, pos, want)
			}
		}
	}
}

// TestLRDStepCap: phase 2 commits everything left once the NFE reaches
// Steps. L = 3, Steps 3, scripted beliefs alternating P, Q (mean KL above
// the default Tol throughout), MaxRefine max(1, 3/4) = 1: step 0 is the
// refinement, step 1 (NFE 2) commits one position (tied entropies:
// position 0), step 2 (NFE 3 = Steps) commits positions 1 and 2. NFE 3.
func TestLRDStepCap(t *testing.T) {
	v := tokVocab(t, 2)
	res := gen(t, &scripted{calls: [][]float32{lrdP, lrdQ}, cycle: true}, v, 3, decode.LRD{}, decode.Options{Steps: 3})
	if res.NFE != 3 || len(res.Steps) != 3 {
		t.Fatalf("NFE %d over %d steps, want 3 and 3", res.NFE, len(res.Steps))
	}
	for k, want := range [][]int{nil, {0}, {1, 2}} {
		if pos, _ := commitsOf(res, k, v.Mask()); !eqInts(pos, want) {
			t.Errorf("step %d committed %v, want %v", k, pos, want)
		}
	}
}

// TestLRDEntropyTie: phase 2 commits the lowest-entropy position, the
// smaller position on ties. Product rows: position 0 uniform over V = 3
// (H = ln 3, soft input α = 0), positions 1 and 2 the same row (0.8, 0.1,
// 0.1), so their soft inputs, beliefs and entropies are identical at every
// call, and lower than position 0's. Tol 1e-300 keeps the KL rule from
// committing everything at step 1 (the beliefs at 1 and 2 move between
// calls 1 and 2). MaxRefine 1: step 1 commits position 1.
func TestLRDEntropyTie(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{1.0 / 3, 1.0 / 3, 1.0 / 3}, []float32{0.8, 0.1, 0.1}, []float32{0.8, 0.1, 0.1})
	res := gen(t, den, v, 3, decode.LRD{Tol: 1e-300, MaxRefine: 1}, decode.Options{Steps: 10})
	if pos, _ := commitsOf(res, 1, v.Mask()); !eqInts(pos, []int{1}) {
		t.Errorf("step 1 committed %v, want [1]", pos)
	}
}
