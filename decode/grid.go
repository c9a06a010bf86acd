package decode

import (
	"fmt"
	"math"
)

// Grid places the steps of a sampler in time: Times writes the points
// t_0 = from, t_1, …, t_n of an n-step grid into dst (len(dst) = n + 1 ≥ 1),
// monotone from from towards to. A step k runs from t_k to t_{k+1}; its size
// is the difference. The hard samplers run diffusion time from 1 to 0 (or
// Dream's Eps), stochastic localisation runs SNR time from 0 to TMax; each
// sampler's doc says which. Times returns an error for a setting it cannot
// honour (it is called once, when a run starts).
//
// The published grids are values: GridUniform (linspace, every sampler's
// default), GridGeometric (stochastic localisation's geometric SNR grid),
// GridInfo (its information-equalising grid) and TimesGrid (explicit
// points). kernels.Schedule is not a grid: it maps a time to a signal level
// α(t), and samplers read it at the grid's times.
type Grid interface {
	Name() string
	Times(dst []float64, from, to float64) error
}

// The published grids.
var (
	GridUniform   Grid = UniformGrid{}
	GridGeometric Grid = GeometricGrid{}
	GridInfo      Grid = InfoGrid{}
)

// UniformGrid is t_k = from + (to − from)·k/n (numpy's linspace).
type UniformGrid struct{}

// Name implements Grid.
func (UniformGrid) Name() string { return "uniform" }

// Times implements Grid.
func (UniformGrid) Times(dst []float64, from, to float64) error {
	if err := checkEnds(dst, from, to); err != nil {
		return err
	}
	n := len(dst) - 1
	dst[0] = from
	for k := 1; k <= n; k++ {
		dst[k] = from + (to-from)*float64(k)/float64(n)
	}
	return nil
}

// GeometricGrid is t_0 = from and t_k = Min·(to/Min)^((k−1)/(n−1)) for
// k ≥ 1 (t_1 = to when n = 1): a start at from, then geometric steps from
// Min to to, the grid of stochastic localisation on SNR time (from 0). Min
// 0 means to/100; Min must lie in (0, to] with from < Min.
type GeometricGrid struct {
	Min float64
}

// Name implements Grid.
func (GeometricGrid) Name() string { return "geometric" }

// Times implements Grid.
func (g GeometricGrid) Times(dst []float64, from, to float64) error {
	if err := checkEnds(dst, from, to); err != nil {
		return err
	}
	lo := g.Min
	if lo == 0 {
		lo = to / 100
	}
	if !(lo > 0 && lo <= to && lo > from) {
		return fmt.Errorf("geometric grid: Min %v outside (max(0, %v), %v]", lo, from, to)
	}
	n := len(dst) - 1
	dst[0] = from
	for k := 1; k <= n; k++ {
		if n == 1 {
			dst[k] = to
			continue
		}
		dst[k] = lo * math.Pow(to/lo, float64(k-1)/float64(n-1))
	}
	return nil
}

// InfoGrid is stochastic localisation's information-equalising grid: the
// points t_k at which the mutual information I(x_i; y_i(τ)) of a single
// position's Gaussian channel, under its first belief as prior, has risen
// by k/n of its total (estimated by Monte Carlo over a few positions and
// their top-32 tokens, InfoTimes). It depends on the run's first beliefs:
// Times writes the uniform grid, which SoftSL and Hybrid replace after
// their first denoiser call; other samplers use it as uniform.
type InfoGrid struct{}

// Name implements Grid.
func (InfoGrid) Name() string { return "info" }

// Times implements Grid.
func (InfoGrid) Times(dst []float64, from, to float64) error {
	return UniformGrid{}.Times(dst, from, to)
}

// TimesGrid is an explicit grid: the points t_1, …, t_n after from (t_0 =
// from), strictly monotone in the direction from from to to (increasing
// when to = from); to itself is not used, the last point is where the grid
// ends. Its length must be the sampler's number of steps.
type TimesGrid []float64

// Name implements Grid.
func (TimesGrid) Name() string { return "times" }

// Times implements Grid.
func (g TimesGrid) Times(dst []float64, from, to float64) error {
	if len(dst) < 1 {
		return fmt.Errorf("grid of %d points", len(dst))
	}
	if len(g) != len(dst)-1 {
		return fmt.Errorf("%d explicit times for %d steps", len(g), len(dst)-1)
	}
	up := to >= from
	dst[0] = from
	for k, t := range g {
		prev := dst[k]
		if math.IsInf(t, 0) || !(up && t > prev || !up && t < prev) {
			return fmt.Errorf("time %d = %v does not move on from %v towards %v", k+1, t, prev, to)
		}
		dst[k+1] = t
	}
	return nil
}

func checkEnds(dst []float64, from, to float64) error {
	if len(dst) < 1 {
		return fmt.Errorf("grid of %d points", len(dst))
	}
	if math.IsNaN(from) || math.IsNaN(to) || math.IsInf(from, 0) || math.IsInf(to, 0) {
		return fmt.Errorf("grid ends %v, %v are not finite", from, to)
	}
	return nil
}

// gridName returns g's name, "uniform" for nil.
func gridName(g Grid) string {
	if g == nil {
		return "uniform"
	}
	return g.Name()
}

// times returns the n+1 points of grid g (nil: uniform) from from to to.
func times(g Grid, n int, from, to float64) ([]float64, error) {
	if g == nil {
		g = GridUniform
	}
	dst := make([]float64, n+1)
	if err := g.Times(dst, from, to); err != nil {
		return nil, fmt.Errorf("%s grid: %w", g.Name(), err)
	}
	return dst, nil
}
