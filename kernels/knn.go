package kernels

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/softdiff/softdiff/soft"
)

// Metric is the similarity used to build a nearest-neighbour graph.
type Metric int

const (
	// MetricCosine ranks neighbours by cosine similarity.
	MetricCosine Metric = iota
	// MetricL2 ranks neighbours by Euclidean distance.
	MetricL2
)

// DefaultNeighbours is the k of KNNOptions{}.
const DefaultNeighbours = 16

// KNNOptions configures KNN. The zero value means k = DefaultNeighbours,
// cosine similarity, GOMAXPROCS workers.
type KNNOptions struct {
	K       int
	Metric  Metric
	Workers int
}

const (
	knnQueryBlock = 48 // query rows per work item (multiple of 6)
	knnPanel      = 16 // candidates per packed panel
)

// KNN returns the k nearest neighbours of each of the n points whose
// d-dimensional embeddings are the rows of emb (row-major n×d): row i of the
// result (n×k, row-major) lists the k other points nearest to i, nearest
// first (ties to the lower index). It is exact brute force: dot products in
// float32 blocks (an AVX2/FMA archsimd micro-kernel in the GOEXPERIMENT=simd
// build on amd64 CPUs that have it, pure Go otherwise), query blocks in
// parallel; the result does not depend on the number of workers. It returns
// an error for a wrong length, k ≥ n, non-finite values, or (cosine) a zero
// vector, or (L2) a squared norm beyond the float32 range.
func KNN(emb []float32, n, d int, opt KNNOptions) ([]int32, error) {
	k := opt.K
	if k == 0 {
		k = DefaultNeighbours
	}
	if n < 2 || d < 1 || !isProduct(len(emb), n, d) {
		return nil, fmt.Errorf("kernels: KNN: embeddings have length %d, want n·d = %d·%d with n ≥ 2, d ≥ 1", len(emb), n, d)
	}
	if k < 1 || k >= n {
		return nil, fmt.Errorf("kernels: KNN: need 1 ≤ k < n, got k=%d n=%d", k, n)
	}
	nq := (n + knnQueryBlock - 1) / knnQueryBlock * knnQueryBlock
	np := (n + knnPanel - 1) / knnPanel
	// Queries row-major (n×d, zero rows past n); candidates packed in panels
	// of 16, layout [panel][d][16], zero columns past n.
	query := make([]float32, nq*d)
	cand := make([]float32, np*d*knnPanel)
	bias := make([]float32, np*knnPanel)
	for i := 0; i < n; i++ {
		src := emb[i*d : (i+1)*d]
		var nn float64
		for j, x := range src {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("kernels: KNN: embedding %d dimension %d is %v", i, j, x)
			}
			nn += float64(x) * float64(x)
		}
		dst := query[i*d : (i+1)*d]
		switch opt.Metric {
		case MetricCosine:
			if nn == 0 {
				return nil, fmt.Errorf("kernels: KNN: embedding %d is the zero vector (cosine undefined)", i)
			}
			inv := 1 / math.Sqrt(nn)
			for j, x := range src {
				dst[j] = float32(float64(x) * inv)
			}
		case MetricL2:
			if nn > math.MaxFloat32 {
				return nil, fmt.Errorf("kernels: KNN: embedding %d has squared norm %g, beyond float32 (L2 scores would overflow)", i, nn)
			}
			copy(dst, src)
			bias[i] = float32(nn / 2)
		default:
			return nil, fmt.Errorf("kernels: KNN: unknown metric %d", opt.Metric)
		}
		p, c := i/knnPanel, i%knnPanel
		for j, x := range dst {
			cand[(p*d+j)*knnPanel+c] = x
		}
	}
	out := make([]int32, n*k)
	soft.ForBlocks(nq, knnQueryBlock, opt.Workers, func(_, lo, hi int) {
		knnBlock(out, query, cand, bias, n, d, k, lo, hi)
	})
	return out, nil
}

