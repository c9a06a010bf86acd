package kernels

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

// The diagnostics below take a kernel and a data distribution p0 over its
// states (normally without MASK mass) and compute exact quantities from the
// rows of Q̄(0,t) for the x0 in p0's support: O(|support|·K) memory, meant
// for the vocabulary sizes of experiments (up to a few thousand states).

// marginalRows returns the support of p0 and the rows Q̄(0,t)[x0, ·].
func marginalRows(k Kernel, p0 []float32, t float64) ([]int32, *soft.Dense) {
	K := k.States()
	checkLen("diagnostics p0", len(p0), K)
	var sup []int32
	for v, x := range p0 {
		if x > 0 {
			sup = append(sup, int32(v))
		}
	}
	src := soft.NewDense(len(sup), K)
	for i, v := range sup {
		src.Data[i*K+int(v)] = 1
	}
	dst := soft.NewDense(len(sup), K)
	k.Marginal(dst, src, t)
	return sup, dst
}

// MutualInfo returns I(X0; Xt) in nats for X0 ~ p0 and Xt ~ Q̄(0,t)[X0,·].
func MutualInfo(k Kernel, p0 []float32, t float64) float64 {
	sup, q := marginalRows(k, p0, t)
	K := k.States()
	marg := make([]float64, K)
	for i, v := range sup {
		w := float64(p0[v])
		for y, x := range q.Row(i) {
			marg[y] += w * float64(x)
		}
	}
	var mi float64
	for i, v := range sup {
		w := float64(p0[v])
		for y, x := range q.Row(i) {
			if x > 0 && marg[y] > 0 {
				mi += w * float64(x) * math.Log(float64(x)/marg[y])
			}
		}
	}
	return math.Max(mi, 0)
}

// Rho returns ρ(t) = H(X0 | Xt)/H(X0) = 1 − I(X0;Xt)/H(X0): the fraction of
// the data's information destroyed by time t (0 at t = 0). It panics if p0
// is a point mass (H(X0) = 0).
func Rho(k Kernel, p0 []float32, t float64) float64 {
	h := soft.Entropy(p0)
	if !(h > 0) {
		panic("kernels: Rho: p0 has zero entropy")
	}
	return math.Min(math.Max(1-MutualInfo(k, p0, t)/h, 0), 1)
}

// InfoCurve writes I(X0; X_{t_i}) and ρ(t_i) for the times ts (either
// destination may be nil).
func InfoCurve(mi, rho []float64, k Kernel, p0 []float32, ts []float64) {
	h := soft.Entropy(p0)
	for i, t := range ts {
		m := MutualInfo(k, p0, t)
		if mi != nil {
			mi[i] = m
		}
		if rho != nil {
			rho[i] = math.Min(math.Max(1-m/h, 0), 1)
		}
	}
}

// TVSpeed returns max over x0 in support of TV(q_t(·|x0), q_{t+h}(·|x0))/h,
// the fastest rate at which any token's corruption law moves at t. It
// panics unless h > 0 and t+h ≤ 1.
func TVSpeed(k Kernel, support []int32, t, h float64) float64 {
	if !(h > 0) || t+h > 1 {
		panic(fmt.Sprintf("kernels: TVSpeed: need h > 0 and t+h ≤ 1, got t=%v h=%v", t, h))
	}
	K := k.States()
	src := soft.NewDense(len(support), K)
	for i, v := range support {
		src.Data[i*K+int(v)] = 1
	}
	a, b := soft.NewDense(len(support), K), soft.NewDense(len(support), K)
	k.Marginal(a, src, t)
	k.Marginal(b, src, t+h)
	var best float64
	for i := range support {
		best = math.Max(best, soft.TV(a.Row(i), b.Row(i)))
	}
	return best / h
}

