package decode

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// ReMDMStrategy is ReMDM's remasking schedule σ_t.
type ReMDMStrategy int

const (
	// ReMDMCap: σ_t = min(η, σ_max), σ_max = min(1, (1 − α_s)/α_t).
	ReMDMCap ReMDMStrategy = iota
	// ReMDMRescale: σ_t = η·σ_max.
	ReMDMRescale
	// ReMDMConf: σ_t(i) = σ_max·softmax over decoded positions of −ψ_i, ψ_i
	// the belief in position i's token when it was decoded.
	ReMDMConf
	// ReMDMLoop: MDLM until α reaches AlphaOn at TOn, then α held at AlphaOn
	// with constant σ = η until TOff, then MDLM to α = 1.
	ReMDMLoop
)

// String returns "cap", "rescale", "conf", "loop", or "ReMDMStrategy(n)".
func (s ReMDMStrategy) String() string {
	switch s {
	case ReMDMCap:
		return "cap"
	case ReMDMRescale:
		return "rescale"
	case ReMDMConf:
		return "conf"
	case ReMDMLoop:
		return "loop"
	}
	return fmt.Sprintf("ReMDMStrategy(%d)", int(s))
}

// ReMDM is remasking diffusion sampling (Wang et al. 2025, "Remasking
// Discrete Diffusion Models with Inference-Time Scaling", arXiv 2503.00307;
// kuleshov-group/remdm). On the grid from t = 1 to 0, a decoded token is
// re-masked with probability σ_t; a masked position moves to token v with
// probability p(v)·(α_s − (1 − σ_t)α_t)/(1 − α_t) and stays masked with
// probability (1 − α_s − σ_t α_t)/(1 − α_t). Positions are visited in
// increasing order, each drawing one uniform variate (and, when it moves, a
// token). Eta 0 means the published defaults: 0.008 (cap), 0.015 (rescale),
// 0.02 (loop). Loop: TOn 0.55, TOff 0.05, AlphaOn 0.9 by default, with α
// linear in t on each MDLM phase (α = AlphaOn·(1−t)/(1−TOn) above TOn,
// 1 − (1−AlphaOn)·t/TOff below TOff). For ReMDMConf a masked position has
// σ = 0 (its confidence counts as +∞). Fixed (prompt) positions are never
// re-masked. Valid settings (after defaults): Eta ≥ 0, and Eta ≤ 1 for
// rescale, Eta ≤ (1 − AlphaOn)/AlphaOn for the loop; 0 < TOff < TOn < 1;
// 0 < AlphaOn < 1. Anything else, NaN included, is an error naming the
// setting.
//
// Options: Steps is the number of grid steps (= denoiser calls); BlockLen
// is not used; NoEntropy drops the per-step entropy statistic.
type ReMDM struct {
	Strategy           ReMDMStrategy
	Eta                float64
	TOn, TOff, AlphaOn float64
	// Schedule is α(t) of cap, rescale and conf; nil means log-linear.
	Schedule kernels.Schedule
	// Grid places the steps on diffusion time from 1 to 0; nil means
	// GridUniform.
	Grid Grid
}

// Name implements Algorithm.
func (m ReMDM) Name() string { return "ReMDM-" + m.Strategy.String() }

type remdmRun struct {
	ReMDM
	r     *Run
	sched kernels.Schedule
	t     []float64
	psi   []float64 // confidence at decode, by position
}

