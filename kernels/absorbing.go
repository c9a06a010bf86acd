package kernels

import (
	"fmt"
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// Absorbing is the masking kernel (D3PM absorbing, MDLM, SEDD absorb): a
// token stays intact from s to t with probability a = α(t)/α(s), otherwise it
// becomes MASK, which never changes:
//
//	Q(s,t) = a·I + (1 − a)·1·e_mᵀ on tokens, e_m on MASK.
//
// Prior is one-hot MASK. Build it with NewAbsorbing.
type Absorbing struct {
	k     int
	mask  int32
	sched Schedule
}

// NewAbsorbing returns the absorbing kernel over K states with MASK state
// mask (0 ≤ mask < K) under schedule s (nil means LogLinear{}). An invalid
// K or mask is an error.
func NewAbsorbing(K int, mask int32, s Schedule) (*Absorbing, error) {
	if K < 2 || mask < 0 || int(mask) >= K {
		return nil, fmt.Errorf("kernels: NewAbsorbing: need K ≥ 2 and 0 ≤ mask < K, got K=%d mask=%d", K, mask)
	}
	if s == nil {
		s = LogLinear{}
	}
	return &Absorbing{k: K, mask: mask, sched: s}, nil
}

// States implements Kernel.
func (k *Absorbing) States() int { return k.k }

// Mask returns the MASK state.
func (k *Absorbing) Mask() int32 { return k.mask }

// Schedule returns the kernel's schedule.
func (k *Absorbing) Schedule() Schedule { return k.sched }

// Marginal implements Kernel.
func (k *Absorbing) Marginal(dst, src *soft.Dense, t float64) { k.Transition(dst, src, 0, t) }

// Transition implements Kernel.
func (k *Absorbing) Transition(dst, src *soft.Dense, s, t float64) {
	checkPair("Absorbing.Transition", k.k, dst, src)
	a := alphaRatio(k.sched, s, t)
	for i := 0; i < src.L; i++ {
		absorbRow(dst.Row(i), src.Row(i), k.mask, a)
	}
}

func absorbRow(dst, p []float32, m int32, a float64) {
	var tok float64
	pm := float64(p[m])
	for v, x := range p {
		if int32(v) == m {
			continue
		}
		tok += float64(x)
		dst[v] = float32(a * float64(x))
	}
	dst[m] = float32(pm + (1-a)*tok)
}

// Prior implements Kernel: one-hot MASK.
func (k *Absorbing) Prior(dst []float32) {
	checkLen("Absorbing.Prior", len(dst), k.k)
	clear(dst)
	dst[k.mask] = 1
}

// Posterior implements Posteriorer. With xt = MASK and x0 free of MASK mass
// it is the MDLM step: token v gets x0(v)(α_s − α_t)/(1 − α_t), MASK gets
// (1 − α_s)/(1 − α_t).
func (k *Absorbing) Posterior(dst, xt, x0 []float32, s, t float64) error {
	a := alphaRatio(k.sched, s, t)
	a0 := alphaRatio(k.sched, 0, s)
	m := k.mask
	return posteriorRows(dst, xt, x0, k.k,
		func(out []float64, in []float32) {
			xm := float64(in[m])
			for j, x := range in {
				out[j] = a*float64(x) + (1-a)*xm
			}
			out[m] = xm
		},
		func(out []float64, in []float32) {
			var tok float64
			for j, x := range in {
				out[j] = a0 * float64(x)
				if int32(j) != m {
					tok += float64(x)
				}
			}
			out[m] = float64(in[m]) + (1-a0)*tok
		})
}

// Sample implements ForwardSampler: each non-MASK token is masked with
// probability 1 − α(t)/α(0).
func (k *Absorbing) Sample(dst, x0 []int32, t float64, rng *rand.Rand) {
	checkLen("Absorbing.Sample", len(dst), len(x0))
	a := alphaRatio(k.sched, 0, t)
	for i, x := range x0 {
		if x != k.mask && rng.Float64() >= a {
			x = k.mask
		}
		dst[i] = x
	}
}
