package l2r_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/examples/l2r"
	"github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/oracle"
)

func init() {
	// The registration line of an outside sampler.
	experiments.RegisterSampler(experiments.Sampler{Family: experiments.FamilyHard, Alg: l2r.LeftToRight{Temperature: 1}})
}

// TestExactAtOneTokenPerStep: with the exact oracle of the sticky HMM and
// one token per step, left-to-right decoding is exact sampling (the chain
// rule), so the counts of 20 000 sequences pass a chi-square test at level
// 10⁻⁴ against the law enumerated from the oracle's LogProb (all 3⁵
// sequences); one parallel step of three tokens does not.
func TestExactAtOneTokenPerStep(t *testing.T) {
	h := oracle.Sticky3()
	L := h.Len()
	p := map[string]float64{}
	var keys []string // the sequences in a fixed order, for the sums
	x := make([]int32, L)
	for code := 0; code < 243; code++ {
		c := code
		for i := range x {
			x[i] = int32(c % 3)
			c /= 3
		}
		lp, err := h.LogProb(x)
		if err != nil {
			t.Fatal(err)
		}
		p[fmt.Sprint(x)] = math.Exp(lp)
		keys = append(keys, fmt.Sprint(x))
	}
	chi := func(steps int) (float64, float64) {
		const n = 20000
		counts := map[string]int{}
		for j := range n {
			res, err := decode.Generate(context.Background(), h, h.Vocab(), L, l2r.LeftToRight{Temperature: 1}, decode.Options{Steps: steps, Seed: uint64(j)})
			if err != nil {
				t.Fatal(err)
			}
			counts[fmt.Sprint(res.Tokens)]++
		}
		var c2 float64
		for _, k := range keys {
			e := n * p[k]
			d := float64(counts[k]) - e
			c2 += d * d / e
		}
		return c2, distuv.ChiSquared{K: float64(len(p) - 1)}.Quantile(1 - 1e-4)
	}
	if c2, crit := chi(L); !(c2 <= crit) {
		t.Errorf("one token per step: χ² = %.1f above the 10⁻⁴ critical value %.1f", c2, crit)
	}
	if c2, crit := chi(1); !(c2 > crit) {
		t.Errorf("one parallel step: χ² = %.1f not above %.1f (parallel commits should not be exact)", c2, crit)
	}
}

// TestBatchAndExperiments: the outside sampler runs through GenerateBatch
// with the output Generate gives, is listed among the experiments'
// samplers, and quality-vs-nfe runs it.
func TestBatchAndExperiments(t *testing.T) {
	h := oracle.Sticky3()
	opts := []decode.Options{{Steps: 5, Seed: 1}, {Steps: 2, Seed: 2}, {Steps: 3, Seed: 3}}
	got, err := decode.GenerateBatch(context.Background(), h, h.Vocab(), 5, l2r.LeftToRight{Temperature: 1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for j, o := range opts {
		want, err := decode.Generate(context.Background(), h, h.Vocab(), 5, l2r.LeftToRight{Temperature: 1}, o)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got[j].Tokens) != fmt.Sprint(want.Tokens) || got[j].NFE != want.NFE {
			t.Fatalf("sequence %d: batch %v, alone %v", j, got[j].Tokens, want.Tokens)
		}
	}
	found := false
	for _, s := range experiments.Samplers() {
		found = found || s.Name == "L2R"
	}
	if !found {
		t.Fatal("L2R is not among the registered samplers")
	}
	e, ok := lab.Lookup("quality-vs-nfe")
	if !ok {
		t.Fatal("no quality-vs-nfe experiment")
	}
	cfg := e.Config(true)
	cfg.Params["samples"] = 50
	units, err := e.Units(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	for _, u := range units {
		if u.Key != "sticky3/exact/L2R" {
			continue
		}
		rows, err := u.Run(context.Background(), 7)
		if err != nil {
			t.Fatal(err)
		}
		quality := 0
		for _, r := range rows {
			if !strings.Contains(strings.Join(r.Labels, " "), "L2R") {
				t.Fatalf("row %v", r.Labels)
			}
			if r.Table == "quality" {
				quality++
			}
		}
		// one quality row per step count of the common grid: 1..L = 5,
		// then 2L and 4L (max-factor 4 at --quick)
		if quality != 7 {
			t.Fatalf("%d quality rows, want 7", quality)
		}
		ran = true
	}
	if !ran {
		t.Fatal("quality-vs-nfe has no unit for L2R")
	}
}

// A sampler from another package plugs into Generate.
func ExampleLeftToRight() {
	c := oracle.TwoSentence()
	v := c.Vocab()
	res, err := decode.Generate(context.Background(), c, v, 3, l2r.LeftToRight{Temperature: 1}, decode.Options{Steps: 3, Seed: 1, Record: true})
	if err != nil {
		panic(err)
	}
	for _, st := range res.Steps {
		for _, ch := range st.Changes {
			fmt.Printf("step %d: position %d ← %s\n", st.Step, ch.Pos, v.Token(ch.To))
		}
	}
	fmt.Printf("%q in %d NFE\n", v.Decode(res.Tokens), res.NFE)
	// Output:
	// step 0: position 0 ← He
	// step 1: position 1 ← likes
	// step 2: position 2 ← apple
	// "He likes apple" in 3 NFE
}
