package decode

import (
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// MDLM is ancestral sampling of a masked diffusion model (Sahoo et al. 2024,
// "Simple and Effective Masked Diffusion Language Models";
// kuleshov-group/mdlm). With the SUBS parameterisation a committed position
// is copied unchanged; on the grid from t = 1 to 0, a masked position moves
// from t to s < t to token v with probability p(v)·(α_s − α_t)/(1 − α_t) and
// stays masked with probability (1 − α_s)/(1 − α_t), p the denoiser's
// belief. The last step (s = 0) commits every remaining position by sampling
// (MDLM ends its grid at 1e-5 and takes an argmax "noise removal" pass; an
// exact oracle needs neither). Positions are visited in increasing order,
// each drawing one uniform variate for the move and one token.
//
// Options: Steps is the number of grid steps N (at most N denoiser calls,
// fewer with the cache); BlockLen is not used; NoEntropy drops the per-step
// entropy statistic.
type MDLM struct {
	// Schedule is α(t); nil means the log-linear kernels.LogLinear{Eps: 1e-3}.
	Schedule kernels.Schedule
	// Grid places the N steps on diffusion time from 1 to 0; nil means
	// GridUniform (t_k = 1 − k/N).
	Grid Grid
	// NoCache disables MDLM's cache: by default, when no token changed in a
	// step, the last beliefs are reused without a denoiser call (valid for
	// denoisers that ignore t, as MDLM assumes).
	NoCache bool
}

// Name implements Algorithm.
func (m MDLM) Name() string { return "MDLM" }

type mdlmRun struct {
	MDLM
	r     *Run
	sched kernels.Schedule
	t     []float64 // grid points
	fresh bool      // the beliefs match the evidence
	lastH float64   // mean entropy of the last fresh beliefs
}

// defaultSchedule is MDLM's log-linear schedule α(t) = 1 − (1−ε)t, ε = 1e-3.
func defaultSchedule(s kernels.Schedule) kernels.Schedule {
	if s == nil {
		return kernels.LogLinear{Eps: kernels.DefaultLogLinearEps}
	}
	return s
}

// Start implements Algorithm.
func (m MDLM) Start(r *Run) (Stepper, error) {
	t, err := times(m.Grid, r.Steps(), 1, 0)
	if err != nil {
		return nil, err
	}
	return &mdlmRun{MDLM: m, r: r, sched: defaultSchedule(m.Schedule), t: t}, nil
}

func (s *mdlmRun) Step(k int) (bool, error) {
	r := s.r
	N := r.Steps()
	t, u := s.t[k], s.t[k+1]
	last := k >= N-1
	if !s.fresh || s.NoCache {
		if err := r.Denoise(t); err != nil {
			return false, err
		}
		s.lastH = r.MeanEntropy()
	} else {
		r.SetTime(t)
		r.SetMeanEntropy(s.lastH) // cached beliefs, unchanged state
	}
	at, _ := s.sched.Alpha(t)
	as, _ := s.sched.Alpha(u)
	pu := 1.0
	if !last && at < 1 {
		pu = (as - at) / (1 - at)
	}
	rng, bel := r.Rand(), r.Beliefs()
	changed := false
	for _, i := range r.Free() {
		if !r.Masked(i) {
			continue
		}
		if last || rng.Float64() < pu {
			r.SetToken(i, soft.Sample(rng, bel.Row(i)))
			changed = true
		}
	}
	s.fresh = !changed
	return last, nil
}
