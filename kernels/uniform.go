package kernels

import (
	"fmt"
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// Uniform is the uniform-resampling kernel (D3PM uniform, SEDD uniform): from
// s to t a token is kept with probability a = α(t)/α(s), otherwise redrawn
// uniformly from the n token states (redraws may return the same token):
//
//	Q(s,t) = a·I + (1 − a)·11ᵀ/n on tokens.
//
// An optional MASK state (excluded from the n states) is a fixed point, so
// rows of a vocabulary with MASK stay valid. Prior is uniform over tokens.
// Build it with NewUniform.
type Uniform struct {
	k     int
	mask  int32
	n     int
	sched Schedule
}

// NewUniform returns the uniform kernel over K states; mask is a state
// excluded from resampling, or soft.NoToken for none; s nil means
// LogLinear{}. An invalid K or mask is an error.
func NewUniform(K int, mask int32, s Schedule) (*Uniform, error) {
	n := K
	if mask != soft.NoToken {
		if mask < 0 || int(mask) >= K {
			return nil, fmt.Errorf("kernels: NewUniform: mask %d outside [0, %d)", mask, K)
		}
		n--
	}
	if n < 2 {
		return nil, fmt.Errorf("kernels: NewUniform: need at least 2 token states, got K=%d mask=%d", K, mask)
	}
	if s == nil {
		s = LogLinear{}
	}
	return &Uniform{k: K, mask: mask, n: n, sched: s}, nil
}

// States implements Kernel.
func (k *Uniform) States() int { return k.k }

// Schedule returns the kernel's schedule.
func (k *Uniform) Schedule() Schedule { return k.sched }

// Marginal implements Kernel.
func (k *Uniform) Marginal(dst, src *soft.Dense, t float64) { k.Transition(dst, src, 0, t) }

// Transition implements Kernel.
func (k *Uniform) Transition(dst, src *soft.Dense, s, t float64) {
	checkPair("Uniform.Transition", k.k, dst, src)
	a := alphaRatio(k.sched, s, t)
	for i := 0; i < src.L; i++ {
		out := dst.Row(i)
		p := src.Row(i)
		var tok float64
		for v, x := range p {
			if int32(v) != k.mask {
				tok += float64(x)
			}
		}
		c := (1 - a) * tok / float64(k.n)
		for v, x := range p {
			if int32(v) != k.mask {
				out[v] = float32(a*float64(x) + c)
			} else {
				out[v] = x
			}
		}
	}
}

// Prior implements Kernel: uniform over the token states.
func (k *Uniform) Prior(dst []float32) {
	checkLen("Uniform.Prior", len(dst), k.k)
	u := float32(1 / float64(k.n))
	for v := range dst {
		dst[v] = u
	}
	if k.mask != soft.NoToken {
		dst[k.mask] = 0
	}
}

// Posterior implements Posteriorer (Q is symmetric on tokens, so Q·xt has
// the same form as xt·Q).
func (k *Uniform) Posterior(dst, xt, x0 []float32, s, t float64) error {
	a := alphaRatio(k.sched, s, t)
	a0 := alphaRatio(k.sched, 0, s)
	act := func(a float64) func(out []float64, in []float32) {
		return func(out []float64, in []float32) {
			var tok float64
			for v, x := range in {
				if int32(v) != k.mask {
					tok += float64(x)
				}
			}
			c := (1 - a) * tok / float64(k.n)
			for v, x := range in {
				if int32(v) != k.mask {
					out[v] = a*float64(x) + c
				} else {
					out[v] = float64(x)
				}
			}
		}
	}
	return posteriorRows(dst, xt, x0, k.k, act(a), act(a0))
}

// Sample implements ForwardSampler.
func (k *Uniform) Sample(dst, x0 []int32, t float64, rng *rand.Rand) {
	checkLen("Uniform.Sample", len(dst), len(x0))
	a := alphaRatio(k.sched, 0, t)
	for i, x := range x0 {
		if x != k.mask && rng.Float64() >= a {
			y := int32(rng.IntN(k.n))
			if k.mask != soft.NoToken && y >= k.mask {
				y++
			}
			x = y
		}
		dst[i] = x
	}
}
