package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/softdiff/softdiff/soft"
)

// Tabulated is a kernel with its transition matrices on given time grids
// stored dense: Q̄(0,t) at every time t of every grid and Q(s,t) for each
// pair of consecutive times s < t of a grid, the matrices a reverse sampler
// on that grid reads (decode.KernelReverse, decode.KernelCTMC). For a small
// vocabulary (K up to a few hundred) one dense product of O(K²) replaces
// the graph kernel's Chebyshev series of tens of sparse products per call.
// Every other pair of times, and Prior, RatesInto and Sample, go to the
// wrapped kernel, so Tabulated is the same kernel whatever the times: only
// the cost differs (and the tabulated values are the base kernel's,
// rounded to float32 once). Build it with NewTabulated; it is safe for concurrent use.
type Tabulated struct {
	base  Kernel
	like  Likelihooder
	rate  Rater
	fwd   ForwardSampler
	k     int
	table map[[2]float64][]float32 // (s, t) → Q(s,t), K×K row-major
}

// NewTabulated tabulates base on the given grids (each a list of times in
// any order; duplicates ignored): base must also be a Likelihooder, a
// Rater and a ForwardSampler (every kernel of this package is). It returns an error for a time
// outside [0, 1] or NaN, a base without those methods, or tables of more
// than 2²⁸ entries in all.
func NewTabulated(base Kernel, grids ...[]float64) (*Tabulated, error) {
	if base == nil {
		return nil, fmt.Errorf("kernels: NewTabulated: nil kernel")
	}
	lk, ok1 := base.(Likelihooder)
	rk, ok2 := base.(Rater)
	fs, ok3 := base.(ForwardSampler)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("kernels: NewTabulated: %T is not a Likelihooder, a Rater and a ForwardSampler", base)
	}
	seen := map[[2]float64]bool{}
	var pairs [][2]float64
	for gi, times := range grids {
		ts := slices.Clone(times)
		for i, t := range ts {
			if !(t >= 0 && t <= 1) {
				return nil, fmt.Errorf("kernels: NewTabulated: grid %d time %d is %v, outside [0, 1]", gi, i, t)
			}
		}
		slices.Sort(ts)
		ts = slices.Compact(ts)
		for i, t := range ts {
			for _, p := range [][2]float64{{0, t}, {ts[max(i-1, 0)], t}} {
				if !seen[p] && (p[0] == 0 || p[0] < p[1]) {
					seen[p] = true
					pairs = append(pairs, p)
				}
			}
		}
	}
	K := base.States()
	if float64(len(pairs))*float64(K)*float64(K) > 1<<28 {
		return nil, fmt.Errorf("kernels: NewTabulated: %d matrices of %d×%d is too large a table", len(pairs), K, K)
	}
	tb := &Tabulated{base: base, like: lk, rate: rk, fwd: fs, k: K, table: map[[2]float64][]float32{}}
	id := soft.NewDense(K, K)
	for i := 0; i < K; i++ {
		id.Data[i*K+i] = 1
	}
	for _, p := range pairs {
		q := soft.NewDense(K, K)
		base.Transition(q, id, p[0], p[1])
		tb.table[p] = q.Data
	}
	return tb, nil
}

// States implements Kernel.
func (tb *Tabulated) States() int { return tb.k }

// Base returns the wrapped kernel.
func (tb *Tabulated) Base() Kernel { return tb.base }

// Mask returns the wrapped kernel's MASK state, or soft.NoToken when it has
// none (or does not say).
func (tb *Tabulated) Mask() int32 {
	if m, ok := tb.base.(interface{ Mask() int32 }); ok {
		return m.Mask()
	}
	return soft.NoToken
}

// Prior implements Kernel (the wrapped kernel's).
func (tb *Tabulated) Prior(dst []float32) { tb.base.Prior(dst) }

// Marginal implements Kernel.
func (tb *Tabulated) Marginal(dst, src *soft.Dense, t float64) { tb.Transition(dst, src, 0, t) }

// Transition implements Kernel: a dense product (float64 sums, in index
// order) at a tabulated pair, the wrapped kernel's Transition otherwise.
func (tb *Tabulated) Transition(dst, src *soft.Dense, s, t float64) {
	q, ok := tb.table[[2]float64{s, t}]
	if !ok {
		tb.base.Transition(dst, src, s, t)
		return
	}
	checkPair("Tabulated.Transition", tb.k, dst, src)
	K := tb.k
	ap := getF64(K)
	defer f64Pool.Put(ap)
	acc := *ap
	for i := 0; i < src.L; i++ {
		clear(acc)
		for v, x := range src.Row(i) {
			if x == 0 {
				continue
			}
			xv := float64(x)
			for j, qj := range q[v*K : (v+1)*K] {
				acc[j] += xv * float64(qj)
			}
		}
		out := dst.Row(i)
		for j, a := range acc {
			out[j] = float32(a)
		}
	}
}

// Likelihood implements Likelihooder: a column of the table at a tabulated
// pair, the wrapped kernel's Likelihood otherwise.
func (tb *Tabulated) Likelihood(dst *soft.Dense, xt []int32, s, t float64) {
	q, ok := tb.table[[2]float64{s, t}]
	if !ok {
		tb.like.Likelihood(dst, xt, s, t)
		return
	}
	checkLikelihood("Tabulated", tb.k, dst, xt, s, t)
	K := tb.k
	for i, x := range xt {
		row := dst.Row(i)
		for v := range row {
			row[v] = q[v*K+int(x)]
		}
	}
}

// Sample implements ForwardSampler (the wrapped kernel's).
func (tb *Tabulated) Sample(dst, x0 []int32, t float64, rng *rand.Rand) {
	tb.fwd.Sample(dst, x0, t, rng)
}

// RatesInto implements Rater (the wrapped kernel's).
func (tb *Tabulated) RatesInto(dst []float32, x int32, s, t float64) {
	tb.rate.RatesInto(dst, x, s, t)
}

// Schedule returns the wrapped kernel's schedule, or nil when it does not
// say.
func (tb *Tabulated) Schedule() Schedule {
	if sk, ok := tb.base.(interface{ Schedule() Schedule }); ok {
		return sk.Schedule()
	}
	return nil
}
