package decode

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/decode/draw"
)

// Remasking is LLaDA's rule for which predicted tokens to keep each step.
type Remasking int

const (
	// LowConfidence keeps the tokens whose predicted probability is highest.
	LowConfidence Remasking = iota
	// RandomRemasking keeps uniformly random positions.
	RandomRemasking
)

// String returns "lowconf", "random", or "Remasking(n)" for another value.
func (m Remasking) String() string {
	switch m {
	case LowConfidence:
		return "lowconf"
	case RandomRemasking:
		return "random"
	}
	return fmt.Sprintf("Remasking(%d)", int(m))
}

// LLaDA is the sampler of LLaDA (Nie et al. 2025, "Large Language Diffusion
// Models"; reference generate.py). The free positions are split into blocks
// (see Blocks), generated left to right (semi-autoregressive), with
// Steps / #blocks steps per block. In a block with M masked positions and S
// steps, step j commits ⌊M/S⌋ tokens plus one more in the first M mod S
// steps (LLaDA's get_num_transfer_tokens). Each masked position of the block
// gets a candidate x0 by the Gumbel-max rule at Temperature (argmax at 0;
// drawn here as the equivalent sample from p^(1/T), draw.Tempered); its
// confidence is p(x0) under the untempered belief (LowConfidence) or a
// uniform variate (RandomRemasking), and the most confident are committed,
// never to be revisited; ties go to the smaller position. Positions are
// visited in increasing order, each drawing its candidate and then (random
// remasking) its confidence. Positions of later blocks are not candidates.
// (LLaDA's EOS-suppression bug, ML-GSAI/LLaDA#137, has no counterpart:
// nothing is altered after x0 is drawn.)
//
// Options: Steps is the total number of steps (= denoiser calls) and must
// be a multiple of the number of blocks; BlockLen is the block length in
// free positions and must divide their number (both errors otherwise);
// NoEntropy drops the per-step entropy statistic.
type LLaDA struct {
	Remasking   Remasking
	Temperature float64
	// Grid places the steps on diffusion time from 1 to 0 (the t handed to
	// the denoiser); nil means GridUniform.
	Grid Grid
}

// Name implements Algorithm.
func (m LLaDA) Name() string { return "LLaDA-" + m.Remasking.String() }

type lladaRun struct {
	LLaDA
	r      *Run
	b      Blocks
	t      []float64
	idx    []int
	key    []float64
	cand   []int32
	spb    int   // steps per block
	counts []int // tokens to commit at each step of the current block
}

// Start implements Algorithm.
func (m LLaDA) Start(r *Run) (Stepper, error) {
	if m.Remasking != LowConfidence && m.Remasking != RandomRemasking {
		return nil, fmt.Errorf("unknown remasking %v", m.Remasking)
	}
	if m.Temperature < 0 || math.IsNaN(m.Temperature) {
		return nil, fmt.Errorf("temperature %v < 0", m.Temperature)
	}
	b, err := NewBlocks(r, true)
	if err != nil {
		return nil, err
	}
	spb := r.Steps()
	if b.N > 0 {
		if r.Steps()%b.N != 0 {
			return nil, fmt.Errorf("steps %d are not a multiple of the %d blocks", r.Steps(), b.N)
		}
		spb = r.Steps() / b.N
	}
	t, err := times(m.Grid, r.Steps(), 1, 0)
	if err != nil {
		return nil, err
	}
	L := r.Len()
	return &lladaRun{LLaDA: m, r: r, b: b, t: t, spb: spb, counts: make([]int, spb),
		idx: make([]int, 0, L), key: make([]float64, L), cand: make([]int32, L)}, nil
}

// lladaCounts writes LLaDA's per-step commit counts for M masked positions
// over len(dst) steps.
func lladaCounts(dst []int, M int) {
	S := len(dst)
	for j := range dst {
		dst[j] = M / S
		if j < M%S {
			dst[j]++
		}
	}
}

func (s *lladaRun) Step(k int) (bool, error) {
	r := s.r
	blk, j := k/s.spb, k%s.spb
	lo, hi := s.b.Span(blk)
	s.idx = maskedIn(s.idx, r, lo, hi)
	idx := s.idx
	if j == 0 {
		lladaCounts(s.counts, len(idx))
	}
	if err := r.Denoise(s.t[k]); err != nil {
		return false, err
	}
	r.MeanEntropy()
	rng := r.Rand()
	for _, i := range idx {
		x0 := r.Candidate(i, s.Temperature)
		s.cand[i] = x0
		if s.Remasking == RandomRemasking {
			s.key[i] = rng.Float64()
		} else {
			s.key[i] = r.Prob(i, x0)
		}
	}
	n := s.counts[j]
	draw.TopK(idx, s.key, n)
	for _, i := range idx[:min(n, len(idx))] {
		r.SetToken(i, s.cand[i])
	}
	return k >= r.Steps()-1, nil
}
