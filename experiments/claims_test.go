package experiments

import (
	"context"
	"math"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments/lab"
)

func mustTestbed(t *testing.T, name string) *testbed {
	t.Helper()
	tb, err := getTestbed(name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// The marginal trap's key claim at reduced size: one fully parallel hard
// step on the two-sentence corpus is invalid three times in four, and a soft
// sampler at 32 NFE is far below that.
func TestClaimMarginalTrap(t *testing.T) {
	tb := mustTestbed(t, "two-sentence")
	ctx := context.Background()
	hard, err := tb.generate(ctx, tb.m, decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, 1, 4000, 11, false)
	if err != nil {
		t.Fatal(err)
	}
	rate := float64(hard.stats.Invalid) / float64(hard.stats.N)
	// Exact value 0.75 (each of three positions independently picks one of
	// two sentences: valid with probability 2·(1/2)³); 4000 samples give a
	// standard error of 0.007, so [0.70, 0.80] is a 7-sigma band.
	if !(rate >= 0.70 && rate <= 0.80) {
		t.Fatalf("one-step hard invalid rate %v, want in [0.70, 0.80]", rate)
	}
	sl, err := tb.generate(ctx, tb.m, decode.SoftSL{}, 32, 1000, 12, false)
	if err != nil {
		t.Fatal(err)
	}
	srate := lab.Wilson(sl.stats.Invalid, sl.stats.N)
	if !srate.Below(lab.Wilson(hard.stats.Invalid, hard.stats.N)) || !(srate.Value < 0.2) {
		t.Fatalf("soft at 32 NFE invalid %v, hard at 1 step %v", srate.Value, rate)
	}
}

// The closed form of random-order parallel decoding: 0.75 for one step on the
// two-sentence corpus, 0 at one token per step, and 1/2 for one step on the
// agreement corpus (subject and verb agree with probability 1/2 when drawn
// independently from their marginals; adverb and object are independent).
func TestClaimClosedForm(t *testing.T) {
	for _, tc := range []struct {
		tb    string
		steps int
		want  float64
	}{{"two-sentence", 1, 0.75}, {"two-sentence", 3, 0}, {"agreement", 1, 0.5}, {"agreement", 4, 0},
		// Two steps of 2 tokens on two-sentence (L=3: counts 2,1): the first
		// pair is consistent with probability 1/2; then the last token is
		// drawn from the exact conditional. Invalid = 1/2.
		{"two-sentence", 2, 0.5}} {
		tb := mustTestbed(t, tc.tb)
		p, err := randomOrderValid(tb, tb.m, lladaCounts(tb.m.Len(), tc.steps))
		if err != nil {
			t.Fatal(err)
		}
		if got := 1 - p; !(math.Abs(got-tc.want) <= 1e-6) {
			t.Errorf("%s, %d steps: closed-form invalid %v, want %v", tc.tb, tc.steps, got, tc.want)
		}
	}
}

// With an exact oracle one token per step is exact: every sample valid and
// the TV at the noise floor of exact sampling.
func TestClaimOneTokenPerStepIsExact(t *testing.T) {
	tb := mustTestbed(t, "sticky3")
	ctx := context.Background()
	ref, err := tb.exactSamples(ctx, 3000, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tb.generate(ctx, tb.m, decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, tb.m.Len(), 3000, 6, false)
	if err != nil {
		t.Fatal(err)
	}
	one, err := tb.generate(ctx, tb.m, decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, 1, 3000, 7, false)
	if err != nil {
		t.Fatal(err)
	}
	// The noise floor of 3000 samples on this HMM is about 0.07; the
	// one-step sampler is far off (its exact one-step TV is 0.71, docs/decode.md).
	if !(got.stats.TV() <= ref.stats.TV()+0.03) || !(one.stats.TV() > ref.stats.TV()+0.15) {
		t.Fatalf("TV: L steps %v, 1 step %v, exact sampling %v", got.stats.TV(), one.stats.TV(), ref.stats.TV())
	}
	if got.stats.Invalid != 0 {
		t.Fatalf("%d invalid samples at one token per step", got.stats.Invalid)
	}
	if math.Abs(got.nfe-float64(tb.m.Len())) > 1e-9 {
		t.Fatalf("NFE %v, want %d", got.nfe, tb.m.Len())
	}
}

// Under the degraded oracle even one token per step is no longer exact.
func TestClaimDegradedBreaksExactness(t *testing.T) {
	tb := mustTestbed(t, "two-sentence")
	den, err := tb.denoiser(oracleDegraded)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tb.generate(context.Background(), den, decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, 3, 2000, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	// Closed form for this setting, by the same enumeration.
	p, err := randomOrderValid(tb, den, lladaCounts(3, 3))
	if err != nil {
		t.Fatal(err)
	}
	w := lab.Wilson(got.stats.Invalid, got.stats.N)
	if !(1-p > 0.2) || !(w.Lo-0.01 <= 1-p && 1-p <= w.Hi+0.01) {
		t.Fatalf("degraded one-token-per-step invalid %v [%v, %v], closed form %v", w.Value, w.Lo, w.Hi, 1-p)
	}
}

// Kernel smoothness: every kernel starts with no information lost and ends
// with (almost) all of it lost: ρ(0) = 0, ρ(1) ≥ 0.99 (the log-linear
// schedule stops at α(1) = 10⁻³, so exactly 1 is not reached).
func TestClaimRhoEndpoints(t *testing.T) {
	cfg := kernelSmoothness.Config(true)
	cfg.Params["grid"] = 2
	for _, name := range kernelNames {
		rows, err := kernelRun(context.Background(), cfg, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var sum map[string]lab.Obs
		for _, r := range rows {
			if r.Table == "summary" {
				sum = r.Values
			}
		}
		r0, r1 := sum["rho(0)"].X, sum["rho(1)"].X
		if !(math.Abs(r0) <= 1e-9) || !(r1 >= 0.99 && r1 <= 1+1e-9) {
			t.Errorf("%s: ρ(0) = %v, ρ(1) = %v", name, r0, r1)
		}
		// The information-warped kernel loses information linearly: half
		// of it at t = 1/2.
		if name == "uniform, info-warped time" && !(math.Abs(sum["t(rho=0.5)"].X-0.5) <= 0.01) {
			t.Errorf("warped kernel reaches ρ = 0.5 at t = %v", sum["t(rho=0.5)"].X)
		}
		// Graded kernels move tokens to similar tokens: locality below 1.
		if name == "graph kNN" && !(sum["locality"].X < 0.8) {
			t.Errorf("graph kernel locality %v, want < 0.8", sum["locality"].X)
		}
	}
}

// Joint decoding escapes the marginal trap from the very beliefs that
// produce it: at NFE 1 on the two-sentence corpus a parallel sample is
// invalid about 3/4 of the time, beam search and exact MAP over the top-k
// lattice never, and importance resampling of 8 candidates rarely
// (all 8 invalid with probability 0.75⁸ ≈ 0.10).
func TestClaimJointDecode(t *testing.T) {
	cfg := jointDecode.Config(true)
	cfg.Params["samples"] = 400
	rows, err := jointRun(context.Background(), cfg, "two-sentence", oracleExact, false, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range rows {
		o := r.Values["invalid"]
		got[r.Labels[3]] = float64(o.K) / float64(o.N)
	}
	if !(got["sample"] > 0.65 && got["sample"] < 0.85) || got["beam"] != 0 || got["MAP"] != 0 || !(got["IR"] < 0.2) {
		t.Fatalf("invalid rates %v", got)
	}
}

// Frequency collapse at reduced size: with an exact oracle the belief far
// from context is flatter than next to it, and confidence-ordered decoding
// over-uses frequent tokens even at one token per step (choosing the
// position after sampling its token favours confident, frequent tokens).
func TestClaimFrequencyCollapse(t *testing.T) {
	cfg := frequencyCollapse.Config(true)
	cfg.Params["contexts"] = 60
	rows, err := beliefRun(context.Background(), cfg, "agreement-hmm-12", oracleExact, 21)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]float64{}
	for _, r := range rows {
		h[r.Labels[2]] = r.Values["entropy"].X
	}
	if !(h["1"] < h["4"]-0.3) {
		t.Fatalf("entropy by distance %v: want distance 1 at least 0.3 nats below distance 4", h)
	}
	tb := mustTestbed(t, "kjv-hmm-16")
	data, err := tb.exactSamples(context.Background(), 100, 22, true)
	if err != nil {
		t.Fatal(err)
	}
	sp := mustSampler(t, "LLaDA-lowconf")
	gen, err := tb.generateSpec(context.Background(), tb.m, sp, setting{alg: sp.alg, steps: 16}, 100, 23, true)
	if err != nil {
		t.Fatal(err)
	}
	d, g := collapseObs(tb, data)["top10-share"].X, collapseObs(tb, gen)["top10-share"].X
	// Full run: 0.511 for the data, 0.911 for LLaDA-lowconf.
	if !(g > d+0.2) {
		t.Fatalf("top-10 share: LLaDA-lowconf %v, data %v", g, d)
	}
}

// Duplication at reduced size: parallel decoding (4 tokens per step) repeats
// adjacent tokens more often than the data on the agreement HMM (full run:
// 0.089 against 0.040).
func TestClaimDuplication(t *testing.T) {
	tb := mustTestbed(t, "agreement-hmm-12")
	ctx := context.Background()
	data, err := tb.exactSamples(ctx, 600, 31, false)
	if err != nil {
		t.Fatal(err)
	}
	sp := mustSampler(t, "LLaDA-random")
	gen, err := tb.generateSpec(ctx, tb.m, sp, setting{alg: sp.alg, steps: 3}, 600, 32, false)
	if err != nil {
		t.Fatal(err)
	}
	a := lab.Wilson(data.stats.Repeats, data.stats.Pairs)
	b := lab.Wilson(gen.stats.Repeats, gen.stats.Pairs)
	if !a.Below(b) {
		t.Fatalf("repeat rate: data %v [%v, %v], 3-step LLaDA %v [%v, %v]", a.Value, a.Lo, a.Hi, b.Value, b.Lo, b.Hi)
	}
}

// mustSampler returns the registered sampler called name.
func mustSampler(t *testing.T, name string) samplerSpec {
	t.Helper()
	sps, err := samplersNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	return sps[0]
}
