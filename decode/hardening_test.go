package decode_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// TestEveryPositionFixed: with every position fixed by the prompt, each
// sampler returns the prompt with 0 NFE (LLaDA and Fast-dLLM divided by
// the zero number of free positions).
func TestEveryPositionFixed(t *testing.T) {
	h := oracle.Sticky3()
	fixed := []int32{0, 1, 2, 0, 1}
	for _, a := range append(overheadAlgs(), decode.LLaDA{Remasking: decode.RandomRemasking}, decode.FastDLLM{Factor: 1}, decode.CART{}) {
		res, err := decode.Generate(context.Background(), h, h.Vocab(), 5, a, decode.Options{Fixed: fixed, BlockLen: 2})
		if err != nil {
			t.Fatalf("%s: %v", a.Name(), err)
		}
		if !slices.Equal(res.Tokens, fixed) || res.NFE != 0 {
			t.Fatalf("%s: tokens %v NFE %d, want the prompt and 0", a.Name(), res.Tokens, res.NFE)
		}
	}
}

// TestInvalidEnumIsAnError: an out-of-range enum setting gives an error that
// names it (Name() used to index an array by it and panic).
func TestInvalidEnumIsAnError(t *testing.T) {
	h := oracle.Sticky3()
	for _, tc := range []struct {
		a    decode.Algorithm
		name string // Name()
		want string // in the error
	}{
		{decode.SoftSL{Rate: 7}, "SL-uniform-Rate(7)", "Rate(7)"},
		{decode.SoftSL{Commit: -1}, "SL-uniform-CommitPolicy(-1)", "CommitPolicy(-1)"},
		{decode.ReMDM{Strategy: 9}, "ReMDM-ReMDMStrategy(9)", "ReMDMStrategy(9)"},
		{decode.Dream{Alg: 9}, "Dream-DreamAlg(9)", "DreamAlg(9)"},
		{decode.LLaDA{Remasking: 5}, "LLaDA-Remasking(5)", "Remasking(5)"},
		{decode.Hybrid{Corrector: 4}, "Hybrid-Corrector(4)", "Corrector(4)"},
	} {
		if got := tc.a.Name(); got != tc.name {
			t.Errorf("Name() = %q, want %q", got, tc.name)
		}
		_, err := decode.Generate(context.Background(), h, h.Vocab(), 5, tc.a, decode.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}

// TestAlgorithmNames: Name() is the name the experiments' tables print.
func TestAlgorithmNames(t *testing.T) {
	for _, tc := range []struct {
		a    decode.Algorithm
		want string
	}{
		{decode.MDLM{}, "MDLM"},
		{decode.LLaDA{}, "LLaDA-lowconf"},
		{decode.LLaDA{Remasking: decode.RandomRemasking}, "LLaDA-random"},
		{decode.Dream{}, "Dream-entropy"},
		{decode.Dream{Alg: decode.DreamTopKMargin}, "Dream-topk_margin"},
		{decode.FastDLLM{}, "Fast-dLLM"},
		{decode.FastDLLM{Factor: 1}, "Fast-dLLM-factor"},
		{decode.ReMDM{}, "ReMDM-cap"},
		{decode.ReMDM{Strategy: decode.ReMDMLoop}, "ReMDM-loop"},
		{decode.EB{}, "EB"},
		{decode.SoftSL{}, "SL-uniform"},
		{decode.SoftSL{Grid: decode.GridGeometric, Rate: decode.RateEntropy}, "SL-geometric-entropyrate"},
		{decode.SoftSL{Grid: decode.GridInfo, Commit: decode.CommitLocalised}, "SL-info-localcommit"},
		{decode.SoftSL{Grid: decode.TimesGrid{1, 2}, Rate: decode.RateConfidence, Commit: decode.CommitEntropy}, "SL-times-confrate-entropycommit"},
		{decode.LRD{}, "LRD"},
		{decode.Hybrid{}, "Hybrid-commit"},
		{decode.Hybrid{Corrector: decode.CorrectGibbs}, "Hybrid-gibbs"},
		{decode.CART{}, "CART"},
		{decode.KernelAncestral{}, "kernel-ancestral"},
	} {
		if got := tc.a.Name(); got != tc.want {
			t.Errorf("Name() = %q, want %q", got, tc.want)
		}
	}
}

// TestBadArgumentsAreErrors: nil and empty inputs to the constructors and
// decoders are errors, not panics.
func TestBadArgumentsAreErrors(t *testing.T) {
	h := oracle.Sticky3()
	if _, err := decode.NewLattice(nil, 2); err == nil {
		t.Error("NewLattice(nil) accepted")
	}
	if _, err := decode.NewLattice(soft.NewDense(2, 3), 2); err == nil {
		t.Error("NewLattice of all-zero beliefs accepted")
	}
	if _, err := decode.NewPLL(h, nil); err == nil {
		t.Error("NewPLL without a vocabulary accepted")
	}
	if _, err := decode.NewPLL(nil, h.Vocab()); err == nil {
		t.Error("NewPLL without a denoiser accepted")
	}
	if _, err := decode.InfoTimes(soft.NewDense(2, 3), 0, 1, 1); err == nil {
		t.Error("InfoTimes with n = 0 accepted")
	}
	if _, err := decode.BeliefState(h.Vocab(), soft.NewDense(2, 3)); err == nil {
		t.Error("BeliefState of the wrong width accepted")
	}
	for _, d := range []decode.FinalDecoder{decode.Beam{}, decode.MAP{}, decode.Viterbi{}, decode.ImportanceResample{}, decode.MBR{}} {
		if _, err := d.Decode(context.Background(), &decode.FinalState{}, h, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("%s accepted an empty final state", d.Name())
		}
		if _, err := d.Decode(context.Background(), nil, h, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("%s accepted a nil final state", d.Name())
		}
	}
	// A prompt the corpus gives probability zero: the first call fails, and
	// CompleteOnError has no beliefs to complete from (it used to sample
	// from all-zero beliefs and panic).
	c := oracle.TwoSentence()
	_, err := decode.Generate(context.Background(), c, c.Vocab(), 3, decode.MDLM{}, decode.Options{Fixed: []int32{0, 4, soft.NoToken}, CompleteOnError: true})
	if err == nil || !strings.Contains(err.Error(), "contradictory") {
		t.Errorf("impossible prompt: error %v", err)
	}
	if _, err := decode.Generate(context.Background(), h, nil, 5, decode.MDLM{}, decode.Options{}); err == nil {
		t.Error("nil vocabulary accepted")
	}
	if _, err := decode.Generate(context.Background(), h, h.Vocab(), 5, decode.MDLM{}, decode.Options{Final: decode.Beam{}}); err == nil {
		t.Error("a final decoder without a scorer accepted")
	}
}

// TestTraceReplaysTrajectory: under Options.Record each step lists its
// changes of identity (position, from, to); replayed from the prompt they
// reproduce every row of the trajectory, and their number is the step's
// Changed count — for samplers that commit, re-mask (ReMDM, Hybrid release)
// and change committed tokens (Hybrid's corrector).
func TestTraceReplaysTrajectory(t *testing.T) {
	h := must(oracle.RandomHMM(rand.New(rand.NewPCG(5, 5)), 3, 4, 8))
	mask := h.Vocab().Mask()
	algs := []decode.Algorithm{decode.LLaDA{Temperature: 1}, decode.ReMDM{Eta: 0.3}, decode.FastDLLM{Threshold: 0.5},
		decode.Hybrid{SoftSL: decode.SoftSL{Commit: decode.CommitLocalised, CommitThreshold: 0.3}, Corrector: decode.CorrectGibbs, Moves: 3, ReleaseBelow: 0.3}}
	for _, a := range algs {
		fixed := []int32{soft.NoToken, 2, soft.NoToken, soft.NoToken, soft.NoToken, soft.NoToken, soft.NoToken, soft.NoToken}
		res, err := decode.Generate(context.Background(), h, h.Vocab(), 8, a, decode.Options{Steps: 8, Seed: 3, Record: true, Fixed: fixed})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]int32, 8)
		for i, f := range fixed {
			x[i] = mask
			if f != soft.NoToken {
				x[i] = f
			}
		}
		kinds := map[string]int{}
		total := 0
		for s, st := range res.Steps {
			if len(st.Changes) != st.Changed {
				t.Fatalf("%s step %d: %d changes listed, Changed %d", a.Name(), s, len(st.Changes), st.Changed)
			}
			for _, c := range st.Changes {
				if x[c.Pos] != c.From || c.From == c.To {
					t.Fatalf("%s step %d: change %+v from a state holding %d", a.Name(), s, c, x[c.Pos])
				}
				switch {
				case c.From == mask:
					kinds["commit"]++
				case c.To == mask:
					kinds["remask"]++
				default:
					kinds["change"]++
				}
				x[c.Pos] = c.To
			}
			total += len(st.Changes)
			if !slices.Equal(x, res.Trajectory[s]) {
				t.Fatalf("%s step %d: replay %v, trajectory %v", a.Name(), s, x, res.Trajectory[s])
			}
		}
		if total != len(res.Changes) {
			t.Fatalf("%s: %d changes in steps, %d in the result", a.Name(), total, len(res.Changes))
		}
		t.Logf("%s: %v", a.Name(), kinds)
		if _, ok := a.(decode.ReMDM); ok && kinds["remask"] == 0 {
			t.Errorf("ReMDM at η = 0.3 re-masked nothing: the trace misses re-masks")
		}
	}
}
