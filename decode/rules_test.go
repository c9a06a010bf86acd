package decode_test

// First-step tests of every sampler rule on product-distribution denoisers
// (package independent: position i's belief, while it is masked, is the
// fixed row q_i whatever the other positions hold). Every expected
// position, count, rate and confidence is derived by hand in the comments;
// statistical checks use tolerances of about five standard errors, written
// so that NaN fails.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// tokVocab returns a vocabulary of n tokens "t0".."t(n−1)" and MASK (id n).
func tokVocab(t testing.TB, n int) *soft.Vocab {
	t.Helper()
	toks := make([]string, n+1)
	for i := range n {
		toks[i] = fmt.Sprintf("t%d", i)
	}
	toks[n] = "[MASK]"
	v, err := soft.NewVocab(toks, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// product returns the product denoiser of the given token rows (MASK column
// appended, probability 0) with MASK id len(row).
func product(rows ...[]float32) independent {
	q := make([][]float32, len(rows))
	for i, r := range rows {
		q[i] = append(append([]float32(nil), r...), 0)
	}
	return independent{q: q, mask: int32(len(rows[0]))}
}

// recorder wraps a denoiser and keeps a copy of the evidence of every call.
type recorder struct {
	den decode.Denoiser
	ev  []*soft.Dense
}

func (r *recorder) Denoise(dst, ev *soft.Dense, t float64) error {
	r.ev = append(r.ev, ev.Clone())
	return r.den.Denoise(dst, ev, t)
}

// gen runs alg with Record on and fails the test on error.
func gen(t testing.TB, den decode.Denoiser, v *soft.Vocab, L int, alg decode.Algorithm, o decode.Options) *decode.Result {
	t.Helper()
	o.Record = true
	res, err := decode.Generate(context.Background(), den, v, L, alg, o)
	if err != nil {
		t.Fatalf("%s: %v", alg.Name(), err)
	}
	return res
}

// commitsOf returns the positions committed (MASK → token) in step k, in
// the order they were made, and their tokens.
func commitsOf(res *decode.Result, k int, mask int32) (pos []int, tok []int32) {
	for _, c := range res.Steps[k].Changes {
		if c.From == mask && c.To != mask {
			pos = append(pos, c.Pos)
			tok = append(tok, c.To)
		}
	}
	return pos, tok
}

func eqInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// within reports |got − want| ≤ tol; NaN fails.
func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// binTol is five standard errors of a frequency of probability p over n
// trials.
func binTol(p float64, n int) float64 { return 5 * math.Sqrt(p*(1-p)/float64(n)) }

// TestLLaDALowConfidenceFirstStep: 4 masked positions, Steps 2, one block:
// step 0 commits ⌊4/2⌋ = 2 tokens. Rows (top probabilities) 0.6, 0.9, 0.5,
// 0.8 at Temperature 0: candidates are the argmaxes (token 0 everywhere)
// with confidences 0.6, 0.9, 0.5, 0.8, so positions 1 (0.9) then 3 (0.8)
// are committed. With rows 0 and 2 tied at 0.7 and the rest lower, the
// tie goes to position 0.
func TestLLaDALowConfidenceFirstStep(t *testing.T) {
	v := tokVocab(t, 2)
	row := func(c float32) []float32 { return []float32{c, 1 - c} }
	for _, tc := range []struct {
		rows [][]float32
		want []int
	}{
		{[][]float32{row(0.6), row(0.9), row(0.5), row(0.8)}, []int{1, 3}},
		{[][]float32{row(0.7), row(0.6), row(0.7), row(0.55)}, []int{0, 2}},
	} {
		res := gen(t, product(tc.rows...), v, 4, decode.LLaDA{}, decode.Options{Steps: 2})
		pos, tok := commitsOf(res, 0, 2)
		if !eqInts(pos, tc.want) || tok[0] != 0 || tok[1] != 0 {
			t.Errorf("rows %v: step 0 committed %v tokens %v, want positions %v, token 0", tc.rows, pos, tok, tc.want)
		}
		// step 1 commits the other two (2 = ⌊4/2⌋ with no remainder)
		if got := res.Steps[1].Committed - res.Steps[0].Committed; got != 2 {
			t.Errorf("step 1 committed %d, want 2", got)
		}
	}
}

// TestLLaDARandomRemasking: with random remasking the confidence is a
// uniform variate, so each of the 4 positions is among the 2 committed in
// step 0 with probability 2/4 = 1/2, whatever the beliefs (the rows of the
// previous test, whose low-confidence choice is always {1, 3}). Over 2000
// runs each count is 1000 ± 5·sqrt(2000/4) ≈ ± 112.
func TestLLaDARandomRemasking(t *testing.T) {
	v := tokVocab(t, 2)
	row := func(c float32) []float32 { return []float32{c, 1 - c} }
	den := product(row(0.6), row(0.9), row(0.5), row(0.8))
	const n = 2000
	var count [4]int
	rng := rand.New(rand.NewPCG(11, 12))
	for range n {
		res := gen(t, den, v, 4, decode.LLaDA{Remasking: decode.RandomRemasking}, decode.Options{Steps: 2, Rand: rng})
		pos, _ := commitsOf(res, 0, 2)
		if len(pos) != 2 {
			t.Fatalf("step 0 committed %v, want 2 positions", pos)
		}
		for _, i := range pos {
			count[i]++
		}
	}
	for i, c := range count {
		if !within(float64(c)/n, 0.5, binTol(0.5, n)) {
			t.Errorf("position %d committed first in %d of %d runs, want about half", i, c, n)
		}
	}
}

// TestLLaDATemperature: one position with belief (0.8, 0.2). At temperature
// T the candidate is drawn from p^(1/T) normalised: T = 0.5 gives
// 0.64/(0.64 + 0.04) = 0.941176 for token 0, T = 2 gives
// sqrt(.8)/(sqrt(.8) + sqrt(.2)) = 2/3, T = 1 the belief 0.8. (An inverted
// exponent would swap the first two.)
func TestLLaDATemperature(t *testing.T) {
	v := tokVocab(t, 2)
	const n = 4000
	for _, tc := range []struct {
		T, want float64
	}{{0.5, 0.941176}, {2, 2.0 / 3}, {1, 0.8}} {
		rng := rand.New(rand.NewPCG(3, uint64(tc.T*10)))
		c := 0
		for range n {
			res := gen(t, product([]float32{0.8, 0.2}), v, 1, decode.LLaDA{Temperature: tc.T}, decode.Options{Steps: 1, Rand: rng})
			if res.Tokens[0] == 0 {
				c++
			}
		}
		if f := float64(c) / n; !within(f, tc.want, binTol(tc.want, n)) {
			t.Errorf("T=%v: token 0 drawn with frequency %.4f, want %.4f", tc.T, f, tc.want)
		}
	}
	// Confidence under the untempered belief. Position 0 (0.8, 0.2),
	// position 1 (0.7, 0.3), T = 2: candidates are token 0 with
	// probabilities 2/3 and sqrt(.7)/(sqrt(.7)+sqrt(.3)) = 0.604356. Keys
	// p(cand): position 0 has 0.8 or 0.2, position 1 has 0.7 or 0.3.
	// Position 0 goes first iff its key is larger: cand₀ = 0 (0.8 beats
	// both), or cand₀ = 1 and cand₁ = 1 is 0.2 vs 0.3: position 1. So
	// P = 2/3.
	rng := rand.New(rand.NewPCG(5, 5))
	den := product([]float32{0.8, 0.2}, []float32{0.7, 0.3})
	c := 0
	for range n {
		res := gen(t, den, v, 2, decode.LLaDA{Temperature: 2}, decode.Options{Steps: 2, Rand: rng})
		if pos, _ := commitsOf(res, 0, 2); pos[0] == 0 {
			c++
		}
	}
	if f := float64(c) / n; !within(f, 2.0/3, binTol(2.0/3, n)) {
		t.Errorf("position 0 first in %.4f of runs, want 2/3", f)
	}
}

// TestFastDLLMThresholdRule: the rows of TestFastDLLMAndEBRules (top
// probabilities 0.99, 0.95, 0.93, 0.8, 0.6, 0.4 at positions 0..5).
// Threshold 0 means 0.9: positions 0, 1, 2 (3 commits); threshold 0.94:
// positions 0, 1; threshold 0.995: none passes, so only the most confident,
// position 0. The committed set and NFE of the whole run follow: at 0.9,
// step 1 sees 0.8, 0.6, 0.4 and commits only position 3, and so on (4
// steps in all).
func TestFastDLLMThresholdRule(t *testing.T) {
	v := tokVocab(t, 3)
	var rows [][]float32
	for _, c := range []float32{0.99, 0.95, 0.93, 0.8, 0.6, 0.4} {
		rows = append(rows, []float32{c, (1 - c) / 2, (1 - c) / 2})
	}
	den := product(rows...)
	for _, tc := range []struct {
		th    float64
		want  []int
		steps int
	}{
		{0, []int{0, 1, 2}, 4},
		{0.94, []int{0, 1}, 5},
		{0.995, []int{0}, 6},
	} {
		res := gen(t, den, v, 6, decode.FastDLLM{Threshold: tc.th}, decode.Options{})
		pos, _ := commitsOf(res, 0, 3)
		if !eqInts(pos, tc.want) {
			t.Errorf("threshold %v: step 0 committed %v, want %v", tc.th, pos, tc.want)
		}
		if len(res.Steps) != tc.steps || res.NFE != tc.steps {
			t.Errorf("threshold %v: %d steps, NFE %d, want %d", tc.th, len(res.Steps), res.NFE, tc.steps)
		}
	}
	// Blocks of 2: the block {0, 1} first (both ≥ 0.9), then {2, 3}: 0.93
	// passes, 0.8 does not, so position 2 alone; position 3 next; then
	// {4, 5}: 0.6 is the most confident, committed alone; then 5.
	res := gen(t, den, v, 6, decode.FastDLLM{}, decode.Options{BlockLen: 2})
	want := [][]int{{0, 1}, {2}, {3}, {4}, {5}}
	if len(res.Steps) != len(want) {
		t.Fatalf("blocks of 2: %d steps, want %d", len(res.Steps), len(want))
	}
	for k, w := range want {
		if pos, _ := commitsOf(res, k, 3); !eqInts(pos, w) {
			t.Errorf("blocks of 2, step %d: committed %v, want %v", k, pos, w)
		}
	}
}

// TestFastDLLMFactorPositions: the factor rule commits the passing prefix
// in decreasing confidence. Rows with top probabilities 0.8, 0.99, 0.6,
// 0.95 (positions 0..3): sorted 0.99 (pos 1), 0.95 (pos 3), 0.8 (pos 0),
// 0.6 (pos 2); (k+1)(1 − c_(k)) = 0.02, 0.15, 0.8, 2.0. f = 0.5 passes
// k = 1, 2 and fails at k = 3 (not the last): positions {1, 3}. f = 1
// passes k ≤ 3 and only the last fails: the reference rule commits all 4,
// the strict prefix {1, 3, 0}. f = 0.1: only position 1.
func TestFastDLLMFactorPositions(t *testing.T) {
	v := tokVocab(t, 2)
	row := func(c float32) []float32 { return []float32{c, 1 - c} }
	den := product(row(0.8), row(0.99), row(0.6), row(0.95))
	for _, tc := range []struct {
		alg  decode.FastDLLM
		want []int
	}{
		{decode.FastDLLM{Factor: 0.5}, []int{1, 3}},
		{decode.FastDLLM{Factor: 1}, []int{1, 3, 0, 2}},
		{decode.FastDLLM{Factor: 1, StrictPrefix: true}, []int{1, 3, 0}},
		{decode.FastDLLM{Factor: 0.1}, []int{1}},
	} {
		res := gen(t, den, v, 4, tc.alg, decode.Options{})
		if pos, _ := commitsOf(res, 0, 2); !eqInts(pos, tc.want) {
			t.Errorf("%+v: step 0 committed %v, want %v", tc.alg, pos, tc.want)
		}
	}
}

// TestMDLMCache: with the cache, MDLM calls the denoiser at step 0 and at
// every later step whose predecessor changed a token, and reuses the
// beliefs otherwise; without it, one call per step. Checked on every run
// of a product denoiser of 3 positions over 12 steps (where steps without a
// commit are frequent), against the trace, with the calls counted by the
// denoiser itself.
func TestMDLMCache(t *testing.T) {
	v := tokVocab(t, 2)
	row := []float32{0.7, 0.3}
	rng := rand.New(rand.NewPCG(9, 9))
	reused := 0
	for range 50 {
		for _, nc := range []bool{false, true} {
			rec := &recorder{den: product(row, row, row)}
			res := gen(t, rec, v, 3, decode.MDLM{NoCache: nc}, decode.Options{Steps: 12, Rand: rng})
			want := 12
			if !nc {
				want = 1
				for k := 1; k < len(res.Steps); k++ {
					if res.Steps[k-1].Changed > 0 {
						want++
					}
				}
				reused += 12 - want
			}
			if res.NFE != want || len(rec.ev) != want {
				t.Fatalf("NoCache %v: NFE %d, denoiser calls %d, want %d", nc, res.NFE, len(rec.ev), want)
			}
		}
	}
	if reused == 0 {
		t.Fatal("the cache was never used")
	}
}

// remdmStats runs alg on L positions (product rows) with Steps 4 and, for
// steps 1 and 2, counts the re-masks of decoded positions and the commits
// of masked positions (from the trace), with the state before the step.
type remdmCounts struct {
	decoded, remasked, masked, unmasked [4]int
}

func remdmStats(t *testing.T, alg decode.Algorithm, den independent, v *soft.Vocab, L, runs int, seed uint64, visit func(k int, before []int32, res *decode.Result)) remdmCounts {
	t.Helper()
	var c remdmCounts
	mask := v.Mask()
	rng := rand.New(rand.NewPCG(seed, seed))
	for range runs {
		res := gen(t, den, v, L, alg, decode.Options{Steps: 4, Rand: rng})
		for k := 1; k <= 2; k++ {
			before := res.Trajectory[k-1]
			for _, x := range before {
				if x == mask {
					c.masked[k]++
				} else {
					c.decoded[k]++
				}
			}
			for _, ch := range res.Steps[k].Changes {
				if ch.To == mask {
					c.remasked[k]++
				} else if ch.From == mask {
					c.unmasked[k]++
				}
			}
			if visit != nil {
				visit(k, before, res)
			}
		}
	}
	return c
}

// TestReMDMRates: Steps 4 on the log-linear schedule α(t) = 1 − (1 − 10⁻³)t:
// α = 0.001, 0.25075, 0.5005, 0.75025, 1 at t = 1, .75, .5, .25, 0.
// σ_max = min(1, (1 − α_s)/α_t): 1 at step 1 (t = .75 → .5), and
// 0.24975/0.5005 = 0.499001 at step 2 (t = .5 → .25). A masked position is
// committed with probability (α_s − (1 − σ)α_t)/(1 − α_t). By hand:
//
//	cap η = 0.3:     σ = 0.3 at both; commit 0.433734 (step 1), 0.800601 (step 2)
//	rescale η = 0.5: σ = 0.5, 0.249500; commit 0.500667, 0.75
//	conf:            masked positions have σ = 0; commit 1/3, 0.5
//
// MDLM (σ = 0, with and without its cache) re-masks nothing and commits
// 1/3 and 0.5.
func TestReMDMRates(t *testing.T) {
	v := tokVocab(t, 2)
	rows := make([][]float32, 32)
	for i := range rows {
		rows[i] = []float32{0.7, 0.3}
	}
	den := product(rows...)
	const runs = 150
	for _, tc := range []struct {
		alg           decode.Algorithm
		sigma, commit [3]float64
	}{
		{decode.ReMDM{Strategy: decode.ReMDMCap, Eta: 0.3}, [3]float64{0, 0.3, 0.3}, [3]float64{0, 0.433734, 0.800601}},
		{decode.ReMDM{Strategy: decode.ReMDMRescale, Eta: 0.5}, [3]float64{0, 0.5, 0.249500}, [3]float64{0, 0.500667, 0.75}},
		{decode.MDLM{NoCache: true}, [3]float64{}, [3]float64{0, 1.0 / 3, 0.5}},
		{decode.MDLM{}, [3]float64{}, [3]float64{0, 1.0 / 3, 0.5}},
	} {
		c := remdmStats(t, tc.alg, den, v, 32, runs, 21, nil)
		for k := 1; k <= 2; k++ {
			if f := float64(c.remasked[k]) / float64(c.decoded[k]); !within(f, tc.sigma[k], binTol(tc.sigma[k], c.decoded[k])) && !(tc.sigma[k] == 0 && c.remasked[k] == 0) {
				t.Errorf("%s step %d: re-mask rate %.4f over %d, want σ = %.4f", tc.alg.Name(), k, f, c.decoded[k], tc.sigma[k])
			}
			if f := float64(c.unmasked[k]) / float64(c.masked[k]); !within(f, tc.commit[k], binTol(tc.commit[k], c.masked[k])) {
				t.Errorf("%s step %d: commit rate %.4f over %d, want %.4f", tc.alg.Name(), k, f, c.masked[k], tc.commit[k])
			}
		}
	}
}

// TestReMDMConf: ReMDM-conf re-masks decoded position i with probability
// σ_max·softmax_j(−ψ_j), ψ the belief in i's token when decoded: in a
// product model ψ_i = q_i(x_i). Half the positions have rows (0.98, 0.02)
// (ψ = 0.98 or 0.02), half (0.5, 0.5) (ψ = 0.5). The expected re-masks of
// each row type, Σ over decoded positions of σ_max·e^{−ψ_i}/Σ_j e^{−ψ_j},
// are computed from the trace with σ_max = 1 (step 1) and 0.499001
// (step 2), and the observed counts must lie within five standard
// deviations; the commit rates are MDLM's, 1/3 and 1/2. (With the sign of
// ψ flipped the confident rows would be re-masked most: far outside.)
func TestReMDMConf(t *testing.T) {
	v := tokVocab(t, 2)
	var rows [][]float32
	for i := range 8 {
		if i%2 == 0 {
			rows = append(rows, []float32{0.98, 0.02})
		} else {
			rows = append(rows, []float32{0.5, 0.5})
		}
	}
	den := product(rows...)
	smax := [3]float64{0, 1, 0.499001}
	var exp, vr, obs [2]float64
	mask := v.Mask()
	visit := func(k int, before []int32, res *decode.Result) {
		var z float64
		for i, x := range before {
			if x != mask {
				z += math.Exp(-float64(rows[i][x]))
			}
		}
		remasked := map[int]bool{}
		for _, ch := range res.Steps[k].Changes {
			if ch.To == mask {
				remasked[ch.Pos] = true
			}
		}
		for i, x := range before {
			if x == mask {
				continue
			}
			p := smax[k] * math.Exp(-float64(rows[i][x])) / z
			exp[i%2] += p
			vr[i%2] += p * (1 - p)
			if remasked[i] {
				obs[i%2]++
			}
		}
	}
	c := remdmStats(t, decode.ReMDM{Strategy: decode.ReMDMConf}, den, v, 8, 3000, 31, visit)
	for g, name := range []string{"confident rows", "uniform rows"} {
		if !(exp[g] > 100) || !within(obs[g], exp[g], 5*math.Sqrt(vr[g])) {
			t.Errorf("ReMDM-conf %s: %v re-masks, want %.1f ± %.1f", name, obs[g], exp[g], 5*math.Sqrt(vr[g]))
		}
	}
	for k, want := range [3]float64{0, 1.0 / 3, 0.5} {
		if k == 0 {
			continue
		}
		if f := float64(c.unmasked[k]) / float64(c.masked[k]); !within(f, want, binTol(want, c.masked[k])) {
			t.Errorf("ReMDM-conf step %d: commit rate %.4f, want %.4f", k, f, want)
		}
	}
}

// dreamRows are four rows over 4 tokens chosen so that each confidence rule
// ranks a different position first (entropies in nats, by hand):
//
//	row 0: (0.5, 0.5, 0, 0)        H = 0.6931, max 0.5,  margin 0
//	row 1: (0.7, 0.1, 0.1, 0.1)    H = 0.9404, max 0.7,  margin 0.6
//	row 2: (0.72, 0.2, 0.08, 0)    H = 0.7605, max 0.72, margin 0.52
//	row 3: (0.4, 0.3, 0.3, 0)      H = 1.0889, max 0.4,  margin 0.1
var dreamRows = [][]float32{{0.5, 0.5, 0, 0}, {0.7, 0.1, 0.1, 0.1}, {0.72, 0.2, 0.08, 0}, {0.4, 0.3, 0.3, 0}}

// TestDreamRules: Steps 2 on the grid 1, 0.5005, 0.001: step 0 commits
// ⌊4·(1 − 0.5005)⌋ = 1 position at Temperature 0, the most confident:
// entropy (−H) → row 0, maskgit_plus (p of the argmax) → row 2,
// topk_margin → row 1; the token is the argmax (row 0: a tie, token 0).
func TestDreamRules(t *testing.T) {
	v := tokVocab(t, 4)
	den := product(dreamRows...)
	for _, tc := range []struct {
		alg decode.DreamAlg
		pos int
	}{{decode.DreamEntropy, 0}, {decode.DreamMaskGitPlus, 2}, {decode.DreamTopKMargin, 1}} {
		res := gen(t, den, v, 4, decode.Dream{Alg: tc.alg}, decode.Options{Steps: 2})
		pos, tok := commitsOf(res, 0, 4)
		if !eqInts(pos, []int{tc.pos}) || tok[0] != 0 {
			t.Errorf("%v: step 0 committed %v (tokens %v), want [%d] token 0", tc.alg, pos, tok, tc.pos)
		}
		if got := res.Steps[1].Committed; got != 4 {
			t.Errorf("%v: %d committed after the last step", tc.alg, got)
		}
	}
}

// TestDreamConfidenceAfterFiltering: the confidence is read on the
// filtered distribution. Top-p 0.5 keeps tokens while the mass before them
// is ≤ 0.5:
//
//	row 0 (0.49, 0.49, 0.02, 0):      keeps 2 → (0.5, 0.5): confidence 0.5
//	row 1 (0.45, 0.35, 0.1, 0.1):     keeps 2 → (0.5625, 0.4375): 0.5625
//	rows 2, 3 (0.25 each):            keep 3 → 1/3 each: 1/3
//
// so maskgit_plus commits position 1 (unfiltered, position 0's 0.49 would
// win). Entropy: row 0 filtered H = ln 2 = 0.6931, row 1 0.6853, rows 2, 3
// ln 3: position 1 again (unfiltered row 0 has 0.7773 < row 1's 1.1873).
func TestDreamConfidenceAfterFiltering(t *testing.T) {
	v := tokVocab(t, 4)
	den := product([]float32{0.49, 0.49, 0.02, 0}, []float32{0.45, 0.35, 0.1, 0.1},
		[]float32{0.25, 0.25, 0.25, 0.25}, []float32{0.25, 0.25, 0.25, 0.25})
	for _, a := range []decode.DreamAlg{decode.DreamMaskGitPlus, decode.DreamEntropy} {
		res := gen(t, den, v, 4, decode.Dream{Alg: a, TopP: 0.5}, decode.Options{Steps: 2})
		if pos, tok := commitsOf(res, 0, 4); !eqInts(pos, []int{1}) || tok[0] != 0 {
			t.Errorf("%v top-p 0.5: step 0 committed %v %v, want [1] token 0", a, pos, tok)
		}
	}
}

// TestDreamSampling: the candidate is drawn from the filtered, tempered
// belief. Row (0.45, 0.35, 0.1, 0.1): top-p 0.5 at T = 1 draws from
// (0.5625, 0.4375, 0, 0); T = 0.5 without top-p from p² normalised:
// (0.2025, 0.1225, 0.01, 0.01)/0.345 = (0.586957, 0.355072, 0.028986,
// 0.028986); top-k 1 at T = 1 always token 0.
func TestDreamSampling(t *testing.T) {
	v := tokVocab(t, 4)
	den := product([]float32{0.45, 0.35, 0.1, 0.1})
	const n = 4000
	for _, tc := range []struct {
		alg  decode.Dream
		want [4]float64
	}{
		{decode.Dream{Temperature: 1, TopP: 0.5}, [4]float64{0.5625, 0.4375, 0, 0}},
		{decode.Dream{Temperature: 0.5}, [4]float64{0.586957, 0.355072, 0.028986, 0.028986}},
		{decode.Dream{Temperature: 1, TopK: 1}, [4]float64{1, 0, 0, 0}},
		{decode.Dream{Alg: decode.DreamMaskGitPlus, Temperature: 1}, [4]float64{0.45, 0.35, 0.1, 0.1}},
	} {
		var cnt [4]int
		rng := rand.New(rand.NewPCG(8, 8))
		for range n {
			res := gen(t, den, v, 1, tc.alg, decode.Options{Steps: 1, Rand: rng})
			cnt[res.Tokens[0]]++
		}
		for tok, p := range tc.want {
			f := float64(cnt[tok]) / n
			if p == 0 && cnt[tok] != 0 || !within(f, p, binTol(p, n)) {
				t.Errorf("%+v: token %d frequency %.4f, want %.4f", tc.alg, tok, f, p)
			}
		}
	}
}

// TestDreamAlgTemp: with AlgTemp τ > 0 the committed position is drawn
// from softmax(confidence/τ). maskgit_plus at Temperature 0 on dreamRows:
// confidences 0.5, 0.7, 0.72, 0.4; τ = 0.1 gives weights e^5, e^7, e^7.2,
// e^4 → (0.056237, 0.415537, 0.507538, 0.020688) (softmax computed below
// from those confidences); the frequencies of the first committed
// position over 3000 runs pass a chi-square test at level 1e-4.
func TestDreamAlgTemp(t *testing.T) {
	v := tokVocab(t, 4)
	den := product(dreamRows...)
	conf := []float64{0.5, 0.7, 0.72, 0.4}
	const tau, n = 0.1, 3000
	var z float64
	p := make([]float64, 4)
	for i, c := range conf {
		p[i] = math.Exp(c / tau)
		z += p[i]
	}
	var cnt [4]int
	rng := rand.New(rand.NewPCG(4, 1))
	for range n {
		res := gen(t, den, v, 4, decode.Dream{Alg: decode.DreamMaskGitPlus, AlgTemp: tau}, decode.Options{Steps: 2, Rand: rng})
		pos, _ := commitsOf(res, 0, 4)
		if len(pos) != 1 {
			t.Fatalf("step 0 committed %v, want one position", pos)
		}
		cnt[pos[0]]++
	}
	var x2 float64
	for i := range p {
		e := n * p[i] / z
		x2 += (float64(cnt[i]) - e) * (float64(cnt[i]) - e) / e
	}
	if crit := chiCrit(3); !(x2 <= crit) {
		t.Errorf("alg_temp: counts %v, chi-square %.1f > %.1f (want probabilities %v / %.1f)", cnt, x2, crit, p, z)
	}
}

// TestDreamOrigin: DreamOrigin unmasks each masked position with
// probability 1 − s/t. The grid runs from t = 1 to ε = 10⁻³ in equal steps,
// so step 0 of S ends at s = 1 − 0.999/S: 1 − 0.5005 = 0.4995 at S = 2 and
// 1 − 0.75025 = 0.24975 at S = 4 (there a rule unmasking with probability
// s/t instead, 0.75025, fails; at S = 2 the two coincide).
func TestDreamOrigin(t *testing.T) {
	v := tokVocab(t, 2)
	rows := make([][]float32, 64)
	for i := range rows {
		rows[i] = []float32{0.6, 0.4}
	}
	for _, c := range []struct {
		steps int
		want  float64
	}{{2, 0.4995}, {4, 0.24975}} {
		rng := rand.New(rand.NewPCG(2, 3))
		k, n := 0, 0
		for range 100 {
			res := gen(t, product(rows...), v, 64, decode.Dream{Alg: decode.DreamOrigin}, decode.Options{Steps: c.steps, Rand: rng})
			k += res.Steps[0].Committed
			n += 64
		}
		if f := float64(k) / float64(n); !within(f, c.want, binTol(c.want, n)) {
			t.Errorf("origin, %d steps: step 0 unmask rate %.4f, want %.5f", c.steps, f, c.want)
		}
	}
}

// TestCARTFirstSteps: CART on L = 8 with fixed tokens at 0 and 5 (free
// positions 1, 2, 3, 4, 6, 7), p = 0.5 (q = 1 − p = 0.5), Steps 3: LLaDA's
// count ⌊6/3⌋ = 2 per step. Weights w_i = ½p Σ_{unmasked j} q^{|i−j|−1},
// by hand:
//
//	step 0 (unmasked 0, 5): w_1 = w_4 = 0.25·(1 + q³) = 0.28125,
//	  w_6 = 0.25·(1 + q⁵) = 0.2578, w_2 = w_3 = 0.25·(q + q²) = 0.1875,
//	  w_7 = 0.25·(q + q⁶) = 0.1289 → commits {1, 4}, a tie broken at
//	  random (1 first with probability 1/2);
//	step 1 (unmasked 0, 1, 4, 5): w_2 = w_3 = 0.25·(1 + 2q + q²) = 0.5625,
//	  w_6 = 0.25·(1 + q + q⁴ + q⁵) = 0.3984, w_7 = 0.25·(q + q² + q⁵ + q⁶)
//	  = 0.1992 → commits {2, 3};
//	step 2 commits {6, 7}.
//
// At Temperature 0 each committed token is the argmax of its row (token
// (i mod 3) here). Over 400 runs, position 1 goes first 200 ± 5·10 times.
// A rule ranking by increasing weight, dropping either pass of the weight
// sums (w_4 or w_1 would lose its near context) or breaking ties by
// position fails.
func TestCARTFirstSteps(t *testing.T) {
	v := tokVocab(t, 3)
	rows := make([][]float32, 8)
	for i := range rows {
		rows[i] = []float32{0.2, 0.2, 0.2}
		rows[i][i%3] = 0.6
	}
	den := product(rows...)
	fixed := []int32{0, 3, 3, 3, 3, 0, 3, 3}
	for i, x := range fixed {
		if x == 3 {
			fixed[i] = soft.NoToken
		}
	}
	rng := rand.New(rand.NewPCG(31, 32))
	const n = 400
	first1 := 0
	for range n {
		res := gen(t, den, v, 8, decode.CART{P: 0.5}, decode.Options{Steps: 3, Rand: rng, Fixed: fixed})
		for k, want := range [][2]int{{1, 4}, {2, 3}, {6, 7}} {
			pos, tok := commitsOf(res, k, 3)
			if len(pos) != 2 || min(pos[0], pos[1]) != want[0] || max(pos[0], pos[1]) != want[1] {
				t.Fatalf("step %d committed %v, want {%d, %d}", k, pos, want[0], want[1])
			}
			for j, p := range pos {
				if tok[j] != int32(p%3) {
					t.Fatalf("step %d: position %d got token %d, want the argmax %d", k, p, tok[j], p%3)
				}
			}
			if k == 0 && pos[0] == 1 {
				first1++
			}
		}
	}
	if !within(float64(first1)/n, 0.5, binTol(0.5, n)) {
		t.Fatalf("position 1 first in %d of %d runs, want about half (random tie break)", first1, n)
	}
}

// TestReMDMLoopRates: ReMDM-loop with its defaults (η = 0.02, t_on = 0.55,
// t_off = 0.05, α_on = 0.9) on the explicit grid t = 1, 0.75, 0.55, 0.3,
// 0.05, 0.025, 0, which puts step starts and ends on t_on and t_off
// exactly. α is α_on·(1 − t)/(1 − t_on) above t_on, α_on between,
// 1 − (1 − α_on)t/t_off below t_off: α = 0, 0.5, 0.9, 0.9, 0.9, 0.95 at
// the six step starts. Per step,
// by hand (re-mask probability σ of a decoded position, commit probability
// (α_s − (1 − σ)α_t)/(1 − α_t) of a masked one):
//
//	step 0, t 1 → 0.75:    α 0 → 0.5,   σ 0 (t > t_on),  commit 0.5
//	step 1, t 0.75 → 0.55: α 0.5 → 0.9, σ 0 (t > t_on),  commit 0.4/0.5 = 0.8
//	step 2, t 0.55 → 0.3:  α 0.9 → 0.9, σ η (t ≤ t_on),  commit 0.018/0.1 = 0.18
//	step 3, t 0.3 → 0.05:  α 0.9 → 0.9, σ η (s ≥ t_off), commit 0.18
//	step 4, t 0.05 → 0.025: α 0.9 → 0.95, σ 0 (s < t_off), commit 0.05/0.1 = 0.5
//	step 5, the last:       σ 0, commit 1
//
// Rates over 300 runs of 64 positions, within five standard errors. A
// wrong default, a loop window that excludes either end (t < t_on, s >
// t_off), a σ outside the window or α of the wrong phase moves a rate
// outside its band; the settings the loop cannot honour are errors.
func TestReMDMLoopRates(t *testing.T) {
	v := tokVocab(t, 2)
	rows := make([][]float32, 64)
	for i := range rows {
		rows[i] = []float32{0.7, 0.3}
	}
	den := product(rows...)
	mask := v.Mask()
	grid := decode.TimesGrid{0.75, 0.55, 0.3, 0.05, 0.025, 0}
	sigma := [6]float64{0, 0, 0.02, 0.02, 0, 0}
	commit := [6]float64{0.5, 0.8, 0.18, 0.18, 0.5, 1}
	var decoded, remasked, masked, unmasked [6]int
	rng := rand.New(rand.NewPCG(41, 42))
	for range 300 {
		res := gen(t, den, v, 64, decode.ReMDM{Strategy: decode.ReMDMLoop, Grid: grid}, decode.Options{Steps: 6, Rand: rng})
		for k := range 6 {
			for i := range 64 {
				if k == 0 || res.Trajectory[k-1][i] == mask {
					masked[k]++
				} else {
					decoded[k]++
				}
			}
			for _, ch := range res.Steps[k].Changes {
				if ch.To == mask {
					remasked[k]++
				} else if ch.From == mask {
					unmasked[k]++
				}
			}
		}
	}
	for k := range 6 {
		if f := float64(remasked[k]) / float64(max(decoded[k], 1)); !(sigma[k] == 0 && remasked[k] == 0) && !within(f, sigma[k], binTol(sigma[k], decoded[k])) {
			t.Errorf("step %d: re-mask rate %.4f over %d decoded, want σ = %v", k, f, decoded[k], sigma[k])
		}
		if f := float64(unmasked[k]) / float64(masked[k]); !(commit[k] == 1 && unmasked[k] == masked[k]) && !within(f, commit[k], binTol(commit[k], masked[k])) {
			t.Errorf("step %d: commit rate %.4f over %d masked, want %v", k, f, masked[k], commit[k])
		}
	}
	// (1 − α_on)/α_on = 0.1111 bounds η; t_off < t_on < 1; 0 < α_on < 1.
	for _, bad := range []decode.ReMDM{
		{Strategy: decode.ReMDMLoop, Eta: 0.12},
		{Strategy: decode.ReMDMLoop, TOn: 0.3, TOff: 0.3},
		{Strategy: decode.ReMDMLoop, TOn: 1},
		{Strategy: decode.ReMDMLoop, AlphaOn: 1},
		{Strategy: decode.ReMDMLoop, Eta: -0.01},
		{Strategy: decode.ReMDMCap, AlphaOn: -0.5},
		{Strategy: decode.ReMDMCap, AlphaOn: 1}, // validated for every strategy (the loop would also fail the η bound)
		{Strategy: decode.ReMDMStrategy(4)},
		{Strategy: decode.ReMDMStrategy(-1)},
	} {
		if _, err := decode.Generate(context.Background(), den, v, 64, bad, decode.Options{Steps: 5}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	// Out-of-range window and rate settings are errors naming the setting:
	// a negative t_off (the window would reach s = 0, which the loop's
	// formula 1 − (1 − α_on)t/t_off cannot hold), t_on ≤ 0, NaN, and
	// rescale's η above 1 (σ_t = η·σ_max > σ_max makes the stay-masked
	// probability (1 − α_s − σ_t α_t)/(1 − α_t) negative).
	for _, c := range []struct {
		alg   decode.ReMDM
		field string
	}{
		{decode.ReMDM{Strategy: decode.ReMDMLoop, TOff: -0.1, Eta: 0.1}, "t_off"},
		{decode.ReMDM{Strategy: decode.ReMDMLoop, TOff: math.NaN()}, "t_off"},
		{decode.ReMDM{Strategy: decode.ReMDMLoop, TOn: -0.2, TOff: -0.3}, "t_on"},
		{decode.ReMDM{Strategy: decode.ReMDMLoop, TOn: math.NaN()}, "t_on"},
		{decode.ReMDM{Strategy: decode.ReMDMLoop, TOn: 0.3, TOff: 0.3}, "t_off"},
		{decode.ReMDM{Strategy: decode.ReMDMCap, TOff: -0.1}, "t_off"},
		{decode.ReMDM{Strategy: decode.ReMDMLoop, AlphaOn: math.NaN()}, "alpha_on"},
		{decode.ReMDM{Strategy: decode.ReMDMCap, Eta: math.NaN()}, "eta"},
		{decode.ReMDM{Strategy: decode.ReMDMRescale, Eta: 1.5}, "eta"},
	} {
		_, err := decode.Generate(context.Background(), den, v, 64, c.alg, decode.Options{Steps: 5})
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: error %v, want one naming %s", c.alg, err, c.field)
		}
	}
	// The η bound's error names the bound: (1 − 0.9)/0.9 = 0.1111.
	_, err := decode.Generate(context.Background(), den, v, 64, decode.ReMDM{Strategy: decode.ReMDMLoop, Eta: 0.12}, decode.Options{Steps: 5})
	if err == nil || !strings.Contains(err.Error(), "= 0.1111") {
		t.Errorf("η 0.12 on the loop: error %v, want one naming the bound 0.1111", err)
	}
	for _, ok := range []decode.ReMDM{
		{Strategy: decode.ReMDMLoop, Eta: 0.11},
		{Strategy: decode.ReMDMLoop, AlphaOn: 0.5, Eta: 1}, // η = (1 − α_on)/α_on exactly: the loop commits with probability 1
		{Strategy: decode.ReMDMLoop, TOn: 0.3, TOff: 0.29},
		{Strategy: decode.ReMDMCap, Eta: 5},
		{Strategy: decode.ReMDMRescale, Eta: 1}, // σ_t = σ_max: the largest rescale the law allows
	} {
		if _, err := decode.Generate(context.Background(), den, v, 64, ok, decode.Options{Steps: 5}); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}
