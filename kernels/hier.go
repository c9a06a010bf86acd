package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/softdiff/softdiff/soft"
)

// Hierarchy is a nested clustering of N tokens: Labels[l][v] is the cluster
// of token v at level l+1 (level 0 is the token itself), each level coarser
// than the one below: tokens that share a cluster at one level share one at
// every level above. Cluster ids at a level are 0..C−1.
type Hierarchy struct {
	N      int
	Labels [][]int32
}

// Validate checks lengths, label ranges (0..C−1, all used) and nesting, and
// returns an error naming the level and token of the first fault.
func (h *Hierarchy) Validate() error {
	if h == nil {
		return fmt.Errorf("kernels: Hierarchy: nil")
	}
	if h.N < 1 {
		return fmt.Errorf("kernels: Hierarchy: N = %d", h.N)
	}
	for l, lab := range h.Labels {
		if len(lab) != h.N {
			return fmt.Errorf("kernels: Hierarchy: level %d has %d labels, want %d", l+1, len(lab), h.N)
		}
		c := int32(0)
		for v, x := range lab {
			if x < 0 || int(x) >= h.N {
				return fmt.Errorf("kernels: Hierarchy: level %d token %d has label %d", l+1, v, x)
			}
			c = max(c, x+1)
		}
		used := make([]bool, c)
		for _, x := range lab {
			used[x] = true
		}
		if i := slices.Index(used, false); i >= 0 {
			return fmt.Errorf("kernels: Hierarchy: level %d does not use label %d (labels must be 0..C−1)", l+1, i)
		}
		if l == 0 {
			continue
		}
		below := h.Labels[l-1]
		parent := map[int32]int32{}
		for v := range lab {
			if p, ok := parent[below[v]]; ok && p != lab[v] {
				return fmt.Errorf("kernels: Hierarchy: level %d cluster %d is split at level %d (token %d)", l, below[v], l+1, v)
			}
			parent[below[v]] = lab[v]
		}
	}
	return nil
}

// BisectHierarchy clusters the rows of emb (n×d, row-major) by recursive
// bisection: each set is split at the median of its projection on its
// principal direction (power iteration from a fixed start, so the result is
// deterministic), down to single tokens. The bisection tree has depth
// B = ⌈log₂ n⌉; level l of the result holds the tree's nodes at depth B − l,
// so level B is a single cluster. It returns an error on bad lengths or
// non-finite values.
func BisectHierarchy(emb []float32, n, d int) (*Hierarchy, error) {
	if n < 2 || d < 1 || !isProduct(len(emb), n, d) {
		return nil, fmt.Errorf("kernels: BisectHierarchy: embeddings have length %d, want n·d = %d·%d with n ≥ 2", len(emb), n, d)
	}
	for i, x := range emb {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("kernels: BisectHierarchy: embedding %d dimension %d is %v", i/d, i%d, x)
		}
	}
	B := 0
	for 1<<B < n {
		B++
	}
	// anc[v][δ] = tree node of token v at depth δ; leafDepth[v].
	anc := make([][]int32, n)
	next := int32(0)
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	proj := make([]float64, n)
	mean := make([]float64, d)
	dir := make([]float64, d)
	tmp := make([]float64, d)
	var split func(set []int32, depth int)
	split = func(set []int32, depth int) {
		id := next
		next++
		for _, v := range set {
			anc[v] = append(anc[v], id)
		}
		if len(set) == 1 {
			return
		}
		clear(mean)
		for _, v := range set {
			for j := 0; j < d; j++ {
				mean[j] += float64(emb[int(v)*d+j])
			}
		}
		for j := range mean {
			mean[j] /= float64(len(set))
			dir[j] = 1 + 0.5*math.Sin(float64(j+1))
		}
		for it := 0; it < 12; it++ {
			clear(tmp)
			for _, v := range set {
				var p float64
				row := emb[int(v)*d : int(v)*d+d]
				for j, x := range row {
					p += (float64(x) - mean[j]) * dir[j]
				}
				for j, x := range row {
					tmp[j] += p * (float64(x) - mean[j])
				}
			}
			var nn float64
			for _, x := range tmp {
				nn += x * x
			}
			if nn == 0 {
				break
			}
			nn = 1 / math.Sqrt(nn)
			for j := range dir {
				dir[j] = tmp[j] * nn
			}
		}
		for _, v := range set {
			var p float64
			for j, x := range emb[int(v)*d : int(v)*d+d] {
				p += (float64(x) - mean[j]) * dir[j]
			}
			proj[v] = p
		}
		slices.SortFunc(set, func(a, b int32) int {
			if proj[a] != proj[b] {
				if proj[a] < proj[b] {
					return -1
				}
				return 1
			}
			return int(a) - int(b)
		})
		h := len(set) / 2
		split(set[:h], depth+1)
		split(set[h:], depth+1)
	}
	split(perm, 0)
	hr := &Hierarchy{N: n, Labels: make([][]int32, B)}
	for l := 1; l <= B; l++ {
		lab := make([]int32, n)
		ids := map[int32]int32{}
		for v := 0; v < n; v++ {
			dep := B - l
			a := anc[v]
			if dep >= len(a) {
				dep = len(a) - 1 // a leaf above this depth: its own cluster
			}
			x, ok := ids[a[dep]]
			if !ok {
				x = int32(len(ids))
				ids[a[dep]] = x
			}
			lab[v] = x
		}
		hr.Labels[l-1] = lab
	}
	return hr, nil
}

