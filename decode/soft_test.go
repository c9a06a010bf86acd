package decode_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// empiricalTV draws n sequences with alg and returns the total variation
// between their empirical distribution and the exact one (sup), the
// fraction of sequences outside the support, and the mean NFE.
func empiricalTV(t testing.TB, m oracle.Model, sup map[string]float64, alg decode.Algorithm, opts decode.Options, n int, seed uint64) (tv, invalid, nfe float64) {
	t.Helper()
	counts := map[string]int{}
	opts.Rand = rand.New(rand.NewPCG(seed, 99))
	opts.CompleteOnError = true
	for s := 0; s < n; s++ {
		res, err := decode.Generate(context.Background(), m, m.Vocab(), m.Len(), alg, opts)
		if err != nil {
			t.Fatal(err)
		}
		nfe += float64(res.NFE)
		counts[key(res.Tokens)]++
	}
	return tvCounts(counts, sup, n), invalidFrac(counts, sup, n), nfe / float64(n)
}

func tvCounts(counts map[string]int, sup map[string]float64, n int) float64 {
	var tv float64
	for k, lp := range sup {
		tv += math.Abs(float64(counts[k])/float64(n) - math.Exp(lp))
	}
	for k, c := range counts {
		if _, ok := sup[k]; !ok {
			tv += float64(c) / float64(n)
		}
	}
	return tv / 2
}

func invalidFrac(counts map[string]int, sup map[string]float64, n int) float64 {
	var f float64
	for k, c := range counts {
		if _, ok := sup[k]; !ok {
			f += float64(c) / float64(n)
		}
	}
	return f
}

// exactNoiseFloor returns the TV of n exact samples of m (the floor any
// sampler's empirical TV sits on), averaged over reps draws.
func exactNoiseFloor(m oracle.Model, sup map[string]float64, n, reps int) float64 {
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]int32, m.Len())
	var f float64
	for range reps {
		counts := map[string]int{}
		for range n {
			m.Sample(x, rng)
			counts[key(x)]++
		}
		f += tvCounts(counts, sup, n)
	}
	return f / float64(reps)
}

// TestSoftSLConverges: on the sticky HMM oracle.Sticky3 (3 tokens, length 5), the
// stochastic-localisation sampler's TV to the exact law falls as the number
// of steps grows and at large NFE reaches the noise floor of as many exact
// samples.
func TestSoftSLConverges(t *testing.T) {
	m := oracle.Sticky3()
	sup := enumerate(t, m)
	const n = 3000
	floor := exactNoiseFloor(m, sup, n, 4)
	var tvs []float64
	for _, steps := range []int{1, 4, 48} {
		tv, _, nfe := empiricalTV(t, m, sup, decode.SoftSL{}, decode.Options{Steps: steps}, n, uint64(steps))
		t.Logf("soft-sl steps %d NFE %.0f TV %.3f (exact-sample floor %.3f)", steps, nfe, tv, floor)
		tvs = append(tvs, tv)
	}
	if !(tvs[0] > tvs[1] && tvs[1] > tvs[2]) {
		t.Fatalf("TV does not fall with steps: %v", tvs)
	}
	// Floor of n exact samples: its spread across seeds is about 10% of its
	// mean here (measured with exactNoiseFloor over 20 seeds); allow 25%.
	if !(tvs[2] <= 1.25*floor) {
		t.Fatalf("TV %.3f at 48 steps above 1.25 × noise floor %.3f", tvs[2], floor)
	}
}

// TestHybridAndLRDRun checks the soft and hybrid samplers' contracts on the
// agreement corpus: full sequences, valid under the oracle most of the time
// when run long enough, NFE counted including corrector moves.
func TestHybridAndLRDRun(t *testing.T) {
	m := oracle.Agreement()
	sup := exactSupport(t, m)
	for _, a := range []decode.Algorithm{
		decode.SoftSL{Grid: decode.GridGeometric},
		decode.SoftSL{Grid: decode.GridInfo, Rate: decode.RateEntropy},
		decode.SoftSL{Rate: decode.RateConfidence, Commit: decode.CommitLocalised, CommitThreshold: 0.01},
		decode.Hybrid{SoftSL: decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: 0.1}, Corrector: decode.CorrectGibbs, Moves: 1},
		decode.Hybrid{SoftSL: decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: 0.1}, ReleaseBelow: 0.05, Moves: 1},
		decode.LRD{},
	} {
		tv, inv, nfe := empiricalTV(t, m, sup, a, decode.Options{Steps: 12}, 300, 3)
		t.Logf("%-40s NFE %.1f TV %.3f invalid %.3f", a.Name(), nfe, tv, inv)
		if !(inv <= 0.05) {
			t.Errorf("%s: invalid fraction %.3f > 0.05 at 12 steps", a.Name(), inv)
		}
	}
}

