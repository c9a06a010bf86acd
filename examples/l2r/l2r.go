// Package l2r is a sampler written outside package decode, to show (and
// test) that the engine is open: it uses only decode's exported stepping
// contract, plugs into decode.Generate and decode.GenerateBatch, and one
// registration line puts it into the experiments (experiments.RegisterSampler)
// and the command line's sampler list (cmd/softdiff, built with -tags
// examples).
//
// LeftToRight decodes in left-to-right order, several positions per step:
// the order of an autoregressive model, run at a diffusion model's step
// budget. With an exact denoiser and one token per step it is exact
// sampling (the chain rule, left to right); with several tokens per step it
// commits neighbouring positions in one parallel draw, the case the
// marginal trap punishes most, since neighbours depend on each other most.
package l2r

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/decode"
)

// LeftToRight commits, at step j of S, the leftmost c_j masked free
// positions, c_j being LLaDA's count (⌊M/S⌋, one more in the first M mod S
// steps, M the free positions), each drawing its token from its belief at
// Temperature (argmax at 0), left to right. The denoiser is called once per
// step at t = 1 − j/S.
//
// Options: Steps is the number of steps (= denoiser calls); BlockLen is not
// used; NoEntropy drops the per-step entropy statistic.
type LeftToRight struct {
	Temperature float64
}

// Name implements decode.Algorithm.
func (LeftToRight) Name() string { return "L2R" }

type run struct {
	LeftToRight
	r      *decode.Run
	counts []int
}

// Start implements decode.Algorithm.
func (m LeftToRight) Start(r *decode.Run) (decode.Stepper, error) {
	if !(m.Temperature >= 0) || math.IsInf(m.Temperature, 1) {
		return nil, fmt.Errorf("l2r: temperature %v", m.Temperature)
	}
	S, M := r.Steps(), len(r.Free())
	counts := make([]int, S)
	for j := range counts {
		counts[j] = M / S
		if j < M%S {
			counts[j]++
		}
	}
	return &run{LeftToRight: m, r: r, counts: counts}, nil
}

// Step implements decode.Stepper.
func (s *run) Step(k int) (bool, error) {
	r := s.r
	S := r.Steps()
	if err := r.Denoise(1 - float64(k)/float64(S)); err != nil {
		return false, err
	}
	r.MeanEntropy()
	n := s.counts[k]
	for _, i := range r.Free() {
		if n == 0 {
			break
		}
		if r.Masked(i) {
			r.SetToken(i, r.Candidate(i, s.Temperature))
			n--
		}
	}
	return k >= S-1, nil
}