// Hierarchical is the hierarchical kernel: levels l = 1..M of a Hierarchy
// (plus an implicit top level holding all tokens, when the hierarchy's top
// is not already one cluster) and, optionally, MASK as level M+1. Level l
// has a clock of rate w_l·σ'(t); when it rings the token is redrawn
// uniformly within its level-l cluster (MASK: becomes MASK). The redraw
// matrices U_l are block-uniform, idempotent and commute (nested
// clusters), so
//
//	Q(s,t) = Π_l (a_l I + (1 − a_l) U_l) = Σ_l P(l* = l) U_l,  a_l = (α(t)/α(s))^{w_l},
//
// where l* is the highest level whose clock rang: P(l* ≤ l) = Π_{m>l} a_m.
// An entry q(y | u) = Σ_{l ≥ lca(u,y)} P(l* = l)/|C_l(u)| costs O(depth)
// (Prob). Prior: MASK, or uniform over tokens without MASK.
type Hierarchical struct {
	k      int
	mask   int32
	n      int
	labels [][]int32   // per level (top level included)
	size   [][]float64 // cluster sizes per level
	member [][][]int32 // members per level and cluster
	w      []float64   // rates per level (MASK last)
	sched  Schedule
}

// NewHierarchical returns the hierarchical kernel over the tokens of h (K =
// h.N states, or h.N + 1 with a MASK state at index mask ∈ [0, h.N]; pass
// soft.NoToken for none), with per-level rates w (len = levels, counting the
// implicit top level and MASK; nil means w_l = L − l + 1 for levels
// l = 1..L, so finer levels ring faster and the top one at rate 1) under
// schedule s (nil:
// LogLinear{}). It validates h.
func NewHierarchical(h *Hierarchy, mask int32, w []float64, s Schedule) (*Hierarchical, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	labels := slices.Clone(h.Labels)
	if len(labels) == 0 || slices.Max(labels[len(labels)-1]) != 0 {
		labels = append(labels, make([]int32, h.N))
	}
	k := h.N
	levels := len(labels)
	if mask != soft.NoToken {
		if mask < 0 || int(mask) > h.N {
			return nil, fmt.Errorf("kernels: NewHierarchical: mask %d outside [0, %d]", mask, h.N)
		}
		k++
		levels++
	}
	if w == nil {
		// Finer levels ring faster: level l of L gets rate L − l + 1.
		w = make([]float64, levels)
		for i := range w {
			w[i] = float64(levels - i)
		}
	}
	if levels > 62 {
		return nil, fmt.Errorf("kernels: NewHierarchical: %d levels (at most 62)", levels)
	}
	if len(w) != levels {
		return nil, fmt.Errorf("kernels: NewHierarchical: %d rates for %d levels", len(w), levels)
	}
	for l, x := range w {
		if !(x > 0) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("kernels: NewHierarchical: rate of level %d is %v", l+1, x)
		}
	}
	if s == nil {
		s = LogLinear{}
	}
	hk := &Hierarchical{k: k, mask: mask, n: h.N, labels: labels, w: slices.Clone(w), sched: s}
	for _, lab := range labels {
		c := int(slices.Max(lab)) + 1
		size := make([]float64, c)
		mem := make([][]int32, c)
		for v, x := range lab {
			size[x]++
			mem[x] = append(mem[x], int32(v))
		}
		hk.size = append(hk.size, size)
		hk.member = append(hk.member, mem)
	}
	return hk, nil
}

