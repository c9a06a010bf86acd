package decode_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// key packs a short token sequence into a map key.
func key(x []int32) string { return fmt.Sprint(x) }

// chiSquare returns Pearson's statistic of counts against the exact
// probabilities logp (both keyed by sequence) and its degrees of freedom.
// Sequences of probability zero that were drawn make the statistic +Inf.
// The sum runs over the sequences in sorted key order, so the statistic is
// the same bits on every call.
func chiSquare(counts map[string]int, logp map[string]float64, n int) (float64, int) {
	var x2 float64
	for _, k := range slices.Sorted(maps.Keys(logp)) {
		e := float64(n) * math.Exp(logp[k])
		d := float64(counts[k]) - e
		x2 += d * d / e
	}
	for k := range counts {
		if _, ok := logp[k]; !ok {
			return math.Inf(1), len(logp) - 1
		}
	}
	return x2, len(logp) - 1
}

// chiCrit is the 1 − 1e-4 quantile of the chi-square law with df degrees
// of freedom.
func chiCrit(df int) float64 { return distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-4) }

// exactSupport enumerates the support of a corpus by sampling it until the
// probabilities seen sum to 1 (a corpus is a finite list of sentences).
func exactSupport(t *testing.T, m oracle.Model) map[string]float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string]float64{}
	var mass float64
	x := make([]int32, m.Len())
	for i := 0; i < 1_000_000 && mass < 1-1e-9; i++ {
		m.Sample(x, rng)
		k := key(x)
		if _, ok := out[k]; ok {
			continue
		}
		lp, err := m.LogProb(x)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = lp
		mass += math.Exp(lp)
	}
	if !(math.Abs(mass-1) <= 1e-6) {
		t.Fatalf("support mass %v", mass)
	}
	return out
}

// TestOneTokenPerStepIsExact: with an exact oracle, committing one token per
// step in random order draws exactly from the joint (the chain rule), so the
// sample frequencies pass a chi-square test at level 1e-4.
func TestOneTokenPerStepIsExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    oracle.Model
		n    int
	}{{"two-sentence", oracle.TwoSentence(), 2000}, {"agreement", oracle.Agreement(), 6000}} {
		t.Run(tc.name, func(t *testing.T) {
			sup := exactSupport(t, tc.m)
			counts := map[string]int{}
			rng := rand.New(rand.NewPCG(7, 8))
			L := tc.m.Len()
			for s := 0; s < tc.n; s++ {
				res, err := decode.Generate(context.Background(), tc.m, tc.m.Vocab(), L,
					decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1},
					decode.Options{Steps: L, Rand: rng})
				if err != nil {
					t.Fatal(err)
				}
				if res.NFE != L {
					t.Fatalf("NFE %d, want %d", res.NFE, L)
				}
				counts[key(res.Tokens)]++
			}
			x2, df := chiSquare(counts, sup, tc.n)
			crit := chiCrit(df)
			if !(x2 <= crit) {
				t.Fatalf("chi-square %.1f > %.1f (df %d)", x2, crit, df)
			}
		})
	}
}

// TestHardSamplersRun runs every hard sampler on the agreement corpus and
// checks the contract: a full sequence, NFE counted, per-step statistics.
func TestHardSamplersRun(t *testing.T) {
	m := oracle.Agreement()
	L := m.Len()
	algs := []decode.Algorithm{
		decode.MDLM{}, decode.MDLM{NoCache: true},
		decode.LLaDA{}, decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 0.5},
		decode.Dream{}, decode.DreamDefaults(), decode.Dream{Alg: decode.DreamMaskGitPlus, Temperature: 1, AlgTemp: 0.5},
		decode.Dream{Alg: decode.DreamTopKMargin, TopK: 2, Temperature: 1}, decode.Dream{Alg: decode.DreamOrigin, Temperature: 1},
		decode.FastDLLM{}, decode.FastDLLM{Factor: 1},
		decode.ReMDM{}, decode.ReMDM{Strategy: decode.ReMDMRescale}, decode.ReMDM{Strategy: decode.ReMDMConf}, decode.ReMDM{Strategy: decode.ReMDMLoop},
		decode.EB{}, decode.EB{Gamma: 1, Temperature: 1},
	}
	for _, a := range algs {
		t.Run(a.Name(), func(t *testing.T) {
			for s := 0; s < 20; s++ {
				res, err := decode.Generate(context.Background(), m, m.Vocab(), L, a, decode.Options{Seed: uint64(s), Steps: 4, CompleteOnError: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Tokens) != L || res.NFE < 1 || len(res.Steps) == 0 {
					t.Fatalf("tokens %v NFE %d steps %d", res.Tokens, res.NFE, len(res.Steps))
				}
				for _, id := range res.Tokens {
					if id < 0 || id == m.Vocab().Mask() {
						t.Fatalf("bad token in %v", res.Tokens)
					}
				}
				if got := res.Steps[len(res.Steps)-1].Committed; got != L {
					t.Fatalf("last step committed %d", got)
				}
			}
		})
	}
}

