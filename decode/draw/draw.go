// Package draw holds the drawing and ranking helpers that samplers share:
// tempered sampling, Gumbel variates, nucleus (top-p) filtering, sharpening,
// top-k selection and sorting of positions by a confidence key, and a fast
// entropy. The samplers of package decode use these and nothing else, so a
// sampler written outside decode can reproduce any built-in rule exactly.
//
// Every function is deterministic given its random source and allocates
// nothing. The tie order of the ranking helpers is part of their contract:
// among equal keys the smaller position comes first.
//
// Errors and panics: these functions read buffers the caller owns; a slice
// of the wrong length (documented per function) panics, as an index out of
// range would. Values are not validated (the run validates beliefs once per
// denoiser call, package decode).
package draw

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/softdiff/softdiff/soft"
)

// Tempered draws a token from p^(1/T) (normalised) by inverting its float64
// cumulative sum against one uniform variate: the distribution of the
// Gumbel-max rule argmax_v log p_v + T·g_v, g_v standard Gumbel (LLaDA's
// add_gumbel_noise), drawn with one variate instead of K. T ≤ 0 is the
// argmax (smallest index on ties) and draws nothing; T = 1 is soft.Sample.
func Tempered(rng *rand.Rand, p []float32, T float64) int32 {
	switch {
	case T <= 0:
		return soft.Argmax(p)
	case T == 1:
		return soft.Sample(rng, p)
	}
	inv := 1 / T
	// normalise by the maximum first so p^(1/T) does not underflow for small T.
	pm := float64(p[soft.Argmax(p)])
	var sum float64
	for _, x := range p {
		if x > 0 {
			sum += math.Pow(float64(x)/pm, inv)
		}
	}
	u := rng.Float64() * sum
	var c float64
	last := int32(-1)
	for v, x := range p {
		if x > 0 {
			c += math.Pow(float64(x)/pm, inv)
			last = int32(v)
			if u < c {
				return int32(v)
			}
		}
	}
	return last
}

// Gumbel returns a standard Gumbel variate −log(−log u), u ∈ (0, 1).
func Gumbel(rng *rand.Rand) float64 {
	u := rng.Float64()
	for u == 0 {
		u = rng.Float64()
	}
	return -math.Log(-math.Log(u))
}

// Index draws an index from the normalised float64 distribution p by
// inverting its cumulative sum (the last index if rounding leaves the
// variate above the total).
func Index(rng *rand.Rand, p []float64) int {
	u := rng.Float64()
	var c float64
	for a, x := range p {
		c += x
		if u < c {
			return a
		}
	}
	return len(p) - 1
}

// TopK moves the k entries of idx with the largest key to the front of idx,
// in decreasing key order, ties to the smaller position; the order of the
// rest is unspecified. key is indexed by the values stored in idx (positions),
// not by the index into idx. k larger than len(idx) means all of them. It
// costs O(len(idx)·k): a partial selection sort, which suits the few commits
// per step of the samplers.
func TopK(idx []int, key []float64, k int) {
	k = min(k, len(idx))
	for a := 0; a < k; a++ {
		best := a
		for b := a + 1; b < len(idx); b++ {
			kb, kbest := key[idx[b]], key[idx[best]]
			if kb > kbest || (kb == kbest && idx[b] < idx[best]) {
				best = b
			}
		}
		idx[a], idx[best] = idx[best], idx[a]
	}
}

// Sort sorts idx by decreasing key, ties to the smaller position (the order
// of TopK with k = len(idx)), in O(n log n). key is indexed by position.
func Sort(idx []int, key []float64) {
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case key[a] > key[b]:
			return -1
		case key[a] < key[b]:
			return 1
		}
		return a - b
	})
}

// Sharpen writes dst ∝ p^(1/T) for T > 0, computed as
// exp((log p − log max p)/T) with the table logarithm (the law of
// soft.Sharpen, several times cheaper than math.Pow per entry). Entries
// below the smallest normal float32 become zero. dst and p have equal
// length (it may be p itself).
//
// In the GOEXPERIMENT=simd build on an AVX2+FMA CPU a vector kernel
// (sharpenVec: polynomial logarithm, float32 exponential; when 1/T is an
// integer in [2, 16], as for T = 0.5, 0.25, 0.2, 0.1, repeated squaring of
// x/max p instead, sharpenPow) serves it, within 1e-5 relative of this
// path for entries above 1e-30.
func Sharpen(dst, p []float32, T float64) {
	if haveFMA && len(p) >= 8 {
		sharpenVec(dst, p, T, maxVec(p))
		return
	}
	sharpenScalar(dst, p, T, p[soft.Argmax(p)])
}

