package experiments

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// The graded-generation setup on the enumerable testbed: every kernel the
// experiment generates with is built, over the testbed's vocabulary; the
// information-loss measures agree with their closed forms where they have
// one (masking: ρ = 1 − α(t)/α(0), max slope 1 − ε = 0.999 for the
// log-linear schedule, t(ρ = ½) = 0.5/(1 − ε) = 0.5005; the warped kernels:
// max slope near 1 by construction); the tabulated graph kernel equals its
// base at a tabulated pair.
func TestClaimGradedSetup(t *testing.T) {
	tb, err := getTestbed("agreement-hmm-4")
	if err != nil {
		t.Fatal(err)
	}
	steps := []int{2, 4}
	su, err := gradedSetupFor(tb, 8, steps)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gradedGens {
		k, ok := su.kernels[g.kernel]
		if !ok || k.States() != tb.m.Vocab().Size() {
			t.Fatalf("%s: kernel %q missing or of the wrong size", g.name, g.kernel)
		}
	}
	get := func(name, metric string) float64 {
		for _, g := range gradedGens {
			if g.name == name {
				v, err := su.smoothness(g)
				if err != nil {
					t.Fatal(err)
				}
				return v[metric].X
			}
		}
		t.Fatalf("no generator %q", name)
		return 0
	}
	if s := get("masking", "max-slope"); !(math.Abs(s-0.999) <= 1e-3) {
		t.Errorf("masking max slope %v, want 0.999", s)
	}
	if th := get("masking", "t(rho=0.5)"); !(math.Abs(th-0.5005) <= 1e-3) {
		t.Errorf("masking t(ρ=½) %v, want 0.5005", th)
	}
	if s := get("uniform, MI-warped time", "max-slope"); !(s <= 1.05) {
		t.Errorf("warped uniform max slope %v, want ≤ 1.05", s)
	}
	if a, b := get("hierarchical", "max-slope"), get("hierarchical, MI-warped time", "max-slope"); !(b < a/4) {
		t.Errorf("warping leaves the hierarchical max slope at %v (from %v)", b, a)
	}
	tg, ok := su.kernels["graph"].(*kernels.Tabulated)
	if !ok {
		t.Fatalf("graph kernel is %T, want *kernels.Tabulated", su.kernels["graph"])
	}
	K := tg.States()
	src := soft.Uniform(2, K)
	a, b := soft.NewDense(2, K), soft.NewDense(2, K)
	tg.Marginal(a, src, 0.5)
	tg.Base().Marginal(b, src, 0.5)
	for i := range a.Data {
		if !(math.Abs(float64(a.Data[i]-b.Data[i])) <= 1e-6) {
			t.Fatalf("tabulated marginal entry %d: %v, base %v", i, a.Data[i], b.Data[i])
		}
	}
}

// A tiny run of the whole experiment: every unit runs, the exact-sample
// reference has zero invalid rate, and the verdict answers the question.
func TestClaimGradedRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the experiment at a tiny size")
	}
	cfg := gradedGeneration.Config(true)
	cfg.Seeds = 2
	cfg.Params["samples"] = 40
	cfg.Params["kjv-samples"] = 10
	cfg.Params["max-steps"] = 4
	res, err := lab.Run(context.Background(), gradedGeneration, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	gen := res.Table("generation")
	if gen == nil {
		t.Fatal("no generation table")
	}
	// every testbed: one exact-sample row and every generator at 2 and 4
	// steps with the exact oracle (network rows come on top where shipped)
	for _, tbName := range gradedTestbeds {
		if n := len(gen.Select("testbed="+tbName, "model=exact")); n != 2*len(gradedGens) {
			t.Fatalf("%s: %d exact-oracle rows, want %d", tbName, n, 2*len(gradedGens))
		}
	}
	for _, tbName := range gradedTestbeds {
		if e, ok := gen.Get("invalid", "testbed="+tbName, "generator=exact-sample"); !ok || e.K != 0 {
			t.Errorf("%s: exact samples invalid %v", tbName, e)
		}
	}
	var answer bool
	for _, v := range res.Verdicts {
		answer = answer || strings.HasPrefix(v, "Answer:")
	}
	if !answer {
		t.Errorf("no answer in the verdict: %q", res.Verdicts)
	}
}
