package decode_test

// Mutation-driven tests of the Hybrid sampler (hybrid.go): the diffusion
// time of the corrector's calls, the release boundary, the kernel
// corrector's Metropolis–Hastings acceptance and default jump time, and the
// setting checks. Expected values are derived by hand in the comments.

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
)

// TestHybridCorrectorTimes: every corrector call after refinement step k is
// made at the diffusion time of the next refinement call, 1 − (k+1)/n. Steps
// 5 (n = 4 refinements), Moves 2; rows (0.99, .005, .005) and uniform over
// V = 3. The entropy policy at 0.1 commits position 0 at step 0 (H =
// 0.0629) and never position 1: TMax 0.01 keeps its evidence weak, so its
// belief stays near uniform (H ≈ ln 3 = 1.0986). Gibbs moves keep position
// 0 committed, so each of steps 0–3 makes its 2 moves. The calls are
//
//	step 0: 1 (refinement), 0.75, 0.75 (moves)
//	step 1: 0.75, 0.5, 0.5
//	step 2: 0.5, 0.25, 0.25
//	step 3: 0.25, 0, 0
//	step 4: 0 (final call, no moves)
//
// 13 calls = Steps + Moves·n.
func TestHybridCorrectorTimes(t *testing.T) {
	v := tokVocab(t, 3)
	want := []float64{1, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0, 0, 0}
	for seed := range uint64(3) {
		den := &timeRecorder{den: product([]float32{0.99, 0.005, 0.005}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})}
		sl := decode.SoftSL{TMax: 0.01, Commit: decode.CommitEntropy, CommitThreshold: 0.1}
		res := gen(t, den, v, 2, decode.Hybrid{SoftSL: sl, Corrector: decode.CorrectGibbs, Moves: 2}, decode.Options{Steps: 5, Seed: seed})
		if len(den.t) != len(want) || res.NFE != len(want) {
			t.Fatalf("seed %d: %d calls (NFE %d) at %v, want %v", seed, len(den.t), res.NFE, den.t, want)
		}
		for c, w := range want {
			if !(math.Abs(den.t[c]-w) <= 1e-12) {
				t.Fatalf("seed %d: call %d at t = %v, want %v (all calls %v)", seed, c, den.t[c], w, den.t)
			}
		}
	}
}

// TestHybridReleaseBoundary: a position is released when its
// leave-one-out belief in its token is strictly below ReleaseBelow. Rows
// (0.5, 0.25, 0.25) and uniform over V = 3; the entropy policy at 1.05
// commits position 0 only at step 0 (H = 1.5 ln 2 = 1.039721 < 1.05 <
// ln 3). Position 0 has no evidence of its own, so its leave-one-out belief
// is its row, exactly (0.5, 0.25, 0.25) in float32 (powers of two, sum 1).
// With ReleaseBelow 0.25 its token's belief is 0.5 or 0.25, never below:
// the one move of step 0 releases nothing. With ReleaseBelow just above
// 0.25 (the next float64), tokens 1 and 2 are released and token 0 kept.
func TestHybridReleaseBoundary(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.5, 0.25, 0.25}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})
	sl := decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: 1.05}
	low := 0
	for seed := range uint64(16) {
		for _, rb := range []float64{0.25, math.Nextafter(0.25, 1)} {
			res := gen(t, den, v, 2, decode.Hybrid{SoftSL: sl, Moves: 1, ReleaseBelow: rb}, decode.Options{Steps: 3, Seed: seed})
			ch := res.Steps[0].Changes
			if len(ch) == 0 || ch[0].Pos != 0 || ch[0].From != 3 {
				t.Fatalf("seed %d release %v: step 0 changes %+v, want a commit of position 0 first", seed, rb, ch)
			}
			a := ch[0].To
			wantRelease := rb > 0.25 && a != 0
			if released := len(ch) == 2 && ch[1].Pos == 0 && ch[1].To == 3; released != wantRelease || len(ch) > 2 || len(ch) == 2 && !released {
				t.Errorf("seed %d release %v: token %d (belief %v), changes %+v; want released = %v", seed, rb, a, []float64{0.5, 0.25, 0.25}[a], ch, wantRelease)
			}
			if rb == 0.25 && a != 0 {
				low++
			}
		}
	}
	if low == 0 {
		t.Fatal("no seed committed token 1 or 2: the test is not informative")
	}
}