// faulty is a denoiser that writes a fixed bad value into one belief entry
// after a correct oracle call: the samplers must return an error naming
// the position, not panic or propagate NaN.
type faulty struct {
	m   oracle.Model
	pos int
	v   float32
	col int
}

func (f faulty) Denoise(dst, ev *soft.Dense, t float64) error {
	if err := f.m.Denoise(dst, ev, t); err != nil {
		return err
	}
	dst.Row(f.pos)[f.col] = f.v
	return nil
}

func TestFaultyDenoiserIsAnError(t *testing.T) {
	m := oracle.Agreement()
	v := m.Vocab()
	for _, f := range []faulty{{m, 2, float32(math.NaN()), 0}, {m, 1, 0.5, int(v.Mask())}, {m, 3, -1, 1}} {
		for _, a := range []decode.Algorithm{decode.MDLM{}, decode.SoftSL{}, decode.EB{}} {
			_, err := decode.Generate(context.Background(), f, v, m.Len(), a, decode.Options{Seed: 1})
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("position %d", f.pos)) {
				t.Errorf("%s with a bad belief at position %d: error %v", a.Name(), f.pos, err)
			}
		}
	}
}

// TestLLaDASchedule: LLaDA's per-step commit counts (⌊M/S⌋, one more in the
// first M mod S steps of each block), its semi-autoregressive blocks (no
// position of a later block is committed before the block in hand is
// done), fixed prompt tokens kept, and the divisibility errors.
func TestLLaDASchedule(t *testing.T) {
	h, err := oracle.Sticky(4, 12, 0.7, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	v := h.Vocab()
	fixed := make([]int32, 12)
	for i := range fixed {
		fixed[i] = soft.NoToken
	}
	fixed[0], fixed[1] = 2, 3 // a two-token prompt; 10 free positions
	res, err := decode.Generate(context.Background(), h, v, 12, decode.LLaDA{Temperature: 1},
		decode.Options{Steps: 6, BlockLen: 5, Fixed: fixed, Record: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 2 blocks of 5 free positions, 3 steps each: counts 2, 2, 1 per block
	// (5 = 3·1 + 2: one more in the first 2 steps).
	want := []int{2, 2, 1, 2, 2, 1}
	prev := 2
	for k, st := range res.Steps {
		if got := st.Committed - prev; got != want[k] {
			t.Fatalf("step %d committed %d, want %d", k, got, want[k])
		}
		prev = st.Committed
		for i, tok := range res.Trajectory[k] {
			if k < 3 && i >= 7 && tok != v.Mask() {
				t.Fatalf("step %d: position %d of the second block committed early", k, i)
			}
		}
	}
	if res.Tokens[0] != 2 || res.Tokens[1] != 3 {
		t.Fatalf("prompt changed: %v", res.Tokens)
	}
	for _, o := range []decode.Options{{Steps: 5, BlockLen: 5, Fixed: fixed}, {Steps: 6, BlockLen: 4, Fixed: fixed}} {
		if _, err := decode.Generate(context.Background(), h, v, 12, decode.LLaDA{}, o); err == nil {
			t.Errorf("steps %d, block %d: no divisibility error", o.Steps, o.BlockLen)
		}
	}
}

// TestDreamSchedule: Dream's confidence algorithms commit
// k = ⌊M·(1 − s/t)⌋ of the M masked positions on the grid
// linspace(1, 1e-3, N+1), all on the last step. For L = 10, N = 4 (by hand):
// t = 1, .75025, .5005, .25075, .001 → k = ⌊10·.24975⌋ = 2, ⌊8·.33289⌋ = 2,
// ⌊6·.49900⌋ = 2, then the last 4.
func TestDreamSchedule(t *testing.T) {
	h, err := oracle.Sticky(4, 10, 0.7, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []decode.Algorithm{decode.Dream{}, decode.Dream{Alg: decode.DreamTopKMargin, AlgTemp: 0.3, Temperature: 1}} {
		res, err := decode.Generate(context.Background(), h, h.Vocab(), 10, a, decode.Options{Steps: 4, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		want := []int{2, 2, 2, 4}
		prev := 0
		for k, st := range res.Steps {
			if got := st.Committed - prev; got != want[k] {
				t.Fatalf("%s step %d committed %d, want %d", a.Name(), k, got, want[k])
			}
			prev = st.Committed
		}
	}
}

// independent is the exact denoiser of a product distribution
// p(x) = Π_i q_i(x_i): the belief at i given evidence e_i is
// q_i(v)·(e_i(v) + e_i(MASK)), normalised.
type independent struct {
	q    [][]float32
	mask int32
}

func (m independent) Denoise(dst, ev *soft.Dense, t float64) error {
	for i, qi := range m.q {
		row, e := dst.Row(i), ev.Row(i)
		var z float64
		for v := range row {
			row[v] = 0
			if int32(v) != m.mask {
				row[v] = qi[v] * (e[v] + e[m.mask])
				z += float64(row[v])
			}
		}
		if z == 0 {
			return fmt.Errorf("contradictory evidence at positions [%d]", i)
		}
		for v := range row {
			row[v] = float32(float64(row[v]) / z)
		}
	}
	return nil
}

// TestFastDLLMAndEBRules checks the first step of the Fast-dLLM and EB rules
// on a product distribution whose rows have top probabilities 0.99, 0.95,
// 0.93, 0.8, 0.6, 0.4 (the rest split evenly over the two other tokens).
// Expected counts, by hand: threshold 0.9 → 3; factor rule, candidate k
// passes when (k+1)(1 − c_(k)) ≤ f, the values being 0.02, 0.15, 0.28,
// 1.0, 2.4, 4.2 (k = 1…6), so f = 0.1 → 1, f = 0.5 → 3, f = 1.5 → 4; at
// f = 3 only the last (4.2) fails: the reference code commits all 6, the
// strict prefix rule 5; EB entropies of the three most confident rows
// 0.0629, 0.2331, 0.3021 nats, so γ = 0 → 1, γ = 0.1 → 2, γ = 0.3 → 3.
func TestFastDLLMAndEBRules(t *testing.T) {
	v, err := soft.NewVocab([]string{"a", "b", "c", "[MASK]"}, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	var q [][]float32
	for _, c := range []float32{0.99, 0.95, 0.93, 0.8, 0.6, 0.4} {
		q = append(q, []float32{c, (1 - c) / 2, (1 - c) / 2, 0})
	}
	den := independent{q: q, mask: 3}
	for _, tc := range []struct {
		alg  decode.Algorithm
		want int
	}{
		{decode.FastDLLM{Threshold: 0.9}, 3},
		{decode.FastDLLM{Factor: 0.1}, 1},
		{decode.FastDLLM{Factor: 0.5}, 3},
		{decode.FastDLLM{Factor: 1.5}, 4},
		{decode.FastDLLM{Factor: 1.5, StrictPrefix: true}, 4},
		{decode.FastDLLM{Factor: 3}, 6},
		{decode.FastDLLM{Factor: 3, StrictPrefix: true}, 5},
		{decode.EB{}, 1},
		{decode.EB{Gamma: 0.1}, 2},
		{decode.EB{Gamma: 0.3}, 3},
	} {
		res, err := decode.Generate(context.Background(), den, v, 6, tc.alg, decode.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Steps[0].Committed; got != tc.want {
			t.Errorf("%s %+v: first step committed %d, want %d", tc.alg.Name(), tc.alg, got, tc.want)
		}
		for i, tok := range res.Tokens { // greedy: every row's argmax is token 0
			if tok != 0 {
				t.Errorf("%s: position %d token %d, want the argmax 0", tc.alg.Name(), i, tok)
			}
		}
	}
}

// TestFastDLLMFactorLastPair: two masked positions whose candidates have
// confidence 0.9 and 0.55, f = 0.5: the second fails (3·(1 − 0.55) = 1.35
// > 0.5). It is the last candidate, so the reference rule commits both in
// one step (its cut moves past the last index), while the strict prefix
// rule commits only the first and needs a second step.
func TestFastDLLMFactorLastPair(t *testing.T) {
	v, err := soft.NewVocab([]string{"a", "b", "[MASK]"}, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	den := independent{q: [][]float32{{0.9, 0.1, 0}, {0.55, 0.45, 0}}, mask: 2}
	for _, tc := range []struct {
		strict       bool
		first, steps int
	}{{false, 2, 1}, {true, 1, 2}} {
		res, err := decode.Generate(context.Background(), den, v, 2, decode.FastDLLM{Factor: 0.5, StrictPrefix: tc.strict}, decode.Options{Record: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps[0].Committed != tc.first || len(res.Steps) != tc.steps {
			t.Errorf("strict %v: first step committed %d in %d steps, want %d in %d", tc.strict, res.Steps[0].Committed, len(res.Steps), tc.first, tc.steps)
		}
		if c := res.Steps[0].Changes[0]; c.Pos != 0 || c.To != 0 {
			t.Errorf("strict %v: first commit %+v, want position 0 ← token 0 (the most confident)", tc.strict, c)
		}
	}
}

// TestMDLMAndReMDMRates: on a product distribution of 64 positions, MDLM's
// first step of 4 (log-linear, α(1) = 1e-3, α(0.75) = 0.25075) unmasks each
// position with probability (α_s − α_t)/(1 − α_t) = 0.25, so 16 on average
// (over 300 runs the mean is within 0.6 of 16: 5 standard errors of
// sqrt(64·0.25·0.75/300) ≈ 0.1); ReMDM-rescale with η = 1 re-masks decoded
// tokens with probability σ_max = (1 − α_s)/α_t at the later steps, so
// positions change more often than they are committed.
func TestMDLMAndReMDMRates(t *testing.T) {
	v, err := soft.NewVocab([]string{"a", "b", "[MASK]"}, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	q := make([][]float32, 64)
	for i := range q {
		q[i] = []float32{0.7, 0.3, 0}
	}
	den := independent{q: q, mask: 2}
	rng := rand.New(rand.NewPCG(6, 6))
	var sum float64
	const runs = 300
	for range runs {
		res, err := decode.Generate(context.Background(), den, v, 64, decode.MDLM{NoCache: true}, decode.Options{Steps: 4, Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		sum += float64(res.Steps[0].Committed)
	}
	if mean := sum / runs; !(math.Abs(mean-16) <= 0.6) {
		t.Fatalf("MDLM first-step commits %.2f, want 16", mean)
	}
	res, err := decode.Generate(context.Background(), den, v, 64, decode.ReMDM{Strategy: decode.ReMDMRescale, Eta: 1}, decode.Options{Steps: 8, Rand: rng})
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, st := range res.Steps {
		changed += st.Changed
	}
	if !(changed > 64+10) {
		t.Fatalf("ReMDM changed %d identities over the run: no re-masking", changed)
	}
}

// TestChiSquareFixedOrder: chiSquare sums in sorted key order. On 300 keys
// whose terms span many magnitudes (expected counts n·p with p ∝ 1.07^i, a
// 2⁻ⁱ-style spread, and counts 0..6), a float64 sum depends on its order,
// so the statistic must equal, bit for bit on every call, the sum written
// out here over slices.Sorted keys (the reference); a sum in map order
// differs from it on most calls.
func TestChiSquareFixedOrder(t *testing.T) {
	const m, n = 300, 1000
	logp := map[string]float64{}
	counts := map[string]int{}
	var z float64
	for i := range m {
		z += math.Pow(1.07, float64(i))
	}
	for i := range m {
		k := fmt.Sprintf("s%03d", i)
		logp[k] = float64(i)*math.Log(1.07) - math.Log(z)
		counts[k] = i % 7
	}
	var want float64
	for _, k := range slices.Sorted(maps.Keys(logp)) {
		e := n * math.Exp(logp[k])
		d := float64(counts[k]) - e
		want += d * d / e
	}
	for c := range 50 {
		got, df := chiSquare(counts, logp, n)
		if df != m-1 {
			t.Fatalf("df %d, want %d", df, m-1)
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("call %d: statistic %v (bits %x), want %v (bits %x) from the sorted-order sum", c, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}
