package decode_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// enumerate returns log p(x) for every token sequence of m with p > 0, by
// brute-force enumeration of all (K−1)^L sequences over the non-MASK ids.
func enumerate(t testing.TB, m oracle.Model) map[string]float64 {
	t.Helper()
	v := m.Vocab()
	var toks []int32
	for id := int32(0); int(id) < v.Size(); id++ {
		if id != v.Mask() {
			toks = append(toks, id)
		}
	}
	L := m.Len()
	if math.Pow(float64(len(toks)), float64(L)) > 2e5 {
		t.Fatalf("enumerate: %d^%d sequences is too many", len(toks), L)
	}
	out := map[string]float64{}
	x := make([]int32, L)
	idx := make([]int, L)
	var mass float64
	for {
		for i := range x {
			x[i] = toks[idx[i]]
		}
		lp, err := m.LogProb(x)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsInf(lp, -1) {
			out[key(x)] = lp
			mass += math.Exp(lp)
		}
		i := 0
		for ; i < L; i++ {
			idx[i]++
			if idx[i] < len(toks) {
				break
			}
			idx[i] = 0
		}
		if i == L {
			break
		}
	}
	if !(math.Abs(mass-1) <= 1e-9) {
		t.Fatalf("enumerated mass %v", mass)
	}
	return out
}

