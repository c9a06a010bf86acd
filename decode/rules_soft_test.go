package decode_test

// Rule tests of the soft and hybrid samplers (SoftSL, Hybrid, LRD) on
// product denoisers. These samplers' Gaussian draws may change order or
// precision, so the tests check the rules — what is committed, which
// evidence update is applied, the moves and releases — through exact
// first-step consequences and statistical properties, never through
// sampled token strings.

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
)

// TestSoftSLEvidenceUpdate: one SL refinement from no evidence, uniform
// grid, Steps 5 (n = 4 refinements) over V = 3 tokens: TMax = 4 ln 3 + 4 =
// 8.394449, Δ = TMax/4 = 2.098612. The update λ_i ← Δ_i·m_i + sqrt(Δ_i)·ε
// makes the log-ratio ℓ = λ_i(1) − λ_i(0) of the evidence handed over at
// the next call (softmax(λ_i), so ℓ = log(e_i(1)/e_i(0))) Gaussian with
// mean Δ_i·(m_i(1) − m_i(0)) and variance 2Δ_i. Beliefs at step 0 are the
// rows q_0 = (0.98, 0.01, 0.01) and q_1 = (1/3, 1/3, 1/3).
//
//	uniform rate, Δ_i = Δ:  mean −0.97Δ = −2.035654 (pos 0), 0 (pos 1);
//	                        variance 4.197225
//	entropy rate, β = 1:    w ∝ 1 + (1 − H/ln 3), H(q_0) = 0.111902 nats,
//	                        so w = (1.898142, 1)/1.449071 = (1.309903,
//	                        0.690097); mean −2.666509 (pos 0), 0 (pos 1);
//	                        variance 5.497956 and 2.896493
//
// Over 3000 runs the sample mean is within 5 standard errors and the
// sample variance within 5·var·sqrt(2/n) of these.
func TestSoftSLEvidenceUpdate(t *testing.T) {
	v := tokVocab(t, 3)
	for _, tc := range []struct {
		rate       decode.Rate
		mean, vari [2]float64
	}{
		{decode.RateUniform, [2]float64{-2.035654, 0}, [2]float64{4.197225, 4.197225}},
		{decode.RateEntropy, [2]float64{-2.666509, 0}, [2]float64{5.497956, 2.896493}},
	} {
		const n = 3000
		rng := rand.New(rand.NewPCG(17, uint64(tc.rate)))
		var s, s2 [2]float64
		for range n {
			rec := &recorder{den: product([]float32{0.98, 0.01, 0.01}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})}
			gen(t, rec, v, 2, decode.SoftSL{Rate: tc.rate}, decode.Options{Steps: 5, Rand: rng})
			if len(rec.ev) != 5 {
				t.Fatalf("%d denoiser calls, want Steps = 5", len(rec.ev))
			}
			for i := range 2 {
				e := rec.ev[1].Row(i)
				if e[3] != 0 {
					t.Fatalf("evidence row %v carries MASK mass after a refinement", e)
				}
				l := math.Log(float64(e[1]) / float64(e[0]))
				s[i] += l
				s2[i] += l * l
			}
		}
		for i := range 2 {
			m := s[i] / n
			va := s2[i]/n - m*m
			if !within(m, tc.mean[i], 5*math.Sqrt(tc.vari[i]/n)) {
				t.Errorf("rate %v position %d: mean log-ratio %.4f, want %.4f", tc.rate, i, m, tc.mean[i])
			}
			if !within(va, tc.vari[i], 5*tc.vari[i]*math.Sqrt(2.0/n)) {
				t.Errorf("rate %v position %d: variance %.4f, want %.4f", tc.rate, i, va, tc.vari[i])
			}
		}
	}
}

// TestSoftSLCommitEntropy: the entropy policy commits, before the first
// refinement, every position whose belief entropy is below the threshold.
// Rows (0.99, .005, .005), (0.95, .025, .025), (0.9, .05, .05), uniform:
// H = 0.0629, 0.2332, 0.3944, 1.0986 nats. Threshold 0.1 → position 0;
// 0.3 → 0, 1; 0.5 → 0, 1, 2. Committed tokens are drawn from the belief, so
// over the runs position 0 holds token 0 in about 99% of them; the
// committed positions are hard evidence (one-hot) at the next call.
func TestSoftSLCommitEntropy(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.99, 0.005, 0.005}, []float32{0.95, 0.025, 0.025}, []float32{0.9, 0.05, 0.05}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})
	rng := rand.New(rand.NewPCG(1, 9))
	for _, tc := range []struct {
		th   float64
		want []int
	}{{0.1, []int{0}}, {0.3, []int{0, 1}}, {0.5, []int{0, 1, 2}}} {
		tok0 := 0
		const n = 400
		for range n {
			rec := &recorder{den: den}
			res := gen(t, rec, v, 4, decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: tc.th}, decode.Options{Steps: 6, Rand: rng})
			pos, tok := commitsOf(res, 0, 3)
			if !eqInts(pos, tc.want) {
				t.Fatalf("threshold %v: step 0 committed %v, want %v", tc.th, pos, tc.want)
			}
			if tok[0] == 0 {
				tok0++
			}
			for j, i := range pos {
				if e := rec.ev[1].Row(i); e[tok[j]] != 1 {
					t.Fatalf("committed position %d: evidence %v at the next call, want one-hot at %d", i, e, tok[j])
				}
			}
		}
		if f := float64(tok0) / n; !within(f, 0.99, binTol(0.99, n)+0.01) {
			t.Errorf("threshold %v: position 0 committed to token 0 in %.3f of runs, want 0.99", tc.th, f)
		}
	}
}

