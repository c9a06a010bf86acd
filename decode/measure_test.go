package decode_test

import (
	"context"
	"flag"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

var measureFull = flag.Bool("measure.full", false, "TestDesignMeasurement: the full soft-sampler table")

var (
	measureStay  = flag.Float64("measure.stay", 0.8, "TestDesignMeasurement: sticky HMM stay probability (oracle.Sticky3 is 0.8)")
	measureNoise = flag.Float64("measure.noise", 0, "TestDesignMeasurement: sticky HMM emission noise (oracle.Sticky3 is 0)")
)

var measureN = flag.Int("measure.n", 2000, "samples per configuration in TestDesignMeasurement (docs/design.md's first measurement used 40000)")

// TestDesignMeasurement repeats docs/design.md's first measurement on the sticky
// HMM (oracle.Sticky3: 3 tokens, length 5): TV to the exact law of
// random-order hard decoding at 1, 2, 3, 5 NFE, stochastic localisation at
// growing NFE, and importance resampling of 8 whole candidates drawn from
// the one-step marginals. Run with -v -measure.n 40000 for that
// measurement's sample size; the assertions hold at the default 2000; -measure.full adds
// rows; -measure.stay and -measure.noise change the sticky HMM.
func TestDesignMeasurement(t *testing.T) {
	m, err := oracle.Sticky(3, 5, *measureStay, *measureNoise)
	if err != nil {
		t.Fatal(err)
	}
	sup := enumerate(t, m)
	n := *measureN
	floor := exactNoiseFloor(m, sup, n, 2)
	t.Logf("exact-sample noise floor at n=%d: TV %.3f", n, floor)
	hard := map[int]float64{}
	for _, nfe := range []int{1, 2, 3, 5} {
		tv, _, _ := empiricalTV(t, m, sup, decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, decode.Options{Steps: nfe}, n, 1)
		hard[nfe] = tv
		t.Logf("random-order hard  NFE %2d  TV %.3f", nfe, tv)
	}
	sls := []decode.SoftSL{{}, {Grid: decode.GridGeometric}, {Grid: decode.GridInfo}}
	nfes := []int{5, 16}
	if *measureFull {
		sls = append(sls, decode.SoftSL{Rate: decode.RateEntropy}, decode.SoftSL{Grid: decode.GridGeometric, Commit: decode.CommitEntropy, CommitThreshold: 0.05})
		nfes = []int{2, 5, 8, 16, 32}
	}
	for _, a := range sls {
		for _, nfe := range nfes {
			tv, _, _ := empiricalTV(t, m, sup, a, decode.Options{Steps: nfe}, n, 2)
			t.Logf("%-18s NFE %2d  TV %.3f", a.Name(), nfe, tv)
		}
	}
	// importance resampling of 8 candidates from the one-step marginals.
	bel := soft.NewDense(5, m.Vocab().Size())
	if err := m.Denoise(bel, soft.AllMask(5, m.Vocab().Size(), m.Vocab().Mask()), 1); err != nil {
		t.Fatal(err)
	}
	st, err := decode.BeliefState(m.Vocab(), bel)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	counts := map[string]int{}
	for range n {
		d, err := decode.ImportanceResample{N: 8}.Decode(context.Background(), st, m, rng)
		if err != nil {
			t.Fatal(err)
		}
		counts[key(d.Tokens)]++
	}
	ir := tvCounts(counts, sup, n)
	t.Logf("importance resampling of 8 after 1 NFE: TV %.3f (one parallel step: %.3f)", ir, hard[1])
	if !(hard[1] > hard[2] && hard[2] > hard[3] && hard[3] > hard[5]) {
		t.Errorf("hard TV not decreasing in NFE: %v", hard)
	}
	if !(hard[5] <= 1.3*floor) {
		t.Errorf("one token per step (NFE 5) TV %.3f above 1.3 × floor %.3f", hard[5], floor)
	}
	if !(ir < 0.5*hard[1]) {
		t.Errorf("importance resampling TV %.3f not below half the one-step TV %.3f", ir, hard[1])
	}
}