// TestHybridCorrectorKeepsLaw: the hybrid sampler's corrector moves target
// the conditional of a committed token given everything else, so they leave
// the joint invariant; with commits (entropy policy) and two kernel-MH moves
// per step (graph-kernel and uniform-kernel proposals) or Gibbs moves and
// releases, the
// sampler still reaches the exact-sample floor on the sticky HMM.
func TestHybridCorrectorKeepsLaw(t *testing.T) {
	m := oracle.Sticky3()
	sup := enumerate(t, m)
	const n = 3000
	floor := exactNoiseFloor(m, sup, n, 4)
	K := m.Vocab().Size()
	sl := decode.SoftSL{Grid: decode.GridGeometric, Commit: decode.CommitEntropy, CommitThreshold: 0.3}
	// a graded proposal: the graph CTMC on the 1-nearest-neighbour graph of
	// random embeddings of the 3 tokens, MASK as the extra state.
	emb := kernels.RandomEmbeddings(rand.New(rand.NewPCG(4, 4)), 3, 2)
	nbr, err := kernels.KNN(emb, 3, 2, kernels.KNNOptions{K: 1})
	if err != nil {
		t.Fatal(err)
	}
	adj, err := kernels.NewKNNAdjacency(nbr, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	graph, err := kernels.NewGraph(adj, m.Vocab().Mask(), nil, kernels.GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uniform, err := kernels.NewUniform(K, m.Vocab().Mask(), kernels.LogLinear{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []decode.Hybrid{
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: graph, JumpTime: 0.5, Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectKernel, Kernel: uniform, JumpTime: 0.5, Moves: 2},
		{SoftSL: sl, Corrector: decode.CorrectGibbs, Moves: 2, ReleaseBelow: 0.2},
	} {
		tv, _, nfe := empiricalTV(t, m, sup, a, decode.Options{Steps: 32}, n, 5)
		t.Logf("%s: NFE %.1f TV %.3f (floor %.3f)", a.Name(), nfe, tv, floor)
		if !(tv <= 1.3*floor) {
			t.Errorf("%s: TV %.3f above 1.3 × floor %.3f", a.Name(), tv, floor)
		}
	}
}

// TestMaxNFE: a run stops with ErrNFEBudget at the budget.
func TestMaxNFE(t *testing.T) {
	m := oracle.Sticky3()
	_, err := decode.Generate(context.Background(), m, m.Vocab(), 5, decode.MDLM{NoCache: true}, decode.Options{Steps: 5, MaxNFE: 2, Seed: 1})
	if !errors.Is(err, decode.ErrNFEBudget) {
		t.Fatalf("error %v, want ErrNFEBudget", err)
	}
}

// TestInfoGrid: the information-equalising grid is non-decreasing and ends
// at τ_max; for a fair 2-token prior, whose channel information I(τ)
// saturates well before τ = 40, equal information steps crowd at small τ
// (half of them below τ = 10, where a uniform grid has a quarter); for a
// one-hot prior there is no information to gain and it stays uniform.
func TestInfoGrid(t *testing.T) {
	bel := soft.NewDense(4, 3) // 2 tokens + MASK (id 2)
	for i := 0; i < 4; i++ {
		copy(bel.Row(i), []float32{0.5, 0.5, 0})
	}
	g, err := decode.InfoTimes(bel, 8, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 8 || g[7] != 40 {
		t.Fatalf("grid %v", g)
	}
	for k := 1; k < len(g); k++ {
		if !(g[k] >= g[k-1]) {
			t.Fatalf("grid not increasing: %v", g)
		}
	}
	// half the information of a fair bit is reached well before τ = 20.
	if !(g[3] < 10) {
		t.Fatalf("information grid does not crowd at small τ: %v", g)
	}
	for i := 0; i < 4; i++ {
		copy(bel.Row(i), []float32{1, 0, 0})
	}
	if g, err = decode.InfoTimes(bel, 4, 8, 1); err != nil {
		t.Fatal(err)
	}
	for k, tau := range g {
		if want := 8 * float64(k+1) / 4; !(math.Abs(tau-want) <= 1e-12) {
			t.Fatalf("one-hot prior: grid %v, want uniform", g)
		}
	}
}

// TestSoftSLJointFinal: with a joint final decode (Options.Final, importance
// resampling of 8 candidates by the exact joint), one step on the two-sentence corpus is
// invalid only when all 8 candidates are (probability 0.75^8 ≈ 0.10), far
// below the 0.75 of a parallel draw; the scorer calls are counted apart.
func TestSoftSLJointFinal(t *testing.T) {
	c := oracle.TwoSentence()
	rng := rand.New(rand.NewPCG(8, 8))
	bad := 0
	const n = 2000
	for range n {
		res, err := decode.Generate(context.Background(), c, c.Vocab(), 3, decode.SoftSL{}, decode.Options{Steps: 1, Rand: rng, Final: decode.ImportanceResample{}, Scorer: c})
		if err != nil {
			t.Fatal(err)
		}
		if res.JointEvals != 8 || res.NFE != 1 {
			t.Fatalf("joint evals %d NFE %d", res.JointEvals, res.NFE)
		}
		if lp, _ := c.LogProb(res.Tokens); math.IsInf(lp, -1) {
			bad++
		}
	}
	// binomial(2000, 0.1001): sd ≈ 13.4; allow 5 sd.
	if want := n * math.Pow(0.75, 8); !(math.Abs(float64(bad)-want) <= 5*math.Sqrt(want*(1-want/n))) {
		t.Fatalf("%d invalid of %d, want %.0f", bad, n, want)
	}
}
