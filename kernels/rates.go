package kernels

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

// Rater is implemented by kernels that are continuous-time Markov chains
// with a known generator. RatesInto writes into dst the forward rates into
// state x integrated over [s, t]:
//
//	dst[y] = ∫_s^t R_u(y → x) du  for y ≠ x,   dst[x] = 0,
//
// R_u(y → x) being the rate at which a chain in state y jumps to x at time
// u. Every kernel of this package runs its events at rate σ'(u) times a
// fixed generator G (σ = −log α), so the integral is Δσ·G(y, x) with
// Δσ = −log(α(t)/α(s)), and Q(s,t)[y, x] = dst[y] + O(Δσ²). A reverse-time
// CTMC sampler reads it: the reverse rate from x to y is R(y → x) times the
// ratio p_t(y)/p_t(x) (decode.KernelCTMC). Where α(t) = 0 the integrals of
// the positive rates are +Inf.
//
// dst has States() entries. RatesInto panics on a wrong length, an x
// outside [0, States()) or times not 0 ≤ s ≤ t ≤ 1 (the caller's own
// mistakes). It is safe for concurrent use.
type Rater interface {
	RatesInto(dst []float32, x int32, s, t float64)
}

// deltaSigma returns σ(t) − σ(s) = −log(α(t)/α(s)) after checking the
// caller's arguments.
func deltaSigma(name string, sch Schedule, k int, dst []float32, x int32, s, t float64) float64 {
	if len(dst) != k {
		panic(fmt.Sprintf("kernels: %s.RatesInto: length %d, want %d", name, len(dst), k))
	}
	if x < 0 || int(x) >= k {
		panic(fmt.Sprintf("kernels: %s.RatesInto: state %d outside [0, %d)", name, x, k))
	}
	r := alphaRatio(sch, s, t)
	if r <= 0 {
		return math.Inf(1)
	}
	return -math.Log(r)
}

// RatesInto implements Rater: every token jumps to MASK at rate σ'; no
// state jumps to a token.
func (k *Absorbing) RatesInto(dst []float32, x int32, s, t float64) {
	ds := deltaSigma("Absorbing", k.sched, k.k, dst, x, s, t)
	clear(dst)
	if x != k.mask {
		return
	}
	for y := range dst {
		dst[y] = float32(ds)
	}
	dst[x] = 0
}

// RatesInto implements Rater: at rate σ' a token is redrawn uniformly from
// the n tokens, so it jumps to each other token at rate σ'/n; the excluded
// MASK state neither moves nor is reached.
func (k *Uniform) RatesInto(dst []float32, x int32, s, t float64) {
	ds := deltaSigma("Uniform", k.sched, k.k, dst, x, s, t)
	clear(dst)
	if x == k.mask {
		return
	}
	c := float32(ds / float64(k.n))
	for y := range dst {
		dst[y] = c
	}
	dst[x] = 0
	if k.mask != soft.NoToken {
		dst[k.mask] = 0
	}
}

// RatesInto implements Rater: token v jumps to MASK at rate w_v·σ'.
func (k *InfoAbsorbing) RatesInto(dst []float32, x int32, s, t float64) {
	ds := deltaSigma("InfoAbsorbing", k.sched, k.k, dst, x, s, t)
	clear(dst)
	if x != k.mask {
		return
	}
	for y, w := range k.w {
		dst[y] = float32(w * ds)
	}
	dst[x] = 0
}

// RatesInto implements Rater: token y jumps to token x at rate
// Scale·A_yx·σ' along the graph and to MASK (when there is one) at rate
// MaskRate·σ'.
func (g *Graph) RatesInto(dst []float32, x int32, s, t float64) {
	ds := deltaSigma("Graph", g.sched, g.k, dst, x, s, t)
	clear(dst)
	if x == g.mask {
		for y := range dst {
			dst[y] = float32(g.opt.MaskRate * ds)
		}
		dst[x] = 0
		return
	}
	i := g.node(int(x))
	adj := g.adj
	for p := adj.Indptr[i]; p < adj.Indptr[i+1]; p++ {
		// A is symmetric: A_yx = A_xy, stored in row x.
		if j := int(adj.Indices[p]); j != i {
			dst[g.state(j)] = float32(g.opt.Scale * adj.Weights[p] * ds)
		}
	}
}

// state maps a graph node to its state index (the inverse of node).
func (g *Graph) state(i int) int {
	if g.mask != soft.NoToken && i >= int(g.mask) {
		return i + 1
	}
	return i
}

// RatesInto implements Rater: when the level-l clock of token y rings
// (rate w_l·σ') it is redrawn uniformly in its level-l cluster, so it
// reaches another token x of that cluster at rate w_l·σ'/|C_l(y)|; the
// MASK level's clock sends every token to MASK.
func (k *Hierarchical) RatesInto(dst []float32, x int32, s, t float64) {
	ds := deltaSigma("Hierarchical", k.sched, k.k, dst, x, s, t)
	clear(dst)
	if x == k.mask {
		c := float32(k.w[len(k.w)-1] * ds)
		for y := range dst {
			dst[y] = c
		}
		dst[x] = 0
		return
	}
	ix := k.node(int(x))
	for l, lab := range k.labels {
		c := lab[ix]
		rate := k.w[l] * ds / k.size[l][c]
		for _, j := range k.member[l][c] {
			if int(j) != ix {
				dst[k.state(int(j))] += float32(rate)
			}
		}
	}
}