// knnBlock finds the neighbours of query rows [lo, hi) (a multiple of 6).
func knnBlock(out []int32, query, cand, bias []float32, n, d, k, lo, hi int) {
	nr := hi - lo
	// Pack the block's queries in groups of 6, layout [group][d][6].
	apack := make([]float32, nr*d)
	for q := 0; q < nr; q++ {
		g, r := q/6, q%6
		for j, x := range query[(lo+q)*d : (lo+q+1)*d] {
			apack[(g*d+j)*6+r] = x
		}
	}
	vals := make([]float32, nr*k)
	ids := make([]int32, nr*k)
	thr := make([]float32, nr) // current minimum score in each list
	arg := make([]int, nr)     // its position
	for i := range vals {
		vals[i] = float32(math.Inf(-1))
		ids[i] = -1
	}
	for r := range thr {
		thr[r] = float32(math.Inf(-1))
	}
	var tile [96]float32
	np := len(cand) / (d * knnPanel)
	for p := 0; p < np; p++ {
		b := cand[p*d*knnPanel : (p+1)*d*knnPanel]
		j0 := p * knnPanel
		bs := bias[j0 : j0+knnPanel]
		for g := 0; g < nr/6; g++ {
			mk6x16(apack[g*d*6:(g+1)*d*6], b, d, &tile)
			for r := 0; r < 6; r++ {
				q := g*6 + r
				i := lo + q
				if i >= n {
					break
				}
				th := thr[q]
				row := tile[r*16 : r*16+16]
				for c, x := range row {
					s := x - bs[c]
					if s <= th {
						continue
					}
					jj := j0 + c
					if jj >= n || jj == i {
						continue
					}
					base := q * k
					vals[base+arg[q]] = s
					ids[base+arg[q]] = int32(jj)
					// Next to evict: the lowest score, ties to the higher
					// index, so that a tie at the cut keeps the lower index.
					m, mi := vals[base], 0
					for t := 1; t < k; t++ {
						if v := vals[base+t]; v < m || (v == m && ids[base+t] > ids[base+mi]) {
							m, mi = v, t
						}
					}
					thr[q], arg[q], th = m, mi, m
				}
			}
		}
	}
	type cand2 struct {
		v  float32
		id int32
	}
	cs := make([]cand2, k)
	for q := 0; q < nr && lo+q < n; q++ {
		for t := 0; t < k; t++ {
			cs[t] = cand2{vals[q*k+t], ids[q*k+t]}
		}
		sort.Slice(cs, func(a, b int) bool {
			if cs[a].v != cs[b].v {
				return cs[a].v > cs[b].v
			}
			return cs[a].id < cs[b].id
		})
		for t := 0; t < k; t++ {
			out[(lo+q)*k+t] = cs[t].id
		}
	}
}

// Adjacency is a symmetric non-negative weight matrix in compressed sparse
// row form: the neighbours of node i are Indices[Indptr[i]:Indptr[i+1]]
// (increasing) with weights Weights[same range]. There are no self loops.
type Adjacency struct {
	N       int
	Indptr  []int
	Indices []int32
	Weights []float64
}

// NewKNNAdjacency builds the symmetric kNN graph A = (B + Bᵀ)/(2k) of D3PM's
// nearest-neighbour kernel from the n×k neighbour lists of KNN (B_ij = 1 when
// j is among i's neighbours): mutual neighbours get weight 1/k, one-way ones
// 1/(2k). It returns an error for an id out of range or a self loop.
func NewKNNAdjacency(nbr []int32, n, k int) (*Adjacency, error) {
	if n < 1 || k < 1 || !isProduct(len(nbr), n, k) {
		return nil, fmt.Errorf("kernels: NewKNNAdjacency: %d ids, want n·k with n = %d ≥ 1 and k = %d ≥ 1", len(nbr), n, k)
	}
	type edge struct {
		j int32
		w float64
	}
	rows := make([][]edge, n)
	w := 1 / (2 * float64(k))
	for i := 0; i < n; i++ {
		for _, j := range nbr[i*k : (i+1)*k] {
			if j < 0 || int(j) >= n || int(j) == i {
				return nil, fmt.Errorf("kernels: NewKNNAdjacency: node %d has neighbour %d (n=%d)", i, j, n)
			}
			rows[i] = append(rows[i], edge{j, w})
			rows[j] = append(rows[j], edge{int32(i), w})
		}
	}
	a := &Adjacency{N: n, Indptr: make([]int, n+1)}
	for i, r := range rows {
		slices.SortFunc(r, func(x, y edge) int { return int(x.j) - int(y.j) })
		for t := 0; t < len(r); t++ {
			if t > 0 && r[t].j == r[t-1].j {
				a.Weights[len(a.Weights)-1] += r[t].w
				continue
			}
			a.Indices = append(a.Indices, r[t].j)
			a.Weights = append(a.Weights, r[t].w)
		}
		a.Indptr[i+1] = len(a.Indices)
	}
	return a, nil
}