// TestSoftSLCommitLocalised: the localised policy commits a position once
// its evidence alone puts mass ≥ 1 − threshold on one token: nothing at
// step 0 (no evidence yet), and at step 1 exactly the positions whose
// evidence row handed to that call (softmax(λ_i)) has max ≥ 1 − 0.2 = 0.8.
func TestSoftSLCommitLocalised(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.9, 0.05, 0.05}, []float32{0.6, 0.2, 0.2}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})
	rng := rand.New(rand.NewPCG(4, 9))
	committed, notCommitted := 0, 0
	for range 400 {
		rec := &recorder{den: den}
		res := gen(t, rec, v, 3, decode.SoftSL{Commit: decode.CommitLocalised, CommitThreshold: 0.2}, decode.Options{Steps: 6, Rand: rng})
		if res.Steps[0].Changed != 0 {
			t.Fatalf("step 0 changed %d identities with no evidence yet", res.Steps[0].Changed)
		}
		pos, _ := commitsOf(res, 1, 3)
		in := map[int]bool{}
		for _, i := range pos {
			in[i] = true
		}
		for i := range 3 {
			e := rec.ev[1].Row(i)
			mx := max(e[0], e[1], e[2])
			if math.Abs(float64(mx)-0.8) < 1e-4 {
				continue // at the boundary, float32 rounding decides
			}
			if (mx >= 0.8) != in[i] {
				t.Fatalf("position %d: evidence max %.4f, committed %v", i, mx, in[i])
			}
			if in[i] {
				committed++
			} else {
				notCommitted++
			}
		}
	}
	if committed == 0 || notCommitted == 0 {
		t.Fatalf("the test saw %d commits and %d non-commits: not informative", committed, notCommitted)
	}
}

// TestHybridRelease: rows (0.99, .005, .005) and uniform; the entropy
// policy at 0.1 commits position 0 at step 0 (H = 0.0629 < 0.1 <
// ln 3). Its leave-one-out belief, with no evidence of its own yet, is the
// row itself, so its token's belief is 0.99 or 0.005, below ReleaseBelow
// 0.995 either way: the one corrector move of step 0 releases it. Step 0
// therefore makes exactly two changes (commit, release of position 0) and
// two denoiser calls.
func TestHybridRelease(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.99, 0.005, 0.005}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})
	sl := decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: 0.1}
	for _, c := range []decode.Corrector{decode.CorrectNone, decode.CorrectGibbs} {
		res := gen(t, den, v, 2, decode.Hybrid{SoftSL: sl, Corrector: c, Moves: 1, ReleaseBelow: 0.995}, decode.Options{Steps: 6, Seed: 3})
		ch := res.Steps[0].Changes
		if len(ch) != 2 || ch[0].Pos != 0 || ch[0].From != 3 || ch[1].Pos != 0 || ch[1].From != ch[0].To || ch[1].To != 3 {
			t.Errorf("%v: step 0 changes %+v, want a commit and a release of position 0", c, ch)
		}
		if res.Steps[0].NFE != 2 {
			t.Errorf("%v: step 0 used %d calls, want 2 (refinement and move)", c, res.Steps[0].NFE)
		}
	}
	// ReleaseBelow 0.9: a committed token 0 (belief 0.99) is kept.
	res := gen(t, den, v, 2, decode.Hybrid{SoftSL: sl, Moves: 1, ReleaseBelow: 0.9}, decode.Options{Steps: 6, Seed: 3})
	if ch := res.Steps[0].Changes; len(ch) != 1 || ch[0].To != 0 {
		t.Errorf("release 0.9: step 0 changes %+v, want one commit of token 0 (seed 3)", ch)
	}
}