// States implements Kernel.
func (k *Hierarchical) States() int { return k.k }

// Levels returns the number of token levels (the implicit top included).
func (k *Hierarchical) Levels() int { return len(k.labels) }

// levelProbs writes P(l* = l) for l = 0..L (L = number of levels, MASK
// included) into p.
func (k *Hierarchical) levelProbs(p []float64, s, t float64) {
	r := alphaRatio(k.sched, s, t)
	L := len(k.w)
	keep := 1.0 // Π_{m>l} a_m
	for l := L; l >= 1; l-- {
		a := math.Pow(r, k.w[l-1])
		p[l] = (1 - a) * keep
		keep *= a
	}
	p[0] = keep
}

func (k *Hierarchical) node(v int) int {
	if k.mask == soft.NoToken || v < int(k.mask) {
		return v
	}
	if v == int(k.mask) {
		return -1
	}
	return v - 1
}

func (k *Hierarchical) state(i int) int {
	if k.mask != soft.NoToken && i >= int(k.mask) {
		return i + 1
	}
	return i
}

// Prob returns q(x_t = y | x_s = u) in O(depth).
func (k *Hierarchical) Prob(u, y int32, s, t float64) float64 {
	var pb [64]float64
	p := pb[:len(k.w)+1]
	k.levelProbs(p, s, t)
	iu, iy := k.node(int(u)), k.node(int(y))
	switch {
	case iu < 0:
		if iy < 0 {
			return 1
		}
		return 0
	case iy < 0:
		return p[len(k.w)]
	}
	var q float64
	if iu == iy {
		q = p[0]
	}
	for l, lab := range k.labels {
		if lab[iu] == lab[iy] {
			q += p[l+1] / k.size[l][lab[iu]]
		}
	}
	return q
}

// Marginal implements Kernel.
func (k *Hierarchical) Marginal(dst, src *soft.Dense, t float64) { k.Transition(dst, src, 0, t) }

// Transition implements Kernel: O(K·levels) per row through cluster sums.
func (k *Hierarchical) Transition(dst, src *soft.Dense, s, t float64) {
	checkPair("Hierarchical.Transition", k.k, dst, src)
	var pb [64]float64
	p := pb[:len(k.w)+1]
	k.levelProbs(p, s, t)
	bp := getF64(2 * k.n)
	defer f64Pool.Put(bp)
	for i := 0; i < src.L; i++ {
		k.apply((*bp)[:k.n], (*bp)[k.n:], dst.Row(i), src.Row(i), p)
	}
}

// apply writes out = in·Q (also Q·in on tokens: Q is symmetric there),
// MASK handled by the caller's convention: MASK mass stays, token mass
// gains P(MASK level).
func (k *Hierarchical) apply(acc, sums []float64, out, in []float32, p []float64) {
	var tok float64
	for i := 0; i < k.n; i++ {
		x := float64(in[k.state(i)])
		acc[i] = p[0] * x
		tok += x
	}
	for l, lab := range k.labels {
		c := sums[:len(k.size[l])]
		clear(c)
		for i, x := range lab {
			c[x] += float64(in[k.state(i)])
		}
		pl := p[l+1]
		for x := range c {
			c[x] *= pl / k.size[l][x]
		}
		for i, x := range lab {
			acc[i] += c[x]
		}
	}
	for i := 0; i < k.n; i++ {
		out[k.state(i)] = float32(acc[i])
	}
	if k.mask != soft.NoToken {
		out[k.mask] = float32(float64(in[k.mask]) + p[len(k.w)]*tok)
	}
}

