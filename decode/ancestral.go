package decode

import (
	"errors"
	"fmt"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// KernelAncestral is ancestral sampling of the reverse process of any
// absorbing-type kernel with a closed-form posterior (kernels.Posteriorer,
// e.g. kernels.InfoAbsorbing): on the grid from t = 1 to 0, a masked
// position moves from t to s to the state drawn from
// q(x_s | x_t = MASK, x_0 ~ belief) (it may stay masked); on the last step
// (s = 0) every remaining position draws its token from its belief. With
// token-dependent rates, which tokens appear early depends on their rate:
// the information-aware reverse process. MDLM is the special case of the
// plain absorbing kernel. Positions are visited in increasing order; tokens
// are drawn at temperature 1. Every step calls the denoiser, also when no
// position is left masked before the last one.
//
// Options: Steps is the number of grid steps (= denoiser calls); BlockLen
// is not used; NoEntropy drops the per-step entropy statistic.
type KernelAncestral struct {
	Kernel kernels.Posteriorer
	// Grid places the steps on diffusion time from 1 to 0; nil means
	// GridUniform.
	Grid Grid
}

// Name implements Algorithm.
func (m KernelAncestral) Name() string { return "kernel-ancestral" }

type ancestralRun struct {
	KernelAncestral
	r        *Run
	t        []float64
	xt, post []float32
}

// Start implements Algorithm.
func (m KernelAncestral) Start(r *Run) (Stepper, error) {
	if m.Kernel == nil {
		return nil, errors.New("KernelAncestral needs a Kernel")
	}
	K := r.Vocab().Size()
	if k, ok := m.Kernel.(interface{ States() int }); ok && k.States() != K {
		return nil, fmt.Errorf("kernel has %d states, vocabulary %d", k.States(), K)
	}
	t, err := times(m.Grid, r.Steps(), 1, 0)
	if err != nil {
		return nil, err
	}
	s := &ancestralRun{KernelAncestral: m, r: r, t: t, xt: make([]float32, K), post: make([]float32, K)}
	s.xt[r.Mask()] = 1
	return s, nil
}

func (s *ancestralRun) Step(k int) (bool, error) {
	r := s.r
	t, u := s.t[k], s.t[k+1]
	last := k >= r.Steps()-1
	if last {
		u = 0
	}
	if err := r.Denoise(t); err != nil {
		return false, err
	}
	r.MeanEntropy()
	rng, bel, mask := r.Rand(), r.Beliefs(), r.Mask()
	for _, i := range r.Free() {
		if !r.Masked(i) {
			continue
		}
		var x int32
		if u == 0 {
			x = soft.Sample(rng, bel.Row(i))
		} else {
			if err := s.Kernel.Posterior(s.post, s.xt, bel.Row(i), u, t); err != nil {
				return false, fmt.Errorf("kernel posterior at position %d: %w", i, err)
			}
			x = soft.Sample(rng, s.post)
		}
		if x != mask {
			r.SetToken(i, x)
		}
	}
	return last, nil
}
