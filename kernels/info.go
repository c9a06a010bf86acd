package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// InfoAbsorbing is the information-aware absorbing kernel: token v is masked
// at its own rate w_v·σ'(t), σ = −log α, so
//
//	P(v masked by t) = 1 − e^{−w_v σ(t)},   a_v(s,t) = (α(t)/α(s))^{w_v}
//
// (GenMD4's α_t(v) = α_t^{w_v} family; DiffusionBERT's spindle schedule masks
// informative tokens earlier). Q(s,t) = diag(a)·I + (1 − a)·1·e_mᵀ. With all
// w_v = 1 it is Absorbing. Prior: one-hot MASK. Build it with
// NewInfoAbsorbing; weights from FrequencyWeights or InformationWeights.
type InfoAbsorbing struct {
	k     int
	mask  int32
	w     []float64
	sched Schedule
}

// NewInfoAbsorbing returns the kernel over K states with MASK state mask and
// per-state rates w (len K, each > 0 and finite; w[mask] is ignored), under
// schedule s (nil: LogLinear{}).
func NewInfoAbsorbing(K int, mask int32, w []float64, s Schedule) (*InfoAbsorbing, error) {
	if K < 2 || mask < 0 || int(mask) >= K {
		return nil, fmt.Errorf("kernels: NewInfoAbsorbing: need K ≥ 2 and 0 ≤ mask < K, got K=%d mask=%d", K, mask)
	}
	if len(w) != K {
		return nil, fmt.Errorf("kernels: NewInfoAbsorbing: %d rates for %d states", len(w), K)
	}
	ww := make([]float64, K)
	for v, x := range w {
		if int32(v) == mask {
			ww[v] = 1
			continue
		}
		if !(x > 0) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("kernels: NewInfoAbsorbing: rate of state %d is %v", v, x)
		}
		ww[v] = x
	}
	if s == nil {
		s = LogLinear{}
	}
	return &InfoAbsorbing{k: K, mask: mask, w: ww, sched: s}, nil
}

// States implements Kernel.
func (k *InfoAbsorbing) States() int { return k.k }

// Rates returns the per-state rates (do not modify).
func (k *InfoAbsorbing) Rates() []float64 { return k.w }

// Schedule returns the kernel's schedule.
func (k *InfoAbsorbing) Schedule() Schedule { return k.sched }

// keep writes a_v(s,t) into a.
func (k *InfoAbsorbing) keep(a []float64, s, t float64) {
	r := alphaRatio(k.sched, s, t)
	for v, w := range k.w {
		a[v] = math.Pow(r, w)
	}
	a[k.mask] = 1
}

// Marginal implements Kernel.
func (k *InfoAbsorbing) Marginal(dst, src *soft.Dense, t float64) { k.Transition(dst, src, 0, t) }

// Transition implements Kernel.
func (k *InfoAbsorbing) Transition(dst, src *soft.Dense, s, t float64) {
	checkPair("InfoAbsorbing.Transition", k.k, dst, src)
	ap := getF64(k.k)
	defer f64Pool.Put(ap)
	a := *ap
	k.keep(a, s, t)
	for i := 0; i < src.L; i++ {
		p, out := src.Row(i), dst.Row(i)
		var m float64
		for v, x := range p {
			if int32(v) == k.mask {
				continue
			}
			m += (1 - a[v]) * float64(x)
			out[v] = float32(a[v] * float64(x))
		}
		out[k.mask] = float32(float64(p[k.mask]) + m)
	}
}

// Prior implements Kernel: one-hot MASK.
func (k *InfoAbsorbing) Prior(dst []float32) {
	checkLen("InfoAbsorbing.Prior", len(dst), k.k)
	clear(dst)
	dst[k.mask] = 1
}

// Posterior implements Posteriorer.
func (k *InfoAbsorbing) Posterior(dst, xt, x0 []float32, s, t float64) error {
	ap, bp := getF64(k.k), getF64(k.k)
	defer f64Pool.Put(ap)
	defer f64Pool.Put(bp)
	a, a0 := *ap, *bp
	k.keep(a, s, t)
	k.keep(a0, 0, s)
	m := k.mask
	return posteriorRows(dst, xt, x0, k.k,
		func(out []float64, in []float32) {
			xm := float64(in[m])
			for j, x := range in {
				out[j] = a[j]*float64(x) + (1-a[j])*xm
			}
			out[m] = xm
		},
		func(out []float64, in []float32) {
			var mm float64
			for j, x := range in {
				out[j] = a0[j] * float64(x)
				if int32(j) != m {
					mm += (1 - a0[j]) * float64(x)
				}
			}
			out[m] = float64(in[m]) + mm
		})
}

