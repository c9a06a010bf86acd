package decode_test

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// gradedKernels returns a kernel of each kind over a vocabulary of D tokens
// plus MASK (id D, the last): the kernels the reverse samplers are tested
// with.
func gradedKernels(t testing.TB, D int) map[string]decode.CTMCKernel {
	mask := int32(D)
	sch := kernels.LogLinear{}
	emb := kernels.RandomEmbeddings(rand.New(rand.NewPCG(5, 5)), D, 3)
	nbr, err := kernels.KNN(emb, D, 3, kernels.KNNOptions{K: 2, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	adj, err := kernels.NewKNNAdjacency(nbr, D, 2)
	if err != nil {
		t.Fatal(err)
	}
	hy, err := kernels.BisectHierarchy(emb, D, 3)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, D+1)
	for v := range w {
		w[v] = 0.5 + float64(v%3)
	}
	out := map[string]decode.CTMCKernel{}
	add := func(name string, k decode.CTMCKernel, err error) {
		if err != nil {
			t.Fatal(err)
		}
		out[name] = k
	}
	ab, err := kernels.NewAbsorbing(D+1, mask, sch)
	add("absorbing", ab, err)
	un, err := kernels.NewUniform(D+1, mask, sch)
	add("uniform", un, err)
	ia, err := kernels.NewInfoAbsorbing(D+1, mask, w, sch)
	add("info-absorbing", ia, err)
	gr, err := kernels.NewGraph(adj, mask, sch, kernels.GraphOptions{Scale: 2, Workers: 1})
	add("graph", gr, err)
	hi, err := kernels.NewHierarchical(hy, mask, nil, sch)
	add("hierarchical", hi, err)
	return out
}

// tvTo returns the total variation between the empirical law of xs and the
// exact law of m (computed from LogProb over the sequences drawn and the
// mass of those not drawn).
func tvTo(t *testing.T, m oracle.Model, xs [][]int32) float64 {
	counts := map[string]int{}
	seqs := map[string][]int32{}
	for _, x := range xs {
		k := key(x)
		counts[k]++
		seqs[k] = x
	}
	var diff, seen float64
	for k, c := range counts {
		lp, err := m.LogProb(seqs[k])
		if err != nil {
			t.Fatal(err)
		}
		p := math.Exp(lp)
		diff += math.Abs(float64(c)/float64(len(xs)) - p)
		seen += p
	}
	return 0.5 * (diff + math.Max(0, 1-seen))
}

// TestReverseChainTV: the whole reverse chain with the exact oracle samples
// the data distribution as the number of steps grows: on a sticky chain
// over 4 tokens of length 2 (Sticky(4, 2, 0.8, 0), 16 sequences), 3000
// samples, the TV to the exact law at many steps is within 0.02 of the TV
// of 3000 exact samples (the noise floor, ≈ 0.025), while one step (both
// positions drawn at once from their marginals, TV ≈ 0.54) is far above
// it. For every kernel with KernelReverse (64 steps; 256 for the
// hierarchical kernel, which loses most of its information in a burst near
// t = 0 that a uniform grid crosses in few steps), and KernelCTMC on the
// graph kernel (64 steps, both rules).
func TestReverseChainTV(t *testing.T) {
	if testing.Short() {
		t.Skip("samples 8 chains of 3000 runs")
	}
	h, err := oracle.Sticky(4, 2, 0.8, 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	draw := func(gen func(j int) []int32) [][]int32 {
		xs := make([][]int32, n)
		for j := range xs {
			xs[j] = gen(j)
		}
		return xs
	}
	floor := tvTo(t, h, draw(func(j int) []int32 {
		x := make([]int32, 2)
		h.Sample(x, soft.BlockRand(99, j))
		return x
	}))
	ks := gradedKernels(t, 4)
	type tc struct {
		name  string
		alg   decode.Algorithm
		steps int
	}
	var cases []tc
	for _, name := range []string{"absorbing", "uniform", "info-absorbing", "graph"} {
		cases = append(cases, tc{name, decode.KernelReverse{Kernel: ks[name]}, 64})
	}
	cases = append(cases, tc{"hierarchical", decode.KernelReverse{Kernel: ks["hierarchical"]}, 256},
		tc{"graph CTMC τ-leap", decode.KernelCTMC{Kernel: ks["graph"]}, 64},
		tc{"graph CTMC Euler", decode.KernelCTMC{Kernel: ks["graph"], Rule: decode.CTMCEuler}, 64})
	for _, c := range cases {
		tv := map[int]float64{}
		for _, steps := range []int{1, c.steps} {
			tv[steps] = tvTo(t, h, draw(func(j int) []int32 {
				res, err := decode.Generate(context.Background(), h, h.Vocab(), 2, c.alg, decode.Options{Steps: steps, Rand: soft.BlockRand(uint64(steps), j), Workers: 1, NoEntropy: true})
				if err != nil {
					t.Fatalf("%s, %d steps: %v", c.name, steps, err)
				}
				return res.Tokens
			}))
		}
		t.Logf("%s: TV %.4f at 1 step, %.4f at %d (floor %.4f)", c.name, tv[1], tv[c.steps], c.steps, floor)
		if !(tv[c.steps] <= floor+0.02) {
			t.Errorf("%s: TV %.4f at %d steps, floor %.4f", c.name, tv[c.steps], c.steps, floor)
		}
		if !(tv[1] >= floor+0.3) {
			t.Errorf("%s: TV %.4f at 1 step is near the floor %.4f: the test cannot see a wrong chain", c.name, tv[1], floor)
		}
	}
}

// TestKernelSamplersErrors: bad settings are errors from Generate, not
// panics.
func TestKernelSamplersErrors(t *testing.T) {
	h := oracle.Sticky3() // K = 4, MASK = 3
	ctx := context.Background()
	ab5, _ := kernels.NewAbsorbing(5, 4, nil)
	ab4other, _ := kernels.NewAbsorbing(4, 0, nil)
	ab4, _ := kernels.NewAbsorbing(4, 3, kernels.Linear{})
	un4, _ := kernels.NewUniform(4, 3, kernels.Linear{})
	for _, c := range []struct {
		name string
		alg  decode.Algorithm
		opts decode.Options
		msg  string
	}{
		{"no kernel", decode.KernelReverse{}, decode.Options{}, "needs a Kernel"},
		{"no CTMC kernel", decode.KernelCTMC{}, decode.Options{}, "needs a Kernel"},
		{"wrong size", decode.KernelReverse{Kernel: ab5}, decode.Options{}, "5 states"},
		{"other MASK", decode.KernelCTMC{Kernel: ab4other}, decode.Options{}, "MASK state 0"},
		{"grid past 1", decode.KernelReverse{Kernel: ab4, Grid: decode.TimesGrid{2, 0}}, decode.Options{Steps: 2}, "grid"},
		{"grid below 0", decode.KernelReverse{Kernel: ab4, Grid: decode.TimesGrid{0.5, -1}}, decode.Options{Steps: 2}, "grid point"},
		{"unknown rule", decode.KernelCTMC{Kernel: ab4, Rule: 7}, decode.Options{}, "unknown rule"},
		// The Linear schedule has α(1) = 0: a token at t = 1 under the
		// uniform kernel has infinite integrated rates over the first step.
		{"infinite rate", decode.KernelCTMC{Kernel: un4}, decode.Options{Steps: 3}, "reverse rate"},
	} {
		_, err := decode.Generate(ctx, h, h.Vocab(), 5, c.alg, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.msg)
		}
	}
	for _, c := range []struct {
		alg  decode.Algorithm
		want string
	}{
		{decode.KernelReverse{}, "kernel-reverse"},
		{decode.KernelReverse{Sequential: true}, "kernel-reverse-seq"},
		{decode.KernelCTMC{}, "kernel-ctmc"},
		{decode.KernelCTMC{Rule: decode.CTMCEuler}, "kernel-ctmc-euler"},
		{decode.KernelCTMC{Rule: 9}, "kernel-ctmc"},
	} {
		if got := c.alg.Name(); got != c.want {
			t.Errorf("Name() = %q, want %q", got, c.want)
		}
	}
	if s := decode.CTMCRule(9).String(); s != "CTMCRule(9)" {
		t.Errorf("CTMCRule(9).String() = %q", s)
	}
}

// TestKernelSamplersFaultyDenoiser: beliefs that put all their mass where
// x_t is unreachable are an error naming the position, not a panic.
func TestKernelSamplersFaultyDenoiser(t *testing.T) {
	h := oracle.Sticky3()
	ab, _ := kernels.NewAbsorbing(4, 3, nil)
	for _, alg := range []decode.Algorithm{decode.KernelReverse{Kernel: ab}, decode.KernelCTMC{Kernel: ab}} {
		// Certain of token 0, then of token 1, …: once a position has been
		// unmasked to 0, the next belief has no mass on 0, the only token
		// from which that x_t is reachable.
		_, err := decode.Generate(context.Background(), &flipper{}, h.Vocab(), 5, alg, decode.Options{Steps: 50, Seed: 3})
		if err == nil || !strings.Contains(err.Error(), "position") {
			t.Errorf("%s: error %v, want one naming the position", alg.Name(), err)
		}
	}
}

// flipper answers token c mod 3 with certainty at its c-th call.
type flipper struct{ c int }

func (f *flipper) Denoise(dst, ev *soft.Dense, t float64) error {
	clear(dst.Data)
	for i := 0; i < dst.L; i++ {
		dst.Row(i)[f.c%3] = 1
	}
	f.c++
	return nil
}

// TestKernelSamplersDoNotAllocate: a run's allocations do not grow with the
// number of steps (as TestStepLoopDoesNotAllocate for the other samplers).
func TestKernelSamplersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(1, 1)), 4, 20, 32)
	if err != nil {
		t.Fatal(err)
	}
	ks := gradedKernels(t, 20)
	for _, name := range []string{"uniform", "graph", "hierarchical"} {
		for _, a := range []decode.Algorithm{decode.KernelReverse{Kernel: ks[name]}, decode.KernelCTMC{Kernel: ks[name]}} {
			allocs := func(steps int) float64 {
				rng := rand.New(rand.NewPCG(2, 2))
				return testing.AllocsPerRun(5, func() {
					if _, err := decode.Generate(context.Background(), h, h.Vocab(), 32, a, decode.Options{Steps: steps, Rand: rng, Workers: 1}); err != nil {
						t.Fatal(err)
					}
				})
			}
			if a8, a32 := allocs(8), allocs(32); a32 > a8 {
				t.Errorf("%s %s: %v allocations at 8 steps, %v at 32: the step loop allocates", name, a.Name(), a8, a32)
			}
		}
	}
}

// TestKernelEvidence: the training-side rows. Uniform kernel over 3 tokens
// with a fixed MASK, Linear schedule, t = 0.5 (α = ½): x_t = 1 has
// likelihood (⅙, ⅔, ⅙) over x_0 (kernels' closed form), scaled to maximum
// 1: (¼, 1, ¼, 0); x_t = MASK cannot come from a token: an error.
func TestKernelEvidence(t *testing.T) {
	k, err := kernels.NewUniform(4, 3, kernels.Linear{})
	if err != nil {
		t.Fatal(err)
	}
	dst := soft.NewDense(2, 4)
	if err := decode.KernelEvidence(dst, k, []int32{1, 0}, 0.5, 3); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.25, 1, 0.25, 0, 1, 0.25, 0.25, 0}
	for i, w := range want {
		if !(math.Abs(float64(dst.Data[i])-w) <= 1e-6) {
			t.Errorf("entry %d = %v, want %v", i, dst.Data[i], w)
		}
	}
	if err := decode.KernelEvidence(dst.Rows(0, 1), k, []int32{3}, 0.5, 3); err == nil || !strings.Contains(err.Error(), "position 0") {
		t.Errorf("MASK under the uniform kernel: error %v", err)
	}
}