// SharpenMax is Sharpen for a caller that knows the largest entry of p
// (pmax, e.g. at the argmax of a belief check): it writes the same dst,
// bit for bit, without the pass that finds it, and returns the largest
// entry of dst, found in the scaling pass.
func SharpenMax(dst, p []float32, T float64, pmax float32) float32 {
	if haveFMA && len(p) >= 8 {
		return sharpenVec(dst, p, T, pmax)
	}
	return sharpenScalar(dst, p, T, pmax)
}

// sharpenScalar is Sharpen's pure-Go path given the largest entry of p; it
// returns the largest entry of dst.
func sharpenScalar(dst, p []float32, T float64, pmax float32) float32 {
	lmax := log32(pmax)
	inv := 1 / T
	var z float64
	for v, x := range p {
		if x < 0x1p-126 {
			dst[v] = 0
			continue
		}
		e := math.Exp((log32(x) - lmax) * inv)
		dst[v] = float32(e)
		z += e
	}
	s := float32(1 / z)
	var mx float32
	for v := range dst {
		dst[v] *= s
		mx = max(mx, dst[v])
	}
	return mx
}

// Nucleus zeroes the entries of q outside its top-p nucleus: in the order
// of decreasing value (ties to the smaller index) a token is kept while the
// mass before it is ≤ topP (so the token that carries the mass past topP is
// kept: Dream's and LRD's rule). It reports whether anything was zeroed; q
// is not renormalised. scratch needs len(q) entries.
//
// The threshold θ, the value of the last kept token, is the unique value
// with mass(q > θ) ≤ topP < mass(q ≥ θ); it is found by a weighted
// quickselect on a copy of the values (expected O(K)); then every token
// above θ is kept and, of the tokens equal to θ, the first r by index, r the
// fewest that carry the mass past topP. In the GOEXPERIMENT=simd build on
// an AVX2+FMA CPU a vector pre-pass (nucleusVec) first drops the entries
// certainly below θ.
func Nucleus(q []float32, topP float64, scratch []float32) bool {
	theta, budget, ok := nucleusTheta(q, -1, topP, scratch)
	if !ok {
		return false
	}
	return nucleusCut(q, theta, budget)
}

// nucleusTheta returns Nucleus's threshold θ and the budget left after the
// mass above it, or ok false when the total is ≤ topP (everything is
// kept). qmax is q's largest entry, or negative if unknown. It reads q and
// writes scratch.
func nucleusTheta(q []float32, qmax float32, topP float64, scratch []float32) (theta float32, budget float64, ok bool) {
	if haveFMA && len(q) >= 64 {
		if qmax < 0 {
			qmax = maxVec(q)
		}
		if theta, budget, ok := nucleusVec(q, qmax, topP, scratch); ok {
			return theta, budget, true
		}
	}
	var total float64
	for _, x := range q {
		total += float64(x)
	}
	if total <= topP {
		return 0, 0, false
	}
	w := scratch[:len(q)]
	copy(w, q)
	theta, budget = nucleusSelect(w, topP)
	return theta, budget, true
}

