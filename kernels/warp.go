package kernels

import (
	"fmt"
	"math"
	"sort"

	"github.com/softdiff/softdiff/soft"
)

// InfoWarp is the information-equalising time change of D3PM (Austin et al.
// 2021, §3.4): for a kernel and data distribution p0, ρ(t) = H(X0|Xt)/H(X0)
// is tabulated on a grid, made monotone (running maximum) and rescaled by
// ρ(1), and inverted by monotone (piecewise-linear) interpolation, so that
// under the new time u the destroyed information ρ(Map(u)) = u·ρ(1) grows
// linearly. Use it through Warped, a Schedule.
type InfoWarp struct {
	ts, r []float64 // grid times and normalised ρ, both non-decreasing
}

// NewInfoWarp tabulates ρ on n+1 evenly spaced times in [0, 1] (n ≥ 2). It
// returns an error for a nil kernel, a p0 whose length is not the kernel's
// state count, a p0 of zero entropy, or ρ(1) = 0 (the kernel destroys no
// information).
func NewInfoWarp(k Kernel, p0 []float32, n int) (*InfoWarp, error) {
	if n < 2 {
		return nil, fmt.Errorf("kernels: NewInfoWarp: grid of %d intervals", n)
	}
	if k == nil {
		return nil, fmt.Errorf("kernels: NewInfoWarp: nil kernel")
	}
	if len(p0) != k.States() {
		return nil, fmt.Errorf("kernels: NewInfoWarp: p0 has %d entries, the kernel %d states", len(p0), k.States())
	}
	if !(soft.Entropy(p0) > 0) {
		return nil, fmt.Errorf("kernels: NewInfoWarp: p0 has zero entropy")
	}
	ts := make([]float64, n+1)
	for i := range ts {
		ts[i] = float64(i) / float64(n)
	}
	r := make([]float64, n+1)
	InfoCurve(nil, r, k, p0, ts)
	return newInfoWarp(ts, r)
}

func newInfoWarp(ts, r []float64) (*InfoWarp, error) {
	r[0] = 0
	for i := 1; i < len(r); i++ {
		r[i] = math.Max(r[i], r[i-1])
	}
	top := r[len(r)-1]
	if !(top > 0) {
		return nil, fmt.Errorf("kernels: NewInfoWarp: ρ(1) = %v: no information is destroyed", top)
	}
	for i := range r {
		r[i] /= top
	}
	return &InfoWarp{ts: ts, r: r}, nil
}

// Rho returns the normalised, monotone ρ(t)/ρ(1) by linear interpolation.
func (w *InfoWarp) Rho(t float64) float64 {
	t = clamp01(t)
	i := sort.SearchFloat64s(w.ts, t)
	if i == 0 {
		return w.r[0]
	}
	if i >= len(w.ts) {
		return w.r[len(w.r)-1]
	}
	f := (t - w.ts[i-1]) / (w.ts[i] - w.ts[i-1])
	return w.r[i-1] + f*(w.r[i]-w.r[i-1])
}

// Map returns the original time t = ρ⁻¹(u) (the first such time on a flat
// stretch) and dt/du, for u ∈ [0, 1].
func (w *InfoWarp) Map(u float64) (t, dt float64) {
	u = clamp01(u)
	// First grid index with r ≥ u.
	i := sort.SearchFloat64s(w.r, u)
	if i == 0 {
		// u = 0: the first segment with positive slope.
		j := 1
		for j < len(w.r) && w.r[j] == 0 {
			j++
		}
		if j >= len(w.r) {
			j = len(w.r) - 1
		}
		return w.ts[j-1], (w.ts[j] - w.ts[j-1]) / (w.r[j] - w.r[j-1])
	}
	if i >= len(w.r) {
		i = len(w.r) - 1
	}
	dr := w.r[i] - w.r[i-1]
	dtg := w.ts[i] - w.ts[i-1]
	if dr == 0 {
		return w.ts[i-1], math.Inf(1)
	}
	return w.ts[i-1] + (u-w.r[i-1])/dr*dtg, dtg / dr
}

// Warped is a Schedule run on warped time: Alpha(u) = Base.Alpha(Warp.Map(u))
// with the chain-rule derivative. With an InfoWarp built for a kernel on
// Base, a kernel built on Warped destroys information linearly in u.
type Warped struct {
	Base Schedule
	Warp *InfoWarp
}

// Alpha implements Schedule.
func (s Warped) Alpha(u float64) (float64, float64) {
	t, dt := s.Warp.Map(u)
	a, da := s.Base.Alpha(t)
	return a, da * dt
}