// TestHybridKernelAcceptance: the kernel corrector's jump rate per move,
// from the proposal and the MH acceptance, for JumpTime 0.5 and the
// default (JumpTime 0 means 0.1). Rows (0.8, 0.2, 0) and uniform over V =
// 3; the entropy policy at 0.7 commits position 0 at step 0 (H = 0.5004),
// with its token drawn from b = (0.8, 0.2, 0), which is also its
// leave-one-out belief at every move of step 0 (no evidence of its own).
// The uniform kernel with the log-linear schedule, α(t) = 1 − 0.999t, has
// Q(a, v) = ρ = (1 − α)/3 for v ≠ a among the 3 tokens: ρ = 0.1665 at
// t = 0.5 and ρ = 0.0333 at t = 0.1. Q is symmetric, so a proposal v is
// accepted with probability min(1, b(v)/b(a)): from token 0, v = 1 is
// accepted w.p. 0.25, v = 2 never (belief 0); from token 1, v = 0 always.
// The chain starts in and keeps its stationary law b, so every move jumps
// with probability 0.8·0.25ρ + 0.2·ρ = 0.4ρ: 0.0666 (t = 0.5) and 0.01332
// (t = 0.1). 400 runs of 30 moves: within 6 standard errors of a
// frequency (the moves of one run are mildly correlated).
func TestHybridKernelAcceptance(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.8, 0.2, 0}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})
	uni, err := kernels.NewUniform(4, 3, kernels.LogLinear{})
	if err != nil {
		t.Fatal(err)
	}
	sl := decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: 0.7}
	const runs, moves = 400, 30
	for _, tc := range []struct {
		jt, rate float64
	}{{0.5, 0.4 * 0.4995 / 3}, {0, 0.4 * 0.0999 / 3}} {
		rng := rand.New(rand.NewPCG(8, uint64(tc.jt*10)))
		alg := decode.Hybrid{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: tc.jt, Moves: moves}
		jumps := 0
		for range runs {
			res := gen(t, den, v, 2, alg, decode.Options{Steps: 2, Rand: rng})
			for _, c := range res.Steps[0].Changes {
				if c.From != 3 && c.To != 3 {
					jumps++
				}
			}
		}
		const n = runs * moves
		f := float64(jumps) / n
		t.Logf("JumpTime %v: jump rate %.5f per move (hand value %.5f)", tc.jt, f, tc.rate)
		if !within(f, tc.rate, 6*math.Sqrt(tc.rate*(1-tc.rate)/n)) {
			t.Errorf("JumpTime %v: jump rate %.5f per move, want %.5f", tc.jt, f, tc.rate)
		}
	}
}

// TestHybridSettings: Moves ≥ 0 (0: no moves), ReleaseBelow ≥ 0 (0: never
// release; above 1: release every visited position, +Inf included),
// JumpTime in [0, 1] (0 means 0.1). Boundary values are accepted, values
// past them, NaN and infinite jump times rejected before any call.
func TestHybridSettings(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.99, 0.005, 0.005}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})
	uni, err := kernels.NewUniform(4, 3, kernels.LogLinear{})
	if err != nil {
		t.Fatal(err)
	}
	sl := decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: 0.1}
	inf, nan := math.Inf(1), math.NaN()
	for _, m := range []decode.Hybrid{
		{SoftSL: sl, Corrector: decode.CorrectGibbs, Moves: 0},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: 1, Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: 0, Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: 5e-324, Moves: 2},
		{SoftSL: sl, Moves: 1, ReleaseBelow: 2},
		{SoftSL: sl, Moves: 1, ReleaseBelow: inf},
	} {
		if _, err := decode.Generate(t.Context(), den, v, 2, m, decode.Options{Steps: 3, Seed: 1}); err != nil {
			t.Errorf("%+v rejected: %v", m, err)
		}
	}
	for _, m := range []decode.Hybrid{
		{SoftSL: sl, Corrector: decode.CorrectGibbs, Moves: -1},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: math.Nextafter(1, 2), Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: inf, Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: nan, Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: -1e-300, Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectGibbs, JumpTime: inf, Moves: 1},
		{SoftSL: sl, Moves: 1, ReleaseBelow: -1e-300},
		{SoftSL: sl, Moves: 1, ReleaseBelow: nan},
		{SoftSL: sl, Moves: 1, ReleaseBelow: inf, JumpTime: inf},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, Moves: 1, ReleaseBelow: inf, JumpTime: inf},
	} {
		rec := &recorder{den: den}
		if _, err := decode.Generate(t.Context(), rec, v, 2, m, decode.Options{Steps: 3, Seed: 1}); err == nil || len(rec.ev) != 0 {
			t.Errorf("%+v: error %v after %d calls, want a settings error before any call", m, err, len(rec.ev))
		}
	}
}
