package experiments

import (
	"context"
	"math/rand/v2"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// Sampler families.
const (
	famHard   = "hard"
	famSoft   = "soft"
	famHybrid = "hybrid"
)

// setting is one point of a sampler's sweep.
type setting struct {
	label string // e.g. "steps=3" or "τ=0.9"
	alg   decode.Algorithm
	steps int
}

// samplerSpec is a sampler and how to sweep its cost. Samplers that take a
// step count are run at each requested step count; adaptive ones (Fast-dLLM,
// EB) sweep their own threshold and their NFE is measured.
type samplerSpec struct {
	name, family string
	alg          decode.Algorithm // for step-count samplers
	adaptive     []setting        // for adaptive samplers
	// custom, if set, generates instead of decode.Generate (the samplers of
	// planners.go).
	custom func(ctx context.Context, den decode.Denoiser, v *soft.Vocab, L, steps int, rng *rand.Rand) ([]int32, int, error)
	// joint: replace the final parallel draw by importance resampling
	// against the testbed's exact joint scorer (withJoint).
	joint bool
}

func (s samplerSpec) settings(steps []int) []setting {
	if s.adaptive != nil {
		return s.adaptive
	}
	out := make([]setting, len(steps))
	for i, n := range steps {
		out[i] = setting{label: "steps=" + itoa(n), alg: s.alg, steps: n}
	}
	return out
}

// All samplers draw tokens at temperature 1: they aim to sample the
// distribution, so their errors are sampler errors, not the mode-seeking of
// greedy decoding.
func hardSamplers() []samplerSpec {
	var fast, eb []setting
	for _, tau := range []float64{0.3, 0.5, 0.7, 0.9, 0.99} {
		fast = append(fast, setting{label: "τ=" + ftoa(tau), alg: decode.FastDLLM{Threshold: tau, Temperature: 1}})
	}
	for _, g := range []float64{4, 1, 0.3, 0.1, 0.01} {
		eb = append(eb, setting{label: "γ=" + ftoa(g), alg: decode.EB{Gamma: g, Temperature: 1}})
	}
	return []samplerSpec{
		{name: "MDLM", family: famHard, alg: decode.MDLM{}},
		{name: "LLaDA-random", family: famHard, alg: decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}},
		{name: "LLaDA-lowconf", family: famHard, alg: decode.LLaDA{Remasking: decode.LowConfidence, Temperature: 1}},
		{name: "Dream-entropy", family: famHard, alg: decode.Dream{Alg: decode.DreamEntropy, Temperature: 1}},
		{name: "ReMDM-cap", family: famHard, alg: decode.ReMDM{Strategy: decode.ReMDMCap}},
		{name: "Fast-dLLM", family: famHard, adaptive: fast},
		{name: "EB", family: famHard, adaptive: eb},
	}
}

func softSamplers() []samplerSpec {
	return []samplerSpec{
		{name: "SL-uniform", family: famSoft, alg: decode.SoftSL{Grid: decode.GridUniform}},
		{name: "SL-geometric", family: famSoft, alg: decode.SoftSL{Grid: decode.GridGeometric}},
		{name: "SL-geometric-entropyrate", family: famSoft, alg: decode.SoftSL{Grid: decode.GridGeometric, Rate: decode.RateEntropy}},
		{name: "SL-info", family: famSoft, alg: decode.SoftSL{Grid: decode.GridInfo}},
		{name: "LRD", family: famSoft, alg: decode.LRD{Temperature: 1}},
	}
}

// hybridSamplers are softdiff's hybrid samplers: soft refinement that
// commits a position once its evidence is localised, plus a corrector.
func hybridSamplers() []samplerSpec {
	base := decode.SoftSL{Grid: decode.GridGeometric, Commit: decode.CommitLocalised, CommitThreshold: 0.05}
	return []samplerSpec{
		{name: "Hybrid-commit", family: famHybrid, alg: decode.Hybrid{SoftSL: base}},
		{name: "Hybrid-gibbs", family: famHybrid, alg: decode.Hybrid{SoftSL: base, Corrector: decode.CorrectGibbs, Moves: 1}},
	}
}