// NucleusList is Nucleus without the cut: qmax is the largest entry of q
// (as SharpenMax returns it), or negative if the caller does not know it
// (the vector pre-pass then finds it). It leaves q as it is and writes
// the tokens Nucleus keeps whose value is nonzero, in increasing order, to
// ids and their values to vals (both need len(q) entries), and returns
// their number n, sum, the float64 sum of those values in increasing
// order, and whether a nonzero entry was dropped (Nucleus's result).
//
// sum is bit for bit the float64 sum, in index order, of the row Nucleus
// leaves (its zeros add +0, which leaves a float64 sum unchanged), so a
// caller that renormalises by it gets Nucleus's values; and the list is
// that row's nonzero entries, in order. One branch-free pass over q
// replaces Nucleus's cut and the caller's passes over the K − n zeros.
func NucleusList(q []float32, qmax float32, topP float64, scratch []float32, ids []int32, vals []float32) (n int, sum float64, changed bool) {
	ids, vals = ids[:len(q)], vals[:len(q)]
	theta, budget, ok := nucleusTheta(q, qmax, topP, scratch)
	if !ok {
		// everything is kept: the nonzero entries
		for v, x := range q {
			ids[n], vals[n] = int32(v), x
			n += b2i(x != 0)
		}
		return n, listSum(q, vals[:n]), false
	}
	// Nucleus's cut (nucleusCut): q > θ, and the first r entries equal to θ
	// with r·θ > budget minimal; θ > 0, so every kept entry is nonzero.
	r := int(budget/float64(theta)) + 1
	if haveCompress {
		return nucleusListVec(q, theta, r, ids, vals)
	}
	drop := 0
	for v, x := range q {
		eq := b2i(x == theta && r > 0)
		r -= eq
		k := b2i(x > theta) | eq
		ids[n], vals[n] = int32(v), x
		sum += float64(math.Float32frombits(math.Float32bits(x) & -uint32(k)))
		n += k
		drop |= b2i(x != 0) &^ k
	}
	return n, sum, drop != 0
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nucleusSelect finds, by a weighted quickselect that reorders w, the value
// θ with mass(w > θ) ≤ budget < mass(w ≥ θ), and returns it with the budget
// left after the mass above θ.
func nucleusSelect(w []float32, budget float64) (float32, float64) {
	var theta float32
	for len(w) > 0 {
		// median of three as pivot
		a, b, c := w[0], w[len(w)/2], w[len(w)-1]
		piv := max(min(a, b), min(max(a, b), c))
		// three-way partition: [> piv | == piv | < piv]
		lt, i, gt := 0, 0, len(w)
		for i < gt {
			switch x := w[i]; {
			case x > piv:
				w[lt], w[i] = w[i], w[lt]
				lt++
				i++
			case x < piv:
				gt--
				w[gt], w[i] = w[i], w[gt]
			default:
				i++
			}
		}
		var above, eq float64
		for _, x := range w[:lt] {
			above += float64(x)
		}
		eq = float64(piv) * float64(gt-lt)
		switch {
		case above > budget:
			w = w[:lt]
		case above+eq > budget:
			theta = piv
			budget -= above
			w = nil
		default:
			budget -= above + eq
			w = w[gt:]
		}
	}
	return theta, budget
}

// nucleusCut keeps the entries of q above theta and the first r equal to
// it, r·θ > budget minimal (r ≥ 1), zeroes the others, and reports whether
// a nonzero entry was zeroed.
func nucleusCut(q []float32, theta float32, budget float64) bool {
	// keep q > θ, and the first r entries equal to θ with r·θ > budget
	// minimal (r ≥ 1)
	r := int(budget/float64(theta)) + 1
	changed := false
	for v, x := range q {
		switch {
		case x > theta:
		case x == theta && r > 0:
			r--
		default:
			if x != 0 {
				changed = true
			}
			q[v] = 0
		}
	}
	return changed
}

// listSum is the sum NucleusList reports when everything is kept: the
// float64 sum of q in index order (its zeros add +0), or, where the
// compaction kernels run, the vector sum of the list (relative 1e-15).
func listSum(q, list []float32) float64 {
	if haveCompress {
		return sumVec(list)
	}
	var s float64
	for _, x := range q {
		s += float64(x)
	}
	return s
}

// NucleusWeights writes dst_v = float32(float64(q_v)·(a/c)) for the tokens
// that Nucleus keeps and 0 for the others, c the float64 sum of the kept
// values, and returns c; qmax is q's largest entry, or negative if the
// caller does not know it. q is not modified; dst needs len(q) entries and
// may not alias q.
//
// In the default build c is the sum in index order, so dst is bit for bit
// what copying q, cutting it with Nucleus, summing the cut row in index
// order and scaling every entry by a/c gives (the cut entries scale to
// +0). In the GOEXPERIMENT=simd build on an AVX2+FMA CPU two vector passes
// (sum, then scale) serve it; c is summed in float64 lanes, exact and so
// the same bits whenever the kept entries are all ≥ 2⁻²⁹ with a total
// below 2 (then every float64 partial sum is exact), else within 1e-15
// relative; the products and their float32 rounding are the same.
func NucleusWeights(dst, q []float32, qmax float32, topP, a float64, scratch []float32) float64 {
	dst = dst[:len(q)]
	theta, budget, ok := nucleusTheta(q, qmax, topP, scratch)
	r := len(q) // everything kept: θ = 0 < every positive entry, ties unlimited
	if ok {
		r = int(budget/float64(theta)) + 1
	} else {
		theta = -1
	}
	if haveFMA {
		return nucleusWeightsVec(dst, q, theta, r, a)
	}
	var c float64
	rr := r
	for _, x := range q {
		eq := b2i(x == theta && rr > 0)
		rr -= eq
		k := b2i(x > theta) | eq
		c += float64(math.Float32frombits(math.Float32bits(x) & -uint32(k)))
	}
	sc := a / c
	for v, x := range q {
		eq := b2i(x == theta && r > 0)
		r -= eq
		k := b2i(x > theta) | eq
		dst[v] = math.Float32frombits(math.Float32bits(float32(float64(x)*sc)) & -uint32(k))
	}
	return c
}
