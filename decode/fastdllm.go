package decode

import (
	"fmt"

	"github.com/softdiff/softdiff/decode/draw"
)

// FastDLLM is the parallel decoding rule of Fast-dLLM (Wu et al. 2025,
// "Fast-dLLM: Training-free Acceleration of Diffusion LLM"; NVlabs/Fast-dLLM)
// inside LLaDA's semi-autoregressive blocks (see Blocks). Each step, every
// masked position of the current block gets its candidate (argmax, or a
// sample at Temperature, positions in increasing order) with confidence
// c = p(candidate).
//
// Threshold rule (Factor = 0): commit every candidate with c ≥ Threshold (0
// means 0.9), and always at least the most confident (ties to the smaller
// position).
//
// Factor rule (Factor > 0): sort the M candidates c(1) ≥ c(2) ≥ … (ties to
// the smaller position); candidate k passes when c(k) ≥ 1 − Factor/(k+1),
// that is (k+1)(1 − c(k)) ≤ Factor, the first always; commit the passing
// prefix, up to the first failure. By default the rule is the reference
// code's (get_transfer_index_dynamic): when the first failure is the last
// candidate (k = M), it is committed too, so a block's last two candidates
// are always committed together. StrictPrefix commits only the passing
// prefix, the rule as the paper states it.
//
// A block is finished before the next starts.
//
// Options: Steps is not used (each step commits at least one token, so a
// run takes at most one step per free position); BlockLen is the block
// length in free positions (any length: the last block may be shorter);
// NoEntropy drops the per-step entropy statistic.
//
// The rule rests on the paper's Theorem 1: if every committed marginal
// exceeds 1 − ε and (n+1)ε ≤ 1, the product of marginals and the joint have
// the same argmax (tested in this package on random instances).
//
// Settings: Threshold in [0, 1] (1 commits only candidates of belief 1,
// besides the most confident); Factor ≥ 0 (+Inf: every candidate passes,
// the whole block in one step); Temperature ≥ 0 (0: argmax; +Inf: uniform
// over the belief's support). NaN is an error.
type FastDLLM struct {
	Threshold    float64
	Factor       float64
	Temperature  float64
	StrictPrefix bool
}

// Name implements Algorithm.
func (m FastDLLM) Name() string {
	if m.Factor > 0 {
		return "Fast-dLLM-factor"
	}
	return "Fast-dLLM"
}

type fastRun struct {
	FastDLLM
	r    *Run
	b    Blocks
	blk  int
	idx  []int
	key  []float64
	cand []int32
}

// Start implements Algorithm.
func (m FastDLLM) Start(r *Run) (Stepper, error) {
	// Each field on its own (NaN fails every comparison); +Inf Factor and
	// Temperature are accepted (see the type's doc).
	if !(m.Threshold >= 0 && m.Threshold <= 1) || !(m.Factor >= 0) || !(m.Temperature >= 0) {
		return nil, fmt.Errorf("bad Fast-dLLM setting: threshold %v, factor %v, temperature %v", m.Threshold, m.Factor, m.Temperature)
	}
	if m.Threshold == 0 {
		m.Threshold = 0.9
	}
	b, err := NewBlocks(r, false)
	if err != nil {
		return nil, err
	}
	L := r.Len()
	return &fastRun{FastDLLM: m, r: r, b: b, idx: make([]int, 0, L), key: make([]float64, L), cand: make([]int32, L)}, nil
}

func (s *fastRun) Step(k int) (bool, error) {
	r := s.r
	lo, hi := s.b.Span(s.blk)
	s.idx = maskedIn(s.idx, r, lo, hi)
	for len(s.idx) == 0 { // a finished block (cannot happen at a block's start, kept for safety)
		if s.blk++; s.blk >= s.b.N {
			return true, nil
		}
		lo, hi = s.b.Span(s.blk)
		s.idx = maskedIn(s.idx, r, lo, hi)
	}
	idx := s.idx
	if err := r.Denoise(float64(r.NumMasked()) / float64(len(r.Free()))); err != nil {
		return false, err
	}
	r.MeanEntropy()
	for _, i := range idx {
		x0 := r.Candidate(i, s.Temperature)
		s.cand[i] = x0
		s.key[i] = r.Prob(i, x0)
	}
	var n int
	if s.Factor > 0 {
		n = fastFactorCount(idx, s.key, s.Factor, s.StrictPrefix)
	} else {
		draw.TopK(idx, s.key, 1)
		n = 1
		for a := 1; a < len(idx); a++ {
			if s.key[idx[a]] >= s.Threshold {
				idx[n], idx[a] = idx[a], idx[n]
				n++
			}
		}
	}
	for _, i := range idx[:n] {
		r.SetToken(i, s.cand[i])
	}
	if n == len(idx) {
		s.blk++
	}
	return s.blk >= s.b.N, nil
}

// fastFactorCount sorts idx by decreasing key and returns the number of
// candidates the factor rule commits: the longest prefix whose k-th entry
// (k from 1) has c(k) ≥ 1 − f/(k+1), at least 1, and, unless strict, all M
// when only the last fails (the reference code's cut).
func fastFactorCount(idx []int, key []float64, f float64, strict bool) int {
	draw.Sort(idx, key)
	M := len(idx)
	n := 1
	for n < M && key[idx[n]] >= 1-f/float64(n+2) {
		n++
	}
	if !strict && n == M-1 {
		n = M
	}
	return n
}
