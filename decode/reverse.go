package decode

import (
	"fmt"

	"github.com/softdiff/softdiff/soft"
)

// KernelReverse is ancestral sampling of the reverse process of any kernel
// with closed-form transitions (ReverseKernel: every kernel of package
// kernels), graded ones included: tokens move between tokens, not only out
// of MASK. The noisy state x_t holds one kernel state per free position;
// x_1 is drawn from the kernel's prior (the limit of its marginal at t = 1).
// Each step from t to s on the grid:
//
//  1. the evidence of position i is its likelihood row
//     ℓ_i(v) = P_t(x_t,i | x_0 = v) (kernels.Likelihooder at s = 0, scaled
//     to maximum 1, no MASK mass: the soft-evidence contract of Denoiser),
//     and the denoiser returns the posterior b_i(v) = p(x_0,i = v | x_t);
//
//  2. x_s,i is drawn from the reverse kernel averaged over that posterior,
//
//     p(x_s | x_t) = Σ_v b_i(v)·q(x_s | x_t, x_0 = v),
//     q(x_s | x_t, x_0) = P_{t|s}(x_t | x_s)·P_s(x_s | x_0) / P_t(x_t | x_0),
//
//     computed as Q(s,t)[x_s, x_t]·[w·Q̄(0,s)](x_s) with w = b_i/ℓ_i (one
//     Marginal and one Likelihood call for all positions).
//
// The last step ends at s = 0: every position draws x_0 from its belief and
// is committed (the run's identities are MASK until then; the noisy state
// belongs to the sampler). With an exact denoiser each position's x_s has
// the exact reverse law given x_t, so the per-position marginals of x_s are
// the forward marginals at s; the positions are drawn independently given
// x_t, which is the parallel-decoding error, vanishing as the steps shrink.
// Sequential removes it: positions move one at a time, each after a
// denoiser call that sees the positions already moved (their evidence
// becomes P_s(x_s | x_0 = ·): given x_s, x_t says nothing more about x_0),
// so a step is an exact draw of the whole x_s at len(Free()) calls.
//
// For an absorbing kernel this is MDLM's step; for kernels.InfoAbsorbing it
// differs from KernelAncestral, which hands masked positions no evidence,
// while here a masked position carries ℓ(v) = 1 − α_t^{w_v}: being masked
// says something about a token whose rate is high.
//
// Randomness: x_1 in Start, then each step one draw per position in
// increasing order (the last step's from the beliefs). Options: Steps is
// the number of grid steps (denoiser calls: Steps, or Steps × free
// positions with Sequential); BlockLen is not used; NoEntropy drops the
// per-step entropy statistic.
type KernelReverse struct {
	Kernel ReverseKernel
	// Grid places the steps on diffusion time from 1 to 0; nil means
	// GridUniform. Its points must lie in [0, 1], non-increasing.
	Grid Grid
	// Sequential moves one position per denoiser call (exact joint steps).
	Sequential bool
}

// Name implements Algorithm.
func (m KernelReverse) Name() string {
	if m.Sequential {
		return "kernel-reverse-seq"
	}
	return "kernel-reverse"
}

type reverseRun struct {
	*noisy
	seq bool
}

// Start implements Algorithm.
func (m KernelReverse) Start(r *Run) (Stepper, error) {
	n, err := newNoisy(r, m.Kernel, m.Grid, m.Sequential)
	if err != nil {
		return nil, fmt.Errorf("KernelReverse: %w", err)
	}
	return &reverseRun{noisy: n, seq: m.Sequential}, nil
}

func (s *reverseRun) Step(k int) (bool, error) {
	if s.seq {
		return s.stepSequential(k)
	}
	t, u, last := s.ends(k)
	if done, err := s.observe(t, last); done || err != nil {
		return done, err
	}
	s.k.Marginal(s.m, s.w, u)
	s.k.Likelihood(s.col, s.xt, u, t)
	for f := range s.free {
		x, err := s.draw(f)
		if err != nil {
			return false, err
		}
		s.xt[f] = x
	}
	return false, nil
}

// stepSequential moves the free positions one at a time from t to u.
func (s *reverseRun) stepSequential(k int) (bool, error) {
	r := s.r
	t, u, last := s.ends(k)
	if err := s.evidence(t); err != nil {
		return false, err
	}
	for f, i := range s.free {
		if err := r.Denoise(t); err != nil {
			return false, err
		}
		if f == 0 {
			r.MeanEntropy()
		}
		b := r.Beliefs().Row(i)
		if last {
			r.SetToken(i, soft.Sample(r.Rand(), b))
			continue
		}
		if err := s.weights(f, b); err != nil {
			return false, err
		}
		s.k.Marginal(s.mV[f], s.wV[f], u)
		s.k.Likelihood(s.colV[f], s.xt[f:f+1], u, t)
		x, err := s.draw(f)
		if err != nil {
			return false, err
		}
		s.xt[f] = x
		// Given x_u, x_t carries nothing more about x_0 (Markov): the
		// position's evidence becomes P_u(x_u | x_0 = ·).
		s.k.Likelihood(s.likeV[f], s.xt[f:f+1], 0, u)
		if err := s.setEvidence(f); err != nil {
			return false, err
		}
	}
	return last, nil
}