// Prior implements Kernel.
func (k *Hierarchical) Prior(dst []float32) {
	checkLen("Hierarchical.Prior", len(dst), k.k)
	clear(dst)
	if k.mask != soft.NoToken {
		dst[k.mask] = 1
		return
	}
	u := float32(1 / float64(k.n))
	for v := range dst {
		dst[v] = u
	}
}

// Posterior implements Posteriorer.
func (k *Hierarchical) Posterior(dst, xt, x0 []float32, s, t float64) error {
	L := len(k.w) + 1
	var pb, qb [64]float64
	pst, p0s := pb[:L], qb[:L]
	k.levelProbs(pst, s, t)
	k.levelProbs(p0s, 0, s)
	bp := getF64(2 * k.n)
	defer f64Pool.Put(bp)
	tp := getF32(k.k)
	defer f32Pool.Put(tp)
	tmp := *tp
	return posteriorRows(dst, xt, x0, k.k,
		func(out []float64, in []float32) {
			k.apply((*bp)[:k.n], (*bp)[k.n:], tmp, in, pst)
			for v, x := range tmp {
				out[v] = float64(x)
			}
			if k.mask != soft.NoToken {
				// Q(s,t)·xt: token u gains P(MASK level)·xt[MASK]; MASK row
				// of Q is e_MASK.
				pm := float64(in[k.mask])
				for i := 0; i < k.n; i++ {
					out[k.state(i)] = float64(tmp[k.state(i)]) + pst[L-1]*pm
				}
				out[k.mask] = pm
			}
		},
		func(out []float64, in []float32) {
			k.apply((*bp)[:k.n], (*bp)[k.n:], tmp, in, p0s)
			for v, x := range tmp {
				out[v] = float64(x)
			}
		})
}

// Sample implements ForwardSampler: draw the highest level whose clock rang
// (top down), then a uniform member of x0's cluster at that level.
func (k *Hierarchical) Sample(dst, x0 []int32, t float64, rng *rand.Rand) {
	checkLen("Hierarchical.Sample", len(dst), len(x0))
	r := alphaRatio(k.sched, 0, t)
	L := len(k.w)
	for p, x := range x0 {
		i := k.node(int(x))
		if i < 0 {
			dst[p] = x
			continue
		}
		lev := 0
		for l := L; l >= 1; l-- {
			if rng.Float64() >= math.Pow(r, k.w[l-1]) {
				lev = l
				break
			}
		}
		switch {
		case lev == 0:
			dst[p] = x
		case k.mask != soft.NoToken && lev == L:
			dst[p] = k.mask
		default:
			mem := k.member[lev-1][k.labels[lev-1][i]]
			dst[p] = int32(k.state(int(mem[rng.IntN(len(mem))])))
		}
	}
}

// SameCluster returns P(x_t is in the same level-l cluster as x_0 = u) for
// l = 0..Levels() (l = 0: the same token), from the closed form.
func (k *Hierarchical) SameCluster(dst []float64, u int32, t float64) {
	checkLen("Hierarchical.SameCluster", len(dst), len(k.labels)+1)
	var pb [64]float64
	p := pb[:len(k.w)+1]
	k.levelProbs(p, 0, t)
	i := k.node(int(u))
	if i < 0 {
		panic("kernels: Hierarchical.SameCluster: u is MASK")
	}
	for l := 0; l <= len(k.labels); l++ {
		// Mass that lands in C_l(u): levels m ≤ l land inside; a level m > l
		// redraw lands inside with probability |C_l(u)|/|C_m(u)|.
		cl := 1.0
		if l > 0 {
			cl = k.size[l-1][k.labels[l-1][i]]
		}
		var q float64
		for m := 0; m <= len(k.labels); m++ {
			if m <= l {
				q += p[m]
			} else {
				q += p[m] * cl / k.size[m-1][k.labels[m-1][i]]
			}
		}
		dst[l] = q
	}
}
