package decode

import (
	"fmt"
	"math"
	"slices"

	"github.com/softdiff/softdiff/kernels"
)

// CART commits positions in order of Dream's context-adaptive weight (CART;
// Ye et al. 2025, arXiv 2508.15487; kernels.CARTWeights): a masked
// position's weight grows with the committed tokens near it,
// w_i = ½ Σ_{committed j} p(1−p)^{|i−j|−1} (fixed positions count as
// committed), so positions next to context are decoded first. Each step
// commits LLaDA's count of positions (see LLaDA) in decreasing weight; ties
// (for example the first step, with no context) are broken at random: every
// masked position draws a uniform variate, in increasing order, and the
// smaller variate goes first. Each committed position then draws its token
// from its belief at Temperature (argmax at 0), in that order.
//
// Options: Steps is the number of steps (= denoiser calls); BlockLen is not
// used; NoEntropy drops the per-step entropy statistic.
type CART struct {
	// P is the geometric decay p of the weight, in [0, 1) (1 − p, the
	// decay per position, must be positive); 0 means kernels.DefaultCARTP.
	P float64
	// Temperature is finite and ≥ 0 (0: argmax).
	Temperature float64
	// Grid places the steps on diffusion time from 1 to 0 (the t handed to
	// the denoiser); nil means GridUniform.
	Grid Grid
}

// Name implements Algorithm.
func (m CART) Name() string { return "CART" }

type cartRun struct {
	CART
	r      *Run
	t      []float64
	counts []int
	masked []bool
	w, jit []float64
	idx    []int
}

// Start implements Algorithm.
func (m CART) Start(r *Run) (Stepper, error) {
	if !(m.P >= 0 && m.P < 1) || !(m.Temperature >= 0) || math.IsInf(m.Temperature, 1) {
		return nil, fmt.Errorf("bad CART setting: p %v, temperature %v", m.P, m.Temperature)
	}
	t, err := times(m.Grid, r.Steps(), 1, 0)
	if err != nil {
		return nil, err
	}
	L := r.Len()
	s := &cartRun{CART: m, r: r, t: t, counts: make([]int, r.Steps()), masked: make([]bool, L),
		w: make([]float64, L), jit: make([]float64, L), idx: make([]int, 0, L)}
	lladaCounts(s.counts, len(r.Free()))
	return s, nil
}

func (s *cartRun) Step(k int) (bool, error) {
	r := s.r
	if err := r.Denoise(s.t[k]); err != nil {
		return false, err
	}
	r.MeanEntropy()
	for i := range s.masked {
		s.masked[i] = r.Masked(i)
	}
	kernels.CARTWeights(s.w, s.masked, s.P)
	rng := r.Rand()
	s.idx = s.idx[:0]
	for _, i := range r.Free() {
		if r.Masked(i) {
			s.idx = append(s.idx, i)
			s.jit[i] = rng.Float64()
		}
	}
	w, jit := s.w, s.jit
	slices.SortFunc(s.idx, func(a, b int) int {
		switch {
		case w[a] != w[b]:
			if w[a] > w[b] {
				return -1
			}
			return 1
		case jit[a] != jit[b]:
			if jit[a] < jit[b] {
				return -1
			}
			return 1
		}
		return a - b
	})
	for _, i := range s.idx[:min(s.counts[k], len(s.idx))] {
		r.SetToken(i, r.Candidate(i, s.Temperature))
	}
	return k >= r.Steps()-1, nil
}