// TestOneTokenPerStepExactHMM: committing one token per step in random order
// reproduces a small random HMM's law (chi-square at level 1e-4).
func TestOneTokenPerStepExactHMM(t *testing.T) {
	m, err := oracle.RandomHMM(rand.New(rand.NewPCG(3, 4)), 3, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	sup := enumerate(t, m)
	const n = 8000
	counts := map[string]int{}
	rng := rand.New(rand.NewPCG(9, 9))
	for range n {
		res, err := decode.Generate(context.Background(), m, m.Vocab(), 4,
			decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, decode.Options{Steps: 4, Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		counts[key(res.Tokens)]++
	}
	x2, df := chiSquare(counts, sup, n)
	crit := chiCrit(df)
	if !(x2 <= crit) {
		t.Fatalf("chi-square %.1f > %.1f (df %d)", x2, crit, df)
	}
}

// TestMarginalTrap: on {"He likes apple", "I play tennis"}, one fully
// parallel step from the marginals yields an invalid sentence with
// probability exactly 3/4 (each marginal is ½/½, so each of the 8
// combinations has probability 1/8 and 2 are valid) — checked by
// enumeration over the product of the oracle's marginals, and by sampling
// within a binomial bound. A joint decode over the same marginals (beam
// search over the top-2 lattice, scored by the corpus or by the
// pseudo-log-likelihood of the same oracle) produces no invalid sentence.
func TestMarginalTrap(t *testing.T) {
	c := oracle.TwoSentence()
	v := c.Vocab()
	L, K := c.Len(), v.Size()
	bel := soft.NewDense(L, K)
	if err := c.Denoise(bel, soft.AllMask(L, K, v.Mask()), 1); err != nil {
		t.Fatal(err)
	}
	// enumeration
	var invalid float64
	x := make([]int32, L)
	for a := 0; a < K; a++ {
		for b := 0; b < K; b++ {
			for d := 0; d < K; d++ {
				x[0], x[1], x[2] = int32(a), int32(b), int32(d)
				q := float64(bel.Row(0)[a]) * float64(bel.Row(1)[b]) * float64(bel.Row(2)[d])
				if q == 0 {
					continue
				}
				if lp, _ := c.LogProb(x); math.IsInf(lp, -1) {
					invalid += q
				}
			}
		}
	}
	if !(math.Abs(invalid-0.75) <= 1e-6) {
		t.Fatalf("invalid probability %v, want 0.75", invalid)
	}
	// sampling: one parallel step of several samplers
	const n = 4000
	for _, a := range []decode.Algorithm{decode.SoftSL{}, decode.MDLM{}, decode.LLaDA{Temperature: 1}} {
		bad := 0
		rng := rand.New(rand.NewPCG(11, 12))
		for range n {
			res, err := decode.Generate(context.Background(), c, v, L, a, decode.Options{Steps: 1, Rand: rng})
			if err != nil {
				t.Fatal(err)
			}
			if lp, _ := c.LogProb(res.Tokens); math.IsInf(lp, -1) {
				bad++
			}
		}
		// binomial(n, 3/4): sd = sqrt(n·3/16) ≈ 27.4; allow 5 sd.
		if sd := math.Sqrt(n * 0.75 * 0.25); !(math.Abs(float64(bad)-0.75*n) <= 5*sd) {
			t.Errorf("%s: %d invalid of %d, want 3000 ± %.0f", a.Name(), bad, n, 5*sd)
		}
	}
	// joint decode over the same marginals
	st, err := decode.BeliefState(v, bel)
	if err != nil {
		t.Fatal(err)
	}
	pll, err := decode.NewPLL(c, v)
	if err != nil {
		t.Fatal(err)
	}
	for name, sc := range map[string]decode.JointScorer{"corpus": c, "pll": pll} {
		d, err := decode.Beam{Width: 2, K: 2}.Decode(context.Background(), st, sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if lp, _ := c.LogProb(d.Tokens); math.IsInf(lp, -1) {
			t.Errorf("beam over %s scorer produced invalid %v", name, v.Decode(d.Tokens))
		}
	}
	if pll.NFE() == 0 {
		t.Error("PLL counted no NFE")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		d, err := decode.ImportanceResample{N: 32}.Decode(context.Background(), st, c, rng)
		if err != nil {
			t.Fatal(err)
		}
		// all 32 candidates invalid has probability 0.75^32 ≈ 1e-4 per draw.
		if math.IsInf(d.Score, -1) {
			t.Logf("importance resampling: all candidates invalid (rare)")
		}
	}
}

// TestDeterministicAcrossGOMAXPROCS: the same seed gives the same tokens at
// GOMAXPROCS 1 and 2, for samplers with row-parallel work (SoftSL blocks).
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	m, err := oracle.Sticky(5, 40, 0.7, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	algs := []decode.Algorithm{decode.SoftSL{Grid: decode.GridInfo, Rate: decode.RateEntropy}, decode.MDLM{},
		decode.LLaDA{Temperature: 1}, decode.DreamDefaults(), decode.ReMDM{}, decode.Hybrid{Corrector: decode.CorrectGibbs, Moves: 2}}
	run := func(procs int) [][]int32 {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		var out [][]int32
		for _, a := range algs {
			res, err := decode.Generate(context.Background(), m, m.Vocab(), 40, a, decode.Options{Steps: 8, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, res.Tokens)
		}
		return out
	}
	a, b := run(1), run(2)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("%s: GOMAXPROCS 1 gave %v, 2 gave %v", algs[i].Name(), a[i], b[i])
		}
	}
}

// TestFastDLLMTheorem1: Fast-dLLM's Theorem 1 on random joint laws of n
// positions: if every position's marginal at the joint's mode exceeds 1 − ε
// and (n+1)ε ≤ 1, the product of marginals and the joint share their argmax,
// and FastDLLM at threshold 1 − ε, run on the exact denoiser of the law,
// commits all positions in one call and returns that argmax.
func TestFastDLLMTheorem1(t *testing.T) {
	ran, held := 0, 0
	defer func() {
		// Guard against a vacuous property: most laws that meet the premise
		// must reach FastDLLM (those within 1e-4 of it do not; with rapid's
		// random seed a run can draw one, so the guard is a proportion).
		if ran == 0 || 2*ran < held {
			t.Errorf("FastDLLM ran on only %d of the %d drawn laws that meet the premise", ran, held)
		}
	}()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "n")
		k := rapid.IntRange(2, 3).Draw(t, "k")
		size := 1
		for range n {
			size *= k
		}
		p := make([]float64, size)
		var z float64
		for j := range p {
			p[j] = rapid.Float64Range(0, 1).Draw(t, "w")
			z += p[j]
		}
		if z == 0 {
			p[0], z = 1, 1
		}
		// mix in a point mass at a random configuration so the marginals are
		// concentrated: p ← (1−δ)p/z + δ·1[x*].
		star := rapid.IntRange(0, size-1).Draw(t, "star")
		delta := rapid.Float64Range(0, 1).Draw(t, "delta")
		for j := range p {
			p[j] = (1 - delta) * p[j] / z
		}
		p[star] += delta
		prodArg, jointArg, eps := argmaxes(p, n, k)
		if !(float64(n+1)*eps < 1) { // strict, so float rounding cannot create a tie
			t.Skip("premise does not hold")
		}
		held++
		if jointArg != prodArg {
			t.Fatalf("n=%d ε=%.4f: joint argmax %d ≠ product argmax %d", n, eps, jointArg, prodArg)
		}
		// Fast-dLLM itself at threshold 1 − ε (less 1e-6 for the float32
		// beliefs) commits every position in one step, each to its marginal
		// argmax, and so returns the joint's mode. Checked where the premise
		// holds with a margin of 1e-4, so that float32 rounding of the
		// beliefs cannot tie the two largest marginals.
		if !(float64(n+1)*eps < 1-1e-4) {
			return
		}
		toks := []string{"a", "b", "c", "[MASK]"}[:k]
		v, err := soft.NewVocab(append(toks, "[MASK]"), soft.VocabOptions{Mask: "[MASK]"})
		if err != nil {
			t.Fatal(err)
		}
		den := jointTable{p: p, n: n, k: k}
		res, err := decode.Generate(context.Background(), den, v, n, decode.FastDLLM{Threshold: 1 - eps - 1e-6}, decode.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ran++
		if res.NFE != 1 {
			t.Fatalf("n=%d ε=%.4f: Fast-dLLM took %d calls, want 1", n, eps, res.NFE)
		}
		for i, j := 0, jointArg; i < n; i, j = i+1, j/k {
			if int(res.Tokens[i]) != j%k {
				t.Fatalf("n=%d ε=%.4f: Fast-dLLM gave %v, joint argmax index %d", n, eps, res.Tokens, jointArg)
			}
		}
	})
}

// jointTable is the exact denoiser of a joint law p over n positions of k
// values (index Σ_i x_i k^i), MASK id k: the belief at i is the marginal of
// p(x)·Π_j ℓ_j(x_j), ℓ_j(v) = e_j(v) + e_j(MASK), by enumeration.
type jointTable struct {
	p    []float64
	n, k int
}

func (m jointTable) Denoise(dst, ev *soft.Dense, t float64) error {
	marg := make([]float64, m.n*m.k)
	var z float64
	for j, pj := range m.p {
		w := pj
		for i, x := 0, j; i < m.n; i, x = i+1, x/m.k {
			e := ev.Row(i)
			w *= float64(e[x%m.k]) + float64(e[m.k])
		}
		for i, x := 0, j; i < m.n; i, x = i+1, x/m.k {
			marg[i*m.k+x%m.k] += w
		}
		z += w
	}
	if !(z > 0) {
		return errors.New("evidence of probability zero")
	}
	for i := 0; i < m.n; i++ {
		row := dst.Row(i)
		clear(row)
		for v := 0; v < m.k; v++ {
			row[v] = float32(marg[i*m.k+v] / z)
		}
	}
	return nil
}

// argmaxes returns, for a joint law p over n positions of k values (index
// Σ_i x_i k^i), the argmax of the product of its marginals, the argmax of p,
// and ε = 1 − min_i max_v P(x_i = v).
func argmaxes(p []float64, n, k int) (prodArg, jointArg int, eps float64) {
	digit := func(j, i int) int {
		for range i {
			j /= k
		}
		return j % k
	}
	mul := 1
	for i := 0; i < n; i++ {
		marg := make([]float64, k)
		for j, pj := range p {
			marg[digit(j, i)] += pj
		}
		a := 0
		for v := range marg {
			if marg[v] > marg[a] {
				a = v
			}
		}
		eps = max(eps, 1-marg[a])
		prodArg += a * mul
		mul *= k
	}
	for j := range p {
		if p[j] > p[jointArg] {
			jointArg = j
		}
	}
	return prodArg, jointArg, eps
}

// TestFastDLLMTheorem1Tight: just past the bound the conclusion fails, so
// the premise (n+1)ε ≤ 1 cannot be relaxed much. Example (by hand): two
// binary positions with p(1,1) = 0.32, p(0,1) = p(1,0) = 0.34, p(0,0) = 0.
// Each marginal P(x_i = 1) = 0.66, so ε = 0.34 and (n+1)ε = 1.02 > 1; the
// product argmax is (1,1) while the joint argmax is (0,1) (tied with (1,0)).
func TestFastDLLMTheorem1Tight(t *testing.T) {
	// index j = x_0 + 2·x_1: p(0,0) = 0, p(1,0) = 0.34, p(0,1) = 0.34, p(1,1) = 0.32.
	p := []float64{0, 0.34, 0.34, 0.32}
	prodArg, jointArg, eps := argmaxes(p, 2, 2)
	if !(math.Abs(eps-0.34) <= 1e-12) {
		t.Fatalf("ε = %v, want 0.34", eps)
	}
	if prodArg != 3 || jointArg == 3 {
		t.Fatalf("product argmax %d (want 3 = (1,1)), joint argmax %d (want not 3)", prodArg, jointArg)
	}
}

// TestJointDecodersExact: on random small HMMs, lattices and soft evidence,
// MAP equals the brute-force maximiser of log p(x) + Σ log ℓ + w·Σ log b
// over the lattice (ℓ the evidence likelihood of the end state), Viterbi
// does the same for Markov chains, the enumerating MAP (any scorer) agrees,
// and beam search never exceeds the exact maximum.
func TestJointDecodersExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		rng := rand.New(rand.NewPCG(seed, 1))
		S := rapid.IntRange(1, 4).Draw(t, "S")
		D := rapid.IntRange(2, 4).Draw(t, "D")
		L := rapid.IntRange(1, 5).Draw(t, "L")
		k := rapid.IntRange(1, D).Draw(t, "k")
		w := rapid.SampledFrom([]float64{0, 0.5, 1}).Draw(t, "w")
		h, err := oracle.RandomHMM(rng, S, D, L)
		if err != nil {
			t.Fatal(err)
		}
		bel := soft.NewDense(L, D+1)
		for i := 0; i < L; i++ {
			row := bel.Row(i)
			var z float32
			for v := 0; v < D; v++ {
				row[v] = float32(rng.Float64() + 0.01)
				z += row[v]
			}
			for v := 0; v < D; v++ {
				row[v] /= z
			}
		}
		lat, err := decode.NewLattice(bel, k)
		if err != nil {
			t.Fatal(err)
		}
		st, err := decode.BeliefState(h.Vocab(), bel)
		if err != nil {
			t.Fatal(err)
		}
		// soft evidence on some positions: the objective gains Σ log ℓ_i(x_i),
		// ℓ_i(v) = e_i(v) + e_i(MASK) (computed here from the rows).
		mask := h.Vocab().Mask()
		for i := 0; i < L; i++ {
			if rng.IntN(2) == 0 {
				continue
			}
			row := st.Evidence.Row(i)
			row[mask] = float32(rng.Float64() / 2)
			for v := 0; v < D; v++ {
				row[v] = float32(rng.Float64()) * (1 - row[mask]) / float32(D)
			}
		}
		logLik := func(x []int32) float64 {
			var l float64
			for i, v := range x {
				e := st.Evidence.Row(i)
				l += math.Log(float64(e[v]) + float64(e[mask]))
			}
			return l
		}
		best, bestX := bruteLattice(lat, func(x []int32) float64 {
			lp, _ := h.LogProb(x)
			return lp + logLik(x)
		}, w)
		d, err := decode.MAP{K: k, BeliefWeight: w}.Decode(context.Background(), st, h, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !(math.Abs(d.Score-best) <= 1e-6*(1+math.Abs(best))) {
			t.Fatalf("MAP score %v (x %v), brute force %v (x %v)", d.Score, d.Tokens, best, bestX)
		}
		// the same scorer without its HMM method set: MAP enumerates.
		de, err := decode.MAP{K: k, BeliefWeight: w}.Decode(context.Background(), st, plainScorer{h}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !(math.Abs(de.Score-best) <= 1e-6*(1+math.Abs(best))) {
			t.Fatalf("enumerating MAP score %v (x %v), brute force %v (x %v)", de.Score, de.Tokens, best, bestX)
		}
		// Markov chain: a random chain over D tokens.
		mc := newMarkov(rng, D+1, D)
		best, _ = bruteLattice(lat, func(x []int32) float64 {
			lp, _ := mc.LogProb(x)
			return lp + logLik(x)
		}, w)
		dv, err := decode.Viterbi{K: k, BeliefWeight: w}.Decode(context.Background(), st, mc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !(math.Abs(dv.Score-best) <= 1e-6*(1+math.Abs(best))) {
			t.Fatalf("Viterbi score %v, brute force %v", dv.Score, best)
		}
		db, err := decode.Beam{Width: 64, K: k, BeliefWeight: w}.Decode(context.Background(), st, h, nil)
		if err != nil {
			t.Fatal(err)
		}
		if db.Score > d.Score+1e-6*(1+math.Abs(d.Score)) {
			t.Fatalf("beam score %v above the exact MAP %v", db.Score, d.Score)
		}
	})
}

func bruteLattice(lat *decode.Lattice, score func([]int32) float64, w float64) (float64, []int32) {
	L := lat.L
	idx := make([]int, L)
	x := make([]int32, L)
	best := math.Inf(-1)
	var bestX []int32
	for {
		s := 0.0
		for i := range x {
			var lb float64
			x[i], lb = lat.Cand(i, idx[i])
			if w != 0 {
				s += w * lb
			}
		}
		s += score(x)
		if s > best {
			best, bestX = s, slices.Clone(x)
		}
		i := 0
		for ; i < L; i++ {
			idx[i]++
			if idx[i] < lat.N[i] {
				break
			}
			idx[i] = 0
		}
		if i == L {
			return best, bestX
		}
	}
}

// markov is a first-order Markov chain over the first D of K ids (a
// MarkovScorer with exact LogProb).
type markov struct {
	K          int
	init, tran []float64
}

func newMarkov(rng *rand.Rand, K, D int) *markov {
	m := &markov{K: K, init: make([]float64, K), tran: make([]float64, K*K)}
	fill := func(row []float64) {
		var z float64
		for v := 0; v < D; v++ {
			row[v] = rng.Float64() + 0.01
			z += row[v]
		}
		for v := 0; v < D; v++ {
			row[v] /= z
		}
	}
	fill(m.init)
	for a := 0; a < K; a++ {
		fill(m.tran[a*K : (a+1)*K])
	}
	return m
}

func (m *markov) Markov() ([]float64, []float64) { return m.init, m.tran }

func (m *markov) LogProb(x []int32) (float64, error) {
	lp := math.Log(m.init[x[0]])
	for i := 1; i < len(x); i++ {
		lp += math.Log(m.tran[int(x[i-1])*m.K+int(x[i])])
	}
	return lp, nil
}

// plainScorer hides every method of a scorer but LogProb.
type plainScorer struct{ sc decode.JointScorer }

func (p plainScorer) LogProb(x []int32) (float64, error) { return p.sc.LogProb(x) }