// Validate checks that a is a well-formed symmetric adjacency with finite
// non-negative weights and no self loops, and returns an error naming the
// first fault.
func (a *Adjacency) Validate() error {
	if a == nil {
		return fmt.Errorf("kernels: Adjacency: nil")
	}
	if a.N < 1 || len(a.Indptr) != a.N+1 || a.Indptr[0] != 0 || a.Indptr[a.N] != len(a.Indices) || len(a.Weights) != len(a.Indices) {
		return fmt.Errorf("kernels: Adjacency: inconsistent CSR arrays (N=%d, %d row pointers, %d indices, %d weights)", a.N, len(a.Indptr), len(a.Indices), len(a.Weights))
	}
	// Every row's pointers first: the symmetry check below reads other rows.
	for i := 0; i < a.N; i++ {
		if lo, hi := a.Indptr[i], a.Indptr[i+1]; lo > hi {
			return fmt.Errorf("kernels: Adjacency: row %d has pointers %d > %d", i, lo, hi)
		}
	}
	if a.validFast() {
		return nil
	}
	// A fault: the row-by-row check below names the first one.
	for i := 0; i < a.N; i++ {
		lo, hi := a.Indptr[i], a.Indptr[i+1]
		for p := lo; p < hi; p++ {
			j, w := a.Indices[p], a.Weights[p]
			if j < 0 || int(j) >= a.N || int(j) == i || (p > lo && j <= a.Indices[p-1]) {
				return fmt.Errorf("kernels: Adjacency: row %d has bad or unsorted neighbour %d", i, j)
			}
			if !(w >= 0) || math.IsInf(w, 0) {
				return fmt.Errorf("kernels: Adjacency: weight (%d,%d) = %v", i, j, w)
			}
			if wt, ok := a.weight(int(j), int32(i)); !ok || wt != w {
				return fmt.Errorf("kernels: Adjacency: not symmetric at (%d,%d): %v vs %v", i, j, w, wt)
			}
		}
	}
	return nil
}

// validFast reports whether a (with consistent row pointers) passes every
// check of Validate's row-by-row loop, in one sequential pass with a cursor
// per row instead of a binary search per edge. Rows are visited in
// increasing order i, so the edges (i, j) into row j arrive with increasing
// i: if a is symmetric, the cursor of row j sits exactly on the entry
// (j, i) when (i, j) is visited, and advancing it there walks row j in
// order. Conversely, if every edge (i, j) finds its cursor in row j on
// index i with an equal weight, the edges map one-to-one onto the entries
// (each cursor step consumes one entry of its row and there are as many
// steps as entries), so every (i, j) has its mirror (j, i) with the same
// weight: exactly Validate's symmetry condition.
func (a *Adjacency) validFast() bool {
	cur := make([]int, a.N)
	copy(cur, a.Indptr[:a.N])
	for i := 0; i < a.N; i++ {
		lo, hi := a.Indptr[i], a.Indptr[i+1]
		prev := int32(-1)
		for p := lo; p < hi; p++ {
			j, w := a.Indices[p], a.Weights[p]
			if j <= prev || int(j) >= a.N || int(j) == i || !(w >= 0) || math.IsInf(w, 0) {
				return false
			}
			prev = j
			q := cur[j]
			if q >= a.Indptr[j+1] || int(a.Indices[q]) != i || a.Weights[q] != w {
				return false
			}
			cur[j] = q + 1
		}
	}
	return true
}

func (a *Adjacency) weight(i int, j int32) (float64, bool) {
	r := a.Indices[a.Indptr[i]:a.Indptr[i+1]]
	p, ok := slices.BinarySearch(r, j)
	if !ok {
		return 0, false
	}
	return a.Weights[a.Indptr[i]+p], true
}