// Sample implements ForwardSampler.
func (k *InfoAbsorbing) Sample(dst, x0 []int32, t float64, rng *rand.Rand) {
	checkLen("InfoAbsorbing.Sample", len(dst), len(x0))
	r := alphaRatio(k.sched, 0, t)
	for i, x := range x0 {
		if x != k.mask && rng.Float64() >= math.Pow(r, k.w[x]) {
			x = k.mask
		}
		dst[i] = x
	}
}

// FrequencyWeights writes rates w_v ∝ p_v^γ normalised so that Σ p_v w_v =
// 1 (the average token is masked at the plain absorbing rate): γ > 0 masks
// frequent tokens first, γ < 0 rare ones. Entries with p_v = 0 get the rate
// of the rarest seen token. p need not be normalised. It returns an error
// for a negative, non-finite or all-zero p.
func FrequencyWeights(dst, p []float64, gamma float64) error {
	return weightsBy(dst, p, func(pv float64) float64 { return math.Pow(pv, gamma) })
}

// InformationWeights writes rates w_v ∝ (−log p_v)^γ (information content)
// normalised so that Σ p_v w_v = 1: γ > 0 masks informative (rare) tokens
// first, as DiffusionBERT's spindle schedule does. Conventions as
// FrequencyWeights; if one token holds all the mass every rate is 1.
func InformationWeights(dst, p []float64, gamma float64) error {
	return weightsBy(dst, p, func(pv float64) float64 {
		h := -math.Log(pv)
		if h <= 0 {
			return 0
		}
		return math.Pow(h, gamma)
	})
}

func weightsBy(dst, p []float64, f func(float64) float64) error {
	checkLen("weights", len(dst), len(p))
	var z float64
	pmin := math.Inf(1)
	for v, x := range p {
		if !(x >= 0) || math.IsInf(x, 0) {
			return fmt.Errorf("kernels: weights: p[%d] = %v", v, x)
		}
		z += x
		if x > 0 {
			pmin = math.Min(pmin, x)
		}
	}
	if z == 0 {
		return fmt.Errorf("kernels: weights: p is all zero")
	}
	var mean float64
	for v, x := range p {
		if x == 0 {
			x = pmin // an unseen token is treated as the rarest seen one
		}
		dst[v] = f(x / z)
		mean += p[v] / z * dst[v]
	}
	if !(mean > 0) || math.IsInf(mean, 0) {
		// A single token carries all the mass (no information to spread).
		for v := range dst {
			dst[v] = 1
		}
		return nil
	}
	for v := range dst {
		dst[v] /= mean
	}
	return nil
}

// DefaultCARTP is the p of CARTWeights (Dream-7B).
const DefaultCARTP = 0.3

// CARTWeights writes Dream-7B's context-adaptive token-level noise
// rescheduling weights: for masked position i,
//
//	w_i = ½ Σ_{unmasked j} p(1−p)^{|i−j|−1},
//
// and 0 for unmasked positions (p ≤ 0 means DefaultCARTP). Two linear
// passes (the sums obey S_i = (1−p)S_{i−1} + [j = i−1 unmasked]).
func CARTWeights(dst []float64, masked []bool, p float64) {
	checkLen("CARTWeights", len(dst), len(masked))
	if p <= 0 {
		p = DefaultCARTP
	}
	q := 1 - p
	var s float64 // Σ_{unmasked j<i} q^{i−j−1}
	for i, m := range masked {
		if m {
			dst[i] = 0.5 * p * s
		} else {
			dst[i] = 0
		}
		s *= q
		if !m {
			s++
		}
	}
	s = 0
	for i := len(masked) - 1; i >= 0; i-- {
		if masked[i] {
			dst[i] += 0.5 * p * s
		}
		s *= q
		if !masked[i] {
			s++
		}
	}
}
