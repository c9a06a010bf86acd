package decode

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/soft"
)

// infoCurve estimates I(τ) = H(x) − E H(x | y(τ)) for one position's
// Gaussian channel y = τ·onehot(x) + sqrt(τ)·ε with prior p, averaged over a
// few positions' first beliefs, truncated to their top tokens. The draws of
// x and ε are shared by every τ (common random numbers), so the estimated
// curve is smooth in τ.
type infoCurve struct {
	ids   []int32
	vals  []float32
	logp  []float64
	prior []float64
	xs    []int     // infoDraws draws of x
	eps   []float64 // infoDraws × k normals
	tau   []float64
	I     []float64
}

const (
	infoTop   = 32 // tokens per prior
	infoPos   = 4  // positions sampled
	infoDraws = 32 // Monte Carlo draws per position
	infoGrid  = 32 // fine τ grid
)

func newInfoCurve(K int) infoCurve {
	k := min(infoTop, K-1)
	return infoCurve{ids: make([]int32, k), vals: make([]float32, k), logp: make([]float64, k), prior: make([]float64, k),
		xs: make([]int, infoDraws), eps: make([]float64, infoDraws*k), tau: make([]float64, infoGrid+1), I: make([]float64, infoGrid+1)}
}

// grid overwrites g (τ_0..τ_n, τ_n = tmax) with the information-equalising
// grid computed from the run's beliefs.
func (c *infoCurve) grid(g []float64, tmax float64, r *Run, seed uint64) {
	var rows [infoPos][]float32
	np := 0
	nm := r.NumMasked() // spread the sampled positions over the masked free positions
	j := 0
	for _, i := range r.Free() {
		if !r.Masked(i) {
			continue
		}
		if np < infoPos && j*infoPos >= np*nm {
			rows[np] = r.Beliefs().Row(i)
			np++
		}
		j++
	}
	c.gridFromRows(g, tmax, rows[:np], seed)
}

// InfoTimes returns the information-equalising SNR grid τ_1 ≤ … ≤ τ_n = tmax
// that GridInfo computes inside a run, from the beliefs bel (a few rows,
// evenly spaced, serve as priors). Pass it as a TimesGrid to reuse one grid
// across runs that start from the same beliefs. It returns an error for
// nil or empty beliefs, n < 1 or tmax not positive and finite.
func InfoTimes(bel *soft.Dense, n int, tmax float64, seed uint64) ([]float64, error) {
	if bel == nil || bel.L < 1 || bel.K < 2 || len(bel.Data) != bel.L*bel.K {
		return nil, errors.New("decode.InfoTimes: nil or empty beliefs")
	}
	if n < 1 || !(tmax > 0) || math.IsInf(tmax, 1) {
		return nil, fmt.Errorf("decode.InfoTimes: n=%d, tmax=%v", n, tmax)
	}
	c := newInfoCurve(bel.K)
	var rows [][]float32
	for j := 0; j < min(infoPos, bel.L); j++ {
		rows = append(rows, bel.Row(j*bel.L/min(infoPos, bel.L)))
	}
	g := make([]float64, n+1)
	for k := range g {
		g[k] = tmax * float64(k) / float64(n)
	}
	c.gridFromRows(g, tmax, rows, seed)
	return g[1:], nil
}

func (c *infoCurve) gridFromRows(g []float64, tmax float64, rows [][]float32, seed uint64) {
	np := len(rows)
	if np == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	k := len(c.prior)
	clear(c.I)
	for gi := range c.tau {
		c.tau[gi] = tmax * float64(gi) / infoGrid
	}
	for _, row := range rows {
		soft.TopK(c.ids, c.vals, row)
		var z float64
		for a, v := range c.vals {
			z += float64(v)
			c.prior[a] = float64(v)
		}
		var h0 float64
		for a := range c.prior {
			c.prior[a] /= z
			c.logp[a] = math.Inf(-1)
			if c.prior[a] > 0 {
				c.logp[a] = math.Log(c.prior[a])
				h0 -= c.prior[a] * c.logp[a]
			}
		}
		for d := range c.xs {
			c.xs[d] = draw.Index(rng, c.prior)
		}
		for e := range c.eps {
			c.eps[e] = rng.NormFloat64()
		}
		for gi := 1; gi <= infoGrid; gi++ {
			tau := c.tau[gi]
			sd := math.Sqrt(tau)
			var hsum float64
			for d, x := range c.xs {
				ep := c.eps[d*k : (d+1)*k]
				// log posterior up to a constant: log p_a + y_a, y_a = τ·[a=x] + sd·ε_a
				mx := math.Inf(-1)
				for a := range ep {
					mx = max(mx, c.logp[a]+sd*ep[a]+tau*b2f(a == x))
				}
				var zz, s float64
				for a := range ep {
					if math.IsInf(c.logp[a], -1) {
						continue
					}
					l := c.logp[a] + sd*ep[a] + tau*b2f(a == x) - mx
					e := math.Exp(l)
					zz += e
					s += e * l
				}
				hsum += math.Log(zz) - s/zz
			}
			c.I[gi] += (h0 - hsum/infoDraws) / float64(np)
		}
	}
	// make I non-decreasing, then invert it linearly.
	for gi := 1; gi <= infoGrid; gi++ {
		c.I[gi] = max(c.I[gi], c.I[gi-1])
	}
	n := len(g) - 1
	top := c.I[infoGrid]
	if !(top > 0) {
		return
	}
	gi := 0
	for k := 1; k < n; k++ {
		target := top * float64(k) / float64(n)
		for gi < infoGrid && c.I[gi+1] < target {
			gi++
		}
		lo, hi := c.I[gi], c.I[min(gi+1, infoGrid)]
		f := 0.0
		if hi > lo {
			f = (target - lo) / (hi - lo)
		}
		g[k] = c.tau[gi] + f*(c.tau[min(gi+1, infoGrid)]-c.tau[gi])
	}
	g[n] = tmax
	for k := 1; k <= n; k++ { // non-decreasing
		g[k] = max(g[k], g[k-1])
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