// TestHybridCorrectorMoves: rows (0.8, 0.2, 0) and uniform; the entropy
// policy at 0.7 commits position 0 at step 0 (H = 0.5004 < 0.7 < ln 3).
// Its leave-one-out belief is (0.8, 0.2, 0) (no evidence of its own), so
// the corrector moves of step 0 target it:
//
//   - Gibbs redraws from it: a move changes the token with probability
//     2·0.8·0.2 = 0.32 in equilibrium (the committed token is already a draw
//     from it), and the token after the moves is 1 with probability 0.2;
//   - kernel MH with the uniform kernel (symmetric between tokens) accepts
//     0 → 1 with probability 0.25 and 1 → 0 always, never token 2 (belief
//     0): the token after 30 moves is 1 with probability 0.2 again, and
//     some moves are accepted.
//
// Only moves (token → token) happen: no release (ReleaseBelow 0).
func TestHybridCorrectorMoves(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.8, 0.2, 0}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3})
	uni, err := kernels.NewUniform(4, 3, kernels.LogLinear{})
	if err != nil {
		t.Fatal(err)
	}
	sl := decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: 0.7}
	const n = 600
	for _, tc := range []struct {
		alg      decode.Hybrid
		jumpRate float64 // per move; NaN: only > 0
	}{
		{decode.Hybrid{SoftSL: sl, Corrector: decode.CorrectGibbs, Moves: 30}, 0.32},
		{decode.Hybrid{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uni, JumpTime: 0.5, Moves: 30}, math.NaN()},
	} {
		rng := rand.New(rand.NewPCG(6, uint64(tc.alg.Corrector)))
		jumps, one := 0, 0
		for range n {
			res := gen(t, den, v, 2, tc.alg, decode.Options{Steps: 6, Rand: rng})
			if res.Steps[0].NFE != 31 {
				t.Fatalf("%s: step 0 used %d calls, want 1 + 30 moves", tc.alg.Name(), res.Steps[0].NFE)
			}
			for _, c := range res.Steps[0].Changes {
				switch {
				case c.From == 3:
				case c.To == 3:
					t.Fatalf("%s: a release without ReleaseBelow", tc.alg.Name())
				case c.To == 2:
					t.Fatalf("%s: a move to a token of belief 0", tc.alg.Name())
				default:
					jumps++
				}
			}
			if res.Trajectory[0][0] == 1 {
				one++
			}
		}
		if f := float64(one) / n; !within(f, 0.2, binTol(0.2, n)) {
			t.Errorf("%s: token 1 after the moves in %.3f of runs, want 0.2", tc.alg.Name(), f)
		}
		rate := float64(jumps) / (30 * n)
		if math.IsNaN(tc.jumpRate) {
			if !(jumps > 0) {
				t.Errorf("%s: no move accepted", tc.alg.Name())
			}
		} else if !within(rate, tc.jumpRate, 0.03) {
			t.Errorf("%s: jump rate %.4f per move, want %.2f", tc.alg.Name(), rate, tc.jumpRate)
		}
	}
}

// TestLRDSoftInput: LRD's soft input after its one refinement call
// (Steps 3: MaxRefine = max(1, 3/4) = 1) has MASK mass 1 − α_i and token
// mass α_i·p̄_i, α_i = 0.5·(1 − H(p_i)/ln 3), p̄ the top-0.9 nucleus:
//
//	row (0.99, .005, .005): H = 0.062933, α = 0.471358, nucleus {0}
//	                        → (0.471358, 0, 0 | MASK 0.528642)
//	uniform row:            α = 0 → (0, 0, 0 | 1)
//	row (0.5, 0.3, 0.2):    H = 1.029653, α = 0.031385, nucleus all
//	                        → α·(0.5, 0.3, 0.2) | 0.968615
//
// The beliefs at that call (product model: q_i·(e_i + e_i(MASK))) move by
// a mean KL(p_0 ‖ p_1) of 0.000553 (0.001650, 0, 0.000008 per position):
// below the default Tol 1e-3, so step 1 commits all three positions; with
// Tol 1e-5 it commits only the lowest-entropy one, position 0
// (H = 0.0368).
func TestLRDSoftInput(t *testing.T) {
	v := tokVocab(t, 3)
	den := product([]float32{0.99, 0.005, 0.005}, []float32{1.0 / 3, 1.0 / 3, 1.0 / 3}, []float32{0.5, 0.3, 0.2})
	want := [][]float64{{0.471358, 0, 0, 0.528642}, {0, 0, 0, 1}, {0.031385 * 0.5, 0.031385 * 0.3, 0.031385 * 0.2, 0.968615}}
	for _, tc := range []struct {
		tol  float64
		want []int
	}{{0, []int{0, 1, 2}}, {1e-5, []int{0}}} {
		rec := &recorder{den: den}
		res := gen(t, rec, v, 3, decode.LRD{Tol: tc.tol}, decode.Options{Steps: 3})
		if res.Steps[0].Changed != 0 {
			t.Fatalf("tol %v: the refinement step committed", tc.tol)
		}
		for i, w := range want {
			e := rec.ev[1].Row(i)
			for c := range w {
				if !within(float64(e[c]), w[c], 2e-5) {
					t.Errorf("tol %v: soft input of position %d is %v, want %v", tc.tol, i, e, w)
					break
				}
			}
		}
		if pos, _ := commitsOf(res, 1, 3); !eqInts(pos, tc.want) {
			t.Errorf("tol %v: step 1 committed %v, want %v", tc.tol, pos, tc.want)
		}
	}
}
