package kernels

import (
	"fmt"
	"math"
)

// Schedule is a noise schedule: α(t) ∈ [0, 1] is the signal level at time
// t ∈ [0, 1] (for masking kernels, the probability that a token is still
// intact), with α(0) = 1 (Geometric: e^{−σ_min}), α non-increasing and α(1)
// close to 0. Alpha returns α(t) and dα/dt.
type Schedule interface {
	Alpha(t float64) (a, da float64)
}

// Sigma returns σ(t) = −log α(t) and dσ/dt for a schedule: the integrated
// rate of a kernel whose events happen at rate σ'(t).
func Sigma(s Schedule, t float64) (sigma, dsigma float64) {
	a, da := s.Alpha(t)
	if a <= 0 {
		return math.Inf(1), math.Inf(1)
	}
	return -math.Log(a), -da / a
}

func clamp01(t float64) float64 {
	if t < 0 {
		return 0
	}
	if t > 1 {
		return 1
	}
	return t
}

// Linear is α(t) = 1 − t.
type Linear struct{}

// Alpha implements Schedule.
func (Linear) Alpha(t float64) (float64, float64) {
	t = clamp01(t)
	return 1 - t, -1
}

// Cosine is the MDLM cosine schedule α(t) = ε + (1 − ε)·cos(πt/2), that is
// σ(t) = −log(ε + (1−ε)cos(πt/2)). The zero value has Eps = 0.
type Cosine struct{ Eps float64 }

// Alpha implements Schedule.
func (c Cosine) Alpha(t float64) (float64, float64) {
	t = clamp01(t)
	e := c.Eps
	return e + (1-e)*math.Cos(math.Pi*t/2), -(1 - e) * math.Pi / 2 * math.Sin(math.Pi*t/2)
}

// DefaultLogLinearEps is the ε of LogLinear{} (MDLM).
const DefaultLogLinearEps = 1e-3

// LogLinear is the MDLM/SEDD log-linear schedule α(t) = 1 − (1−ε)t, i.e.
// σ̄(t) = −log(1 − (1−ε)t). Eps = 0 means DefaultLogLinearEps.
type LogLinear struct{ Eps float64 }

// Alpha implements Schedule.
func (l LogLinear) Alpha(t float64) (float64, float64) {
	e := l.Eps
	if e == 0 {
		e = DefaultLogLinearEps
	}
	t = clamp01(t)
	return 1 - (1-e)*t, -(1 - e)
}

// Default SEDD geometric schedule bounds, used when a field of Geometric is 0.
const (
	DefaultSigmaMin = 1e-4
	DefaultSigmaMax = 20
)

// Geometric is the SEDD geometric schedule σ̄(t) = σ_min^{1−t} σ_max^t,
// α(t) = exp(−σ̄(t)). Note α(0) = e^{−σ_min}, not exactly 1; kernels use
// α(t)/α(s), so their Transition(s, s) is still the identity. Zero fields
// mean DefaultSigmaMin and DefaultSigmaMax.
type Geometric struct{ SigmaMin, SigmaMax float64 }

func (g Geometric) bounds() (lo, hi float64) {
	lo, hi = g.SigmaMin, g.SigmaMax
	if lo == 0 {
		lo = DefaultSigmaMin
	}
	if hi == 0 {
		hi = DefaultSigmaMax
	}
	return lo, hi
}

// Alpha implements Schedule.
func (g Geometric) Alpha(t float64) (float64, float64) {
	lo, hi := g.bounds()
	t = clamp01(t)
	s := math.Pow(lo, 1-t) * math.Pow(hi, t)
	ds := s * math.Log(hi/lo)
	a := math.Exp(-s)
	return a, -ds * a
}

// alphaRatio returns α(t)/α(s) for s ≤ t (1 when α(s) = 0) and panics if
// s > t or either time is outside [0, 1] or NaN.
func alphaRatio(sch Schedule, s, t float64) float64 {
	checkTimes(s, t)
	as, _ := sch.Alpha(s)
	at, _ := sch.Alpha(t)
	if as <= 0 {
		return 1
	}
	r := at / as
	if r > 1 {
		r = 1
	}
	if r < 0 {
		r = 0
	}
	return r
}

func checkTimes(s, t float64) {
	if !(s >= 0 && s <= t && t <= 1) {
		panic(fmt.Sprintf("kernels: times need 0 ≤ s ≤ t ≤ 1, got s=%v t=%v", s, t))
	}
}