// Start implements Algorithm.
func (m ReMDM) Start(r *Run) (Stepper, error) {
	if m.Strategy < ReMDMCap || m.Strategy > ReMDMLoop {
		return nil, fmt.Errorf("unknown ReMDM strategy %v", m.Strategy)
	}
	if m.Eta == 0 {
		m.Eta = [...]float64{0.008, 0.015, 1, 0.02}[m.Strategy]
	}
	if m.TOn == 0 {
		m.TOn = 0.55
	}
	if m.TOff == 0 {
		m.TOff = 0.05
	}
	if m.AlphaOn == 0 {
		m.AlphaOn = 0.9
	}
	// Each setting is checked on its own so the error names it; the window
	// settings are checked for every strategy (only the loop reads them).
	switch {
	case !(m.Eta >= 0):
		return nil, fmt.Errorf("ReMDM: eta %v, want ≥ 0", m.Eta)
	case m.Strategy == ReMDMRescale && !(m.Eta <= 1):
		// σ_t = η·σ_max above σ_max makes the stay-masked probability
		// (1 − α_s − σ_t α_t)/(1 − α_t) negative.
		return nil, fmt.Errorf("ReMDM rescale: eta %v, want ≤ 1 (σ_t = η·σ_max may not exceed σ_max)", m.Eta)
	case !(m.TOn > 0 && m.TOn < 1):
		return nil, fmt.Errorf("ReMDM: t_on %v, want in (0, 1)", m.TOn)
	case !(m.TOff > 0 && m.TOff < m.TOn):
		return nil, fmt.Errorf("ReMDM: t_off %v, want in (0, t_on = %v)", m.TOff, m.TOn)
	case !(m.AlphaOn > 0 && m.AlphaOn < 1):
		return nil, fmt.Errorf("ReMDM: alpha_on %v, want in (0, 1)", m.AlphaOn)
	}
	if m.Strategy == ReMDMLoop && m.Eta > (1-m.AlphaOn)/m.AlphaOn {
		return nil, fmt.Errorf("ReMDM loop: eta %v exceeds (1−α_on)/α_on = %v", m.Eta, (1-m.AlphaOn)/m.AlphaOn)
	}
	t, err := times(m.Grid, r.Steps(), 1, 0)
	if err != nil {
		return nil, err
	}
	return &remdmRun{ReMDM: m, r: r, sched: defaultSchedule(m.Schedule), t: t, psi: make([]float64, r.Len())}, nil
}

func (s *remdmRun) alpha(t float64) float64 {
	if s.Strategy != ReMDMLoop {
		a, _ := s.sched.Alpha(t)
		return a
	}
	switch {
	case t >= s.TOn:
		return s.AlphaOn * (1 - t) / (1 - s.TOn)
	case t <= s.TOff:
		return 1 - (1-s.AlphaOn)*t/s.TOff
	}
	return s.AlphaOn
}

func (s *remdmRun) Step(k int) (bool, error) {
	r := s.r
	N := r.Steps()
	t, u := s.t[k], s.t[k+1]
	last := k >= N-1
	if err := r.Denoise(t); err != nil {
		return false, err
	}
	r.MeanEntropy()
	at, as := s.alpha(t), s.alpha(u)
	if last {
		as = 1
	}
	smax := 0.0
	if at > 0 {
		smax = min(1, max(0, (1-as)/at))
	}
	var sigma float64
	switch s.Strategy {
	case ReMDMCap:
		sigma = min(s.Eta, smax)
	case ReMDMRescale:
		sigma = s.Eta * smax
	case ReMDMLoop:
		if t <= s.TOn && u >= s.TOff && !last {
			sigma = s.Eta
		}
	}
	free := r.Free()
	// ReMDM-conf: softmax of −ψ over decoded free positions.
	var zconf, mconf float64
	if s.Strategy == ReMDMConf {
		mconf = math.Inf(-1)
		for _, i := range free {
			if !r.Masked(i) {
				mconf = max(mconf, -s.psi[i])
			}
		}
		for _, i := range free {
			if !r.Masked(i) {
				zconf += math.Exp(-s.psi[i] - mconf)
			}
		}
	}
	rng, bel, mask := r.Rand(), r.Beliefs(), r.Mask()
	for _, i := range free {
		if !r.Masked(i) {
			sg := sigma
			if s.Strategy == ReMDMConf {
				sg = smax * math.Exp(-s.psi[i]-mconf) / zconf
			}
			if sg > 0 && rng.Float64() < sg {
				r.SetToken(i, mask)
			}
			continue
		}
		sg := sigma
		if s.Strategy == ReMDMConf {
			sg = 0
		}
		pu := 1.0
		if !last && at < 1 {
			pu = (as - (1-sg)*at) / (1 - at)
		}
		if rng.Float64() < pu {
			p := bel.Row(i)
			v := soft.Sample(rng, p)
			s.psi[i] = float64(p[v])
			r.SetToken(i, v)
		}
	}
	return last, nil
}
