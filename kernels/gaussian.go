package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Gaussian is the Gaussian channel of the hybrid state: the one-hot of a
// token x ∈ {0..K−1} observed through
//
//	y = α(t)·onehot(x) + σ(t)·ε,  ε ~ N(0, I_K),  σ(t) = √(1 − α(t)²)
//
// (variance preserving). The exact posterior over tokens is
// p(x | y) ∝ p0(x)·exp(α y_x / σ²), so α y/σ² is the log-evidence the
// channel adds. Build it with NewGaussian.
type Gaussian struct {
	k     int
	sched Schedule
}

// NewGaussian returns the channel over K tokens under schedule s (nil:
// LogLinear{}). K < 2 is an error.
func NewGaussian(K int, s Schedule) (*Gaussian, error) {
	if K < 2 {
		return nil, fmt.Errorf("kernels: NewGaussian: need K ≥ 2 tokens, got K = %d", K)
	}
	if s == nil {
		s = LogLinear{}
	}
	return &Gaussian{k: K, sched: s}, nil
}

// States returns K.
func (g *Gaussian) States() int { return g.k }

// Noise returns α(t) and σ(t) = √(1 − α²).
func (g *Gaussian) Noise(t float64) (alpha, sigma float64) {
	a, _ := g.sched.Alpha(t)
	a = math.Min(math.Max(a, 0), 1)
	return a, math.Sqrt(1 - a*a)
}

// Sample writes y = α·onehot(x) + σ·ε, ε drawn from rng.
func (g *Gaussian) Sample(y []float32, x int32, t float64, rng *rand.Rand) {
	checkLen("Gaussian.Sample", len(y), g.k)
	a, s := g.Noise(t)
	for v := range y {
		e := s * rng.NormFloat64()
		if int32(v) == x {
			e += a
		}
		y[v] = float32(e)
	}
}

// Posterior writes p(x | y) ∝ prior(x)·exp(α y_x/σ²) into dst (float64
// log-sum-exp). At σ = 0 it is the prior restricted to the argmax of y. It
// returns an error when the prior has no positive entry.
func (g *Gaussian) Posterior(dst, y, prior []float32, t float64) error {
	checkLen("Gaussian.Posterior dst", len(dst), g.k)
	checkLen("Gaussian.Posterior y", len(y), g.k)
	checkLen("Gaussian.Posterior prior", len(prior), g.k)
	a, s := g.Noise(t)
	lp := getF64(g.k)
	defer f64Pool.Put(lp)
	l := *lp
	m := math.Inf(-1)
	var best float64 = math.Inf(-1)
	for v, x := range y {
		if prior[v] > 0 {
			best = math.Max(best, float64(x))
		}
	}
	for v := range l {
		if !(prior[v] > 0) {
			l[v] = math.Inf(-1)
			continue
		}
		if s == 0 {
			if float64(y[v]) == best {
				l[v] = math.Log(float64(prior[v]))
			} else {
				l[v] = math.Inf(-1)
			}
		} else {
			l[v] = math.Log(float64(prior[v])) + a*float64(y[v])/(s*s)
		}
		m = math.Max(m, l[v])
	}
	if math.IsInf(m, -1) {
		return fmt.Errorf("kernels: Gaussian.Posterior: prior has no positive entry")
	}
	var z float64
	for v := range l {
		l[v] = math.Exp(l[v] - m)
		z += l[v]
	}
	for v := range l {
		dst[v] = float32(l[v] / z)
	}
	return nil
}

// MutualInfo estimates I(X0; Y) at time t in nats by Monte Carlo with n
// draws x ~ p0, y ~ channel: the mean of log p(x|y) − log p0(x), with its
// standard error. p0 must be a distribution over the K tokens.
func (g *Gaussian) MutualInfo(p0 []float32, t float64, n int, rng *rand.Rand) (mean, stderr float64) {
	checkLen("Gaussian.MutualInfo", len(p0), g.k)
	y := make([]float32, g.k)
	post := make([]float32, g.k)
	var s, s2 float64
	for i := 0; i < n; i++ {
		x := sampleF32(rng, p0)
		g.Sample(y, x, t, rng)
		if err := g.Posterior(post, y, p0, t); err != nil {
			panic(err)
		}
		// log p(x|y) from the float32 posterior would lose precision for
		// small values: recompute in float64.
		a, sg := g.Noise(t)
		var v float64
		if sg == 0 {
			v = math.Log(1 / float64(p0[x]))
		} else {
			m := math.Inf(-1)
			for u := range y {
				if p0[u] > 0 {
					m = math.Max(m, math.Log(float64(p0[u]))+a*float64(y[u])/(sg*sg))
				}
			}
			var z float64
			for u := range y {
				if p0[u] > 0 {
					z += math.Exp(math.Log(float64(p0[u])) + a*float64(y[u])/(sg*sg) - m)
				}
			}
			v = a*float64(y[x])/(sg*sg) - m - math.Log(z)
		}
		s += v
		s2 += v * v
	}
	mean = s / float64(n)
	if n > 1 {
		stderr = math.Sqrt(math.Max(s2/float64(n)-mean*mean, 0) / float64(n-1))
	}
	return mean, stderr
}

func sampleF32(rng *rand.Rand, p []float32) int32 {
	u := rng.Float64()
	var c float64
	last := int32(-1)
	for v, x := range p {
		if x > 0 {
			c += float64(x)
			last = int32(v)
			if u < c {
				return int32(v)
			}
		}
	}
	return last
}