// Recoverability writes, for each class c (class[v] ∈ 0..len(dst)−1 for
// every v in p0's support; e.g. frequency bands), the expected posterior
// probability of the true token E[p(x0 | xt) | x0 ∈ c] under X0 ~ p0, and
// returns the spread max − min over classes with mass. Classes without
// mass get NaN.
func Recoverability(dst []float64, k Kernel, p0 []float32, class []int, t float64) (spread float64) {
	checkLen("Recoverability class", len(class), len(p0))
	sup, q := marginalRows(k, p0, t)
	K := k.States()
	marg := make([]float64, K)
	for i, v := range sup {
		for y, x := range q.Row(i) {
			marg[y] += float64(p0[v]) * float64(x)
		}
	}
	mass := make([]float64, len(dst))
	clear(dst)
	for i, v := range sup {
		w := float64(p0[v])
		var r float64 // E[p(x0|xt) | x0 = v] = Σ_y q(y|v)·p0(v)q(y|v)/m(y)
		for y, x := range q.Row(i) {
			if x > 0 && marg[y] > 0 {
				r += float64(x) * w * float64(x) / marg[y]
			}
		}
		c := class[v]
		dst[c] += w * r
		mass[c] += w
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for c := range dst {
		if mass[c] == 0 {
			dst[c] = math.NaN()
			continue
		}
		dst[c] /= mass[c]
		lo, hi = math.Min(lo, dst[c]), math.Max(hi, dst[c])
	}
	if math.IsInf(lo, 1) {
		return 0
	}
	return hi - lo
}

// FrequencyClasses assigns each token to one of n classes by frequency
// rank under p (class 0: the most frequent tokens, equal-count bands of
// the support); tokens with p = 0 and the state skip (e.g. MASK, or −1 for
// none) get class n−1.
func FrequencyClasses(p []float32, n int, skip int32) []int {
	idx := make([]int, 0, len(p))
	for v, x := range p {
		if x > 0 && int32(v) != skip {
			idx = append(idx, v)
		}
	}
	// Stable order: frequency descending, then id.
	sortIdx(idx, func(a, b int) bool {
		if p[a] != p[b] {
			return p[a] > p[b]
		}
		return a < b
	})
	cl := make([]int, len(p))
	for v := range cl {
		cl[v] = n - 1
	}
	for r, v := range idx {
		cl[v] = r * n / len(idx)
	}
	return cl
}

// Locality returns the expected embedding distance of a change divided by
// the expected distance between two distinct random tokens:
//
//	E[‖e(Xt) − e(X0)‖ | Xt ≠ X0, Xt a token] / E[‖e(U) − e(V)‖ | U ≠ V],
//
// X0, U, V ~ p0 independently (MASK and other states in skip carry no
// embedding and are not counted as changes). Graded kernels (Graph,
// Hierarchical) give a ratio below 1; Uniform gives about 1. emb holds one
// row of d floats per state (rows for skipped states are ignored). It
// returns NaN when no change has positive probability.
func Locality(k Kernel, p0 []float32, emb []float32, d int, t float64, skip int32) float64 {
	K := k.States()
	checkLen("Locality emb", len(emb), K*d)
	dist := func(u, v int) float64 {
		var s float64
		for j := 0; j < d; j++ {
			x := float64(emb[u*d+j]) - float64(emb[v*d+j])
			s += x * x
		}
		return math.Sqrt(s)
	}
	sup, q := marginalRows(k, p0, t)
	var num, den float64
	for i, v := range sup {
		w := float64(p0[v])
		for y, x := range q.Row(i) {
			if x > 0 && y != int(v) && int32(y) != skip {
				num += w * float64(x) * dist(int(v), y)
				den += w * float64(x)
			}
		}
	}
	if den == 0 {
		return math.NaN()
	}
	var rn, rd float64
	for _, u := range sup {
		for _, v := range sup {
			if u != v && u != skip && v != skip {
				w := float64(p0[u]) * float64(p0[v])
				rn += w * dist(int(u), int(v))
				rd += w
			}
		}
	}
	return (num / den) / (rn / rd)
}
