package decode

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

// CTMCRule is how KernelCTMC turns the reverse rates of a step into a move.
type CTMCRule int

const (
	// CTMCTauLeap is τ-leaping with the rates frozen at the step's start
	// and at most one jump: a position with total reverse rate Λ over the
	// step stays with probability e^{−Λ}, else jumps to y with probability
	// ∝ λ(y) (the first jump of the frozen chain; later ones are dropped).
	CTMCTauLeap CTMCRule = iota
	// CTMCEuler is the first-order (Euler) step of discrete flow matching:
	// jump to y with probability λ(y), stay with 1 − Λ; when Λ > 1 the
	// jump probabilities are rescaled to sum to 1.
	CTMCEuler
)

// String returns "tau-leap", "euler" or "CTMCRule(n)".
func (c CTMCRule) String() string {
	switch c {
	case CTMCTauLeap:
		return "tau-leap"
	case CTMCEuler:
		return "euler"
	}
	return fmt.Sprintf("CTMCRule(%d)", int(c))
}

// KernelCTMC samples the reverse process of a kernel as a continuous-time
// Markov chain (CTMCKernel: every kernel of package kernels; made for the
// graph kernel, whose transitions are matrix exponentials): on the grid
// from t = 1 to 0, each free position jumps along the reverse rates
//
//	R̂_t(x → y) = R_t(y → x)·Σ_v b(v)·P_t(y | x_0 = v)/P_t(x | x_0 = v),
//
// the forward rate into x from y (kernels.Rater) times the ratio
// p_t(x_t,i = y | rest)/p_t(x_t,i = x | rest), which the denoiser's
// posterior b over x_0 gives exactly (the concrete score of SEDD; the
// reverse rate of discrete flow matching). Over a step from t to s the
// integrated rate is λ(y) = [∫_s^t R(y → x)]·ratio(y) with the ratio frozen
// at t, and the position moves by Rule. Evidence, x_1 and the last step are
// as in KernelReverse: the denoiser reads ℓ_i(v) = P_t(x_t,i | x_0 = v), and
// the last step draws x_0 from the beliefs.
//
// Unlike KernelReverse, one step is exact only to first order in its
// length (the rates change within it), also for one position; it needs only
// rates, not transitions to s. A grid point where the schedule has α = 0
// inside the run (infinite integrated rate) is an error.
//
// Randomness: x_1 in Start; each step, positions in increasing order, one
// uniform variate for jump-or-stay and, when jumping, one draw of the
// target; the last step one draw per position. Options: Steps is the
// number of grid steps (= denoiser calls); BlockLen is not used; NoEntropy
// drops the per-step entropy statistic.
type KernelCTMC struct {
	Kernel CTMCKernel
	Rule   CTMCRule
	// Grid places the steps on diffusion time from 1 to 0; nil means
	// GridUniform. Its points must lie in [0, 1], non-increasing.
	Grid Grid
}

// Name implements Algorithm.
func (m KernelCTMC) Name() string {
	if m.Rule == CTMCEuler {
		return "kernel-ctmc-euler"
	}
	return "kernel-ctmc"
}

type ctmcRun struct {
	*noisy
	kr   CTMCKernel
	rule CTMCRule
	rate []float32
}

// Start implements Algorithm.
func (m KernelCTMC) Start(r *Run) (Stepper, error) {
	if m.Rule != CTMCTauLeap && m.Rule != CTMCEuler {
		return nil, fmt.Errorf("KernelCTMC: unknown rule %v", m.Rule)
	}
	var k ReverseKernel
	if m.Kernel != nil {
		k = m.Kernel
	}
	n, err := newNoisy(r, k, m.Grid, false)
	if err != nil {
		return nil, fmt.Errorf("KernelCTMC: %w", err)
	}
	return &ctmcRun{noisy: n, kr: m.Kernel, rule: m.Rule, rate: make([]float32, r.Vocab().Size())}, nil
}

func (s *ctmcRun) Step(k int) (bool, error) {
	t, u, last := s.ends(k)
	if done, err := s.observe(t, last); done || err != nil {
		return done, err
	}
	// m = w·Q̄(0,t): m(y) ∝ p_t(x_t,i = y | the other positions).
	s.k.Marginal(s.m, s.w, t)
	rng := s.r.Rand()
	for f, i := range s.free {
		x := s.xt[f]
		m := s.m.Row(f)
		mx := float64(m[x])
		if !(mx > 0) {
			return false, fmt.Errorf("position %d: the belief gives the current state %d probability 0", i, x)
		}
		s.kr.RatesInto(s.rate, x, u, t)
		lam := s.col.Row(f)
		var total float64
		target := false // some target representable in float32
		for y, q := range s.rate {
			l := float64(q) * float64(m[y]) / mx
			if !(l > 0) {
				l = 0
			}
			lam[y] = float32(l)
			target = target || lam[y] > 0
			total += l
		}
		if math.IsInf(total, 0) || math.IsNaN(total) {
			return false, fmt.Errorf("position %d: reverse rate from state %d over [%v, %v] is %v (α = 0 on the grid?)", i, x, u, t, total)
		}
		pj := math.Min(total, 1)
		if s.rule == CTMCTauLeap {
			pj = -math.Expm1(-total)
		}
		if rng.Float64() < pj && target {
			s.xt[f] = soft.Sample(rng, lam)
		}
	}
	return false, nil
}
