package kernels

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// PPMIOptions configures PPMIEmbeddings. Zero values take the defaults.
type PPMIOptions struct {
	// Window is the number of tokens on each side that count as context.
	// Default 2.
	Window int
	// Dim is the embedding dimension, at most n. Default min(32, n).
	Dim int
	// Alpha is the exponent of context-distribution smoothing,
	// P_α(c) ∝ count(c)^α (Levy, Goldberg and Dagan 2015). Default 0.75;
	// 1 is plain PPMI.
	Alpha float64
}

// PPMIEmbeddings returns token embeddings derived from the co-occurrence
// statistics of the token sequences seqs, over the token ids 0..n−1: a
// token geometry for the graph (KNN, NewKNNAdjacency) and hierarchical
// (BisectHierarchy) kernels, computed from data alone and deterministic
// (the same input gives the same bytes).
//
// Construction (docs/kernels.md, "Token geometry"):
//
//  1. counts C(w, c): the number of times token c lies within Window
//     positions of token w in the same sequence (both orders, so C is
//     symmetric), accumulated in float64 in sequence order;
//  2. positive pointwise mutual information with smoothed contexts,
//     M(w, c) = max(0, log(P(w, c) / (P(w)·P_α(c)))), P(w, c) = C(w, c)/N,
//     P(w) = Σ_c C(w, c)/N, P_α(c) = C(c)^α / Σ_c' C(c')^α, N = Σ C;
//  3. the truncated SVD M ≈ U_d Σ_d V_dᵀ (gonum's mat.SVD), embeddings
//     E = U_d Σ_d^{1/2} (the symmetric weighting), each column's sign fixed
//     so that its entry of largest magnitude (the first on ties) is
//     positive, each row scaled to unit length so that cosine and Euclidean
//     geometry agree.
//
// The result is n×Dim row-major float32. It returns an error for n < 2,
// an id outside [0, n) (naming the sequence and position), options out of
// range, or a token whose embedding is zero (it never occurs with a
// context, or all its PMI values are negative): the geometry says nothing
// about such a token.
func PPMIEmbeddings(seqs [][]int32, n int, opt PPMIOptions) ([]float32, error) {
	if n < 2 {
		return nil, fmt.Errorf("kernels: PPMIEmbeddings: n = %d, need at least 2 tokens", n)
	}
	win, dim, alpha := opt.Window, opt.Dim, opt.Alpha
	if win == 0 {
		win = 2
	}
	if dim == 0 {
		dim = min(32, n)
	}
	if alpha == 0 {
		alpha = 0.75
	}
	if win < 1 || dim < 1 || dim > n || !(alpha > 0 && alpha <= 1) {
		return nil, fmt.Errorf("kernels: PPMIEmbeddings: need Window ≥ 1, 1 ≤ Dim ≤ n = %d and 0 < Alpha ≤ 1, got %+v", n, opt)
	}
	for s, x := range seqs {
		for i, v := range x {
			if v < 0 || int(v) >= n {
				return nil, fmt.Errorf("kernels: PPMIEmbeddings: sequence %d position %d has id %d outside [0, %d)", s, i, v, n)
			}
		}
	}
	c := make([]float64, n*n)
	for _, x := range seqs {
		for i, w := range x {
			for j := i + 1; j < len(x) && j <= i+win; j++ {
				c[int(w)*n+int(x[j])]++
				c[int(x[j])*n+int(w)]++
			}
		}
	}
	row := make([]float64, n) // C(w) = Σ_c C(w, c) = C(c) by symmetry
	var total, ztot float64
	for w := 0; w < n; w++ {
		for _, x := range c[w*n : (w+1)*n] {
			row[w] += x
		}
		total += row[w]
	}
	ctx := make([]float64, n)
	for v, x := range row {
		ctx[v] = math.Pow(x, alpha)
		ztot += ctx[v]
	}
	m := mat.NewDense(n, n, nil)
	for w := 0; w < n; w++ {
		if row[w] == 0 {
			continue
		}
		for v := 0; v < n; v++ {
			x := c[w*n+v]
			if x == 0 {
				continue
			}
			// log( (x/N) / ((C(w)/N)·(ctx(v)/Z)) )
			if pmi := math.Log(x * ztot / (row[w] * ctx[v])); pmi > 0 {
				m.Set(w, v, pmi)
			}
		}
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDThin) {
		return nil, fmt.Errorf("kernels: PPMIEmbeddings: the SVD did not converge")
	}
	var u mat.Dense
	svd.UTo(&u)
	sv := svd.Values(nil)
	emb := make([]float64, n*dim)
	for j := 0; j < dim; j++ {
		// Sign: the entry of largest magnitude is positive.
		best, sign := 0.0, 1.0
		for i := 0; i < n; i++ {
			if a := math.Abs(u.At(i, j)); a > best {
				best = a
				sign = math.Copysign(1, u.At(i, j))
			}
		}
		sc := sign * math.Sqrt(sv[j])
		for i := 0; i < n; i++ {
			emb[i*dim+j] = sc * u.At(i, j)
		}
	}
	out := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		var nn float64
		for _, x := range emb[i*dim : (i+1)*dim] {
			nn += x * x
		}
		if !(nn > 0) {
			return nil, fmt.Errorf("kernels: PPMIEmbeddings: token %d has a zero embedding (no positive co-occurrence within the window)", i)
		}
		inv := 1 / math.Sqrt(nn)
		for j, x := range emb[i*dim : (i+1)*dim] {
			out[i*dim+j] = float32(x * inv)
		}
	}
	return out, nil
}
