package kernels

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

// Likelihooder is implemented by kernels that give the columns of their
// transition matrix. Likelihood writes into row i of dst the likelihood of
// the state xt[i] at time t for every state v at time s:
//
//	dst[i][v] = Q(s,t)[v, xt[i]] = P(x_t = xt[i] | x_s = v).
//
// With s = 0 the row is the likelihood ℓ(v) = P(x_t = xt[i] | x_0 = v) that
// an observed x_t carries about x_0: exactly the soft-evidence row a
// denoiser reads (decode.Denoiser). In a kernel without a MASK state it is
// a full row over the K states, not an indicator. For s < t it is the first
// factor of the reverse step q(x_s | x_t, x_0) ∝ Q(s,t)[x_s, x_t]·Q̄(0,s)[x_0, x_s].
//
// dst must be len(xt)×States(); the rows are not normalised. Likelihood
// panics if dst's shape does not match, an id of xt lies outside
// [0, States()), or the times are not 0 ≤ s ≤ t ≤ 1: all the caller's own
// mistakes. It is safe for concurrent use.
type Likelihooder interface {
	Likelihood(dst *soft.Dense, xt []int32, s, t float64)
}

// checkLikelihood validates the caller's shapes, ids and times.
func checkLikelihood(name string, k int, dst *soft.Dense, xt []int32, s, t float64) {
	if dst.L != len(xt) || dst.K != k || len(dst.Data) != dst.L*dst.K {
		panic(fmt.Sprintf("kernels: %s.Likelihood: dst is %d×%d, want %d×%d", name, dst.L, dst.K, len(xt), k))
	}
	for i, x := range xt {
		if x < 0 || int(x) >= k {
			panic(fmt.Sprintf("kernels: %s.Likelihood: xt[%d] = %d outside [0, %d)", name, i, x, k))
		}
	}
	checkTimes(s, t)
}

// Likelihood implements Likelihooder: a token column is a·e_x (a token
// keeps its identity or is masked), the MASK column is 1 − a on tokens and
// 1 on MASK.
func (k *Absorbing) Likelihood(dst *soft.Dense, xt []int32, s, t float64) {
	checkLikelihood("Absorbing", k.k, dst, xt, s, t)
	a := alphaRatio(k.sched, s, t)
	for i, x := range xt {
		row := dst.Row(i)
		if x == k.mask {
			for v := range row {
				row[v] = float32(1 - a)
			}
			row[k.mask] = 1
			continue
		}
		clear(row)
		row[x] = float32(a)
	}
}

// Likelihood implements Likelihooder: a token column is a·e_x + (1 − a)/n
// on the n tokens (0 on the excluded MASK state); the MASK column is e_MASK
// (MASK is a fixed point and no token becomes MASK).
func (k *Uniform) Likelihood(dst *soft.Dense, xt []int32, s, t float64) {
	checkLikelihood("Uniform", k.k, dst, xt, s, t)
	a := alphaRatio(k.sched, s, t)
	c := float32((1 - a) / float64(k.n))
	for i, x := range xt {
		row := dst.Row(i)
		if x == k.mask {
			clear(row)
			row[x] = 1
			continue
		}
		for v := range row {
			row[v] = c
		}
		row[x] = float32(a + (1-a)/float64(k.n))
		if k.mask != soft.NoToken {
			row[k.mask] = 0
		}
	}
}

// Likelihood implements Likelihooder: a token column is a_x·e_x, the MASK
// column 1 − a_v on every token v and 1 on MASK.
func (k *InfoAbsorbing) Likelihood(dst *soft.Dense, xt []int32, s, t float64) {
	checkLikelihood("InfoAbsorbing", k.k, dst, xt, s, t)
	r := alphaRatio(k.sched, s, t)
	for i, x := range xt {
		row := dst.Row(i)
		if x == k.mask {
			for v, w := range k.w {
				row[v] = float32(1 - math.Pow(r, w))
			}
			row[k.mask] = 1
			continue
		}
		clear(row)
		row[x] = float32(math.Pow(r, k.w[x]))
	}
}

// Likelihood implements Likelihooder. The token block of Q is
// keep·exp(τR) with R symmetric, so a token column is keep times the row
// e_x·exp(τR) (one Chebyshev series for all token rows at once, as
// Transition); the MASK column is 1 − keep on tokens and 1 on MASK.
func (g *Graph) Likelihood(dst *soft.Dense, xt []int32, s, t float64) {
	checkLikelihood("Graph", g.k, dst, xt, s, t)
	tau, keep := g.Tau(s, t)
	n := g.adj.N
	bs := g.rowScratch(min(len(xt), soft.BlockRows) * n)
	defer g.release(bs)
	for lo := 0; lo < len(xt); lo += soft.BlockRows {
		hi := min(len(xt), lo+soft.BlockRows)
		buf := bs.rows[:(hi-lo)*n]
		clear(buf)
		for r := lo; r < hi; r++ {
			if i := g.node(int(xt[r])); i >= 0 {
				buf[(r-lo)*n+i] = 1
			}
		}
		g.Action(buf, buf, hi-lo, tau, 0)
		for r := lo; r < hi; r++ {
			row := dst.Row(r)
			if xt[r] == g.mask {
				for v := range row {
					row[v] = float32(1 - keep)
				}
				row[g.mask] = 1
				continue
			}
			for v := range row {
				if i := g.node(v); i >= 0 {
					row[v] = float32(keep * math.Max(buf[(r-lo)*n+i], 0))
				}
			}
			if g.mask != soft.NoToken {
				row[g.mask] = 0
			}
		}
	}
}

// Likelihood implements Likelihooder. Q is symmetric on tokens, so a token
// column is the row of e_x through the cluster sums (O(K·levels)) with 0 on
// MASK; the MASK column is P(the MASK level rang) on tokens and 1 on MASK.
func (k *Hierarchical) Likelihood(dst *soft.Dense, xt []int32, s, t float64) {
	checkLikelihood("Hierarchical", k.k, dst, xt, s, t)
	var pb [64]float64
	p := pb[:len(k.w)+1]
	k.levelProbs(p, s, t)
	bp := getF64(2 * k.n)
	defer f64Pool.Put(bp)
	tp := getF32(k.k)
	defer f32Pool.Put(tp)
	one := *tp
	for i, x := range xt {
		row := dst.Row(i)
		if x == k.mask {
			pm := float32(p[len(k.w)])
			for v := range row {
				row[v] = pm
			}
			row[k.mask] = 1
			continue
		}
		clear(one)
		one[x] = 1
		k.apply((*bp)[:k.n], (*bp)[k.n:], row, one, p)
		if k.mask != soft.NoToken {
			row[k.mask] = 0
		}
	}
}
