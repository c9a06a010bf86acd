package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
	"gonum.org/v1/gonum/mat"
)

// validRef is an independent statement of Validate's conditions on the
// entries (row pointers assumed consistent): indices in range, strictly
// increasing, no self loop; weights finite and ≥ 0; and every (i, j) has a
// mirror (j, i) with the same weight, looked up in a map.
func validRef(a *Adjacency) bool {
	type key struct{ i, j int32 }
	m := map[key]float64{}
	for i := 0; i < a.N; i++ {
		for p := a.Indptr[i]; p < a.Indptr[i+1]; p++ {
			j, w := a.Indices[p], a.Weights[p]
			if j < 0 || int(j) >= a.N || int(j) == i || (p > a.Indptr[i] && j <= a.Indices[p-1]) {
				return false
			}
			if !(w >= 0) || math.IsInf(w, 0) {
				return false
			}
			m[key{int32(i), j}] = w
		}
	}
	for k, w := range m {
		if wt, ok := m[key{k.j, k.i}]; !ok || wt != w {
			return false
		}
	}
	return true
}

// TestAdjacencyValidFast: Validate's one-pass cursor check (validFast)
// accepts exactly the adjacencies validRef accepts, on random symmetric
// graphs and on copies with one fault planted (a mirror entry dropped or
// moved, a mirror weight changed, an entry added or its index changed, a
// bad weight, a directed cycle); and Validate returns an error exactly then.
func TestAdjacencyValidFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 400; trial++ {
		n := 2 + rng.IntN(9)
		dense := make([]float64, n*n) // symmetric, zero diagonal
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if rng.IntN(2) == 0 {
					w := float64(1+rng.IntN(3)) / 4
					if rng.IntN(8) == 0 {
						w = 0 // a stored zero weight is allowed
					}
					dense[i*n+j], dense[j*n+i] = w, w
				}
			}
		}
		type entry struct {
			j int32
			w float64
		}
		rows := make([][]entry, n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if i != j && (dense[i*n+j] != 0) {
					rows[i] = append(rows[i], entry{int32(j), dense[i*n+j]})
				}
			}
		}
		// Fault (trial%8): 0 none; 1 drop an entry; 2 change a weight;
		// 3 add an entry without its mirror; 4 change an index; 5 a
		// negative, 6 a NaN, 7 an infinite weight; 8 a directed cycle
		// i → i+1 (mod n) of equal weights, n ≥ 3: every row and every
		// column has one entry, so only the index comparison, not the
		// cursor counts, can reject it.
		fault := trial % 9
		var pick func() (int, int, bool)
		pick = func() (int, int, bool) {
			var cand [][2]int
			for i, r := range rows {
				for q := range r {
					cand = append(cand, [2]int{i, q})
				}
			}
			if len(cand) == 0 {
				return 0, 0, false
			}
			c := cand[rng.IntN(len(cand))]
			return c[0], c[1], true
		}
		switch fault {
		case 1:
			if i, q, ok := pick(); ok {
				rows[i] = append(rows[i][:q:q], rows[i][q+1:]...)
			}
		case 2:
			if i, q, ok := pick(); ok {
				rows[i][q].w += 0.125
			}
		case 3:
			i := rng.IntN(n)
			j := (i + 1 + rng.IntN(n-1)) % n
			if dense[i*n+j] == 0 {
				r := rows[i]
				q := 0
				for q < len(r) && int(r[q].j) < j {
					q++
				}
				rows[i] = append(r[:q:q], append([]entry{{int32(j), 0.5}}, r[q:]...)...)
			}
		case 4:
			if i, q, ok := pick(); ok {
				rows[i][q].j = int32(rng.IntN(n + 1)) // may break order, range or symmetry, or change nothing
			}
		case 8:
			if n >= 3 {
				for i := range rows {
					rows[i] = []entry{{int32((i + 1) % n), 0.5}}
				}
			}
		case 5, 6, 7:
			if i, q, ok := pick(); ok {
				rows[i][q].w = []float64{-0.25, math.NaN(), math.Inf(1)}[fault-5]
			}
		}
		a := &Adjacency{N: n, Indptr: make([]int, n+1)}
		for i, r := range rows {
			for _, e := range r {
				a.Indices = append(a.Indices, e.j)
				a.Weights = append(a.Weights, e.w)
			}
			a.Indptr[i+1] = len(a.Indices)
		}
		want := validRef(a)
		if got := a.validFast(); got != want {
			t.Fatalf("trial %d (fault %d): validFast = %v, reference %v: %+v", trial, fault, got, want, a)
		}
		if err := a.Validate(); (err == nil) != want {
			t.Fatalf("trial %d (fault %d): Validate = %v, reference %v: %+v", trial, fault, err, want, a)
		}
	}
}

// TestGraphActionShortSeries: the one-, two- and three-term series (the
// special first and last Clenshaw steps), on 1, 17 and 33 rows (one, two
// and three panels, the last partial) of a 43-node graph (not a multiple
// of the 8-node transposition tile), in place and not, on 1 and 3 workers,
// against exp(τR)·v from a dense eigendecomposition (gonum). The series
// bound gives |error| ≤ Tol·‖v‖₂ per row; the term counts follow from
// c_k ≈ 2(z/2)^k/k! for z = τh ≪ 1 and the tail rule Σ_{k>N} c_k ≤ Tol:
// z = 1e-11 keeps only c_0 (c_1 ≈ 1e-11), z = 1e-6 stops after c_1
// (c_2 ≈ 2.5e-13), z = 1e-3 after c_2 (c_3 ≈ 4e-11).
func TestGraphActionShortSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	n, d, k := 43, 4, 3
	emb := RandomEmbeddings(rng, n, d)
	nbr, _ := KNN(emb, n, d, KNNOptions{K: k})
	adj, _ := NewKNNAdjacency(nbr, n, k)
	r := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		var dg float64
		for p := adj.Indptr[i]; p < adj.Indptr[i+1]; p++ {
			r.SetSym(i, int(adj.Indices[p]), adj.Weights[p])
			dg += adj.Weights[p]
		}
		r.SetSym(i, i, -dg)
	}
	var e mat.EigenSym
	e.Factorize(r, true)
	var vecs mat.Dense
	e.VectorsTo(&vecs)
	vals := e.Values(nil)
	for _, workers := range []int{1, 3} {
		g, err := NewGraph(adj, soft.NoToken, nil, GraphOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		h := g.SpectralHalfWidth()
		for _, c := range []struct {
			z     float64
			terms int
		}{{1e-11, 1}, {1e-6, 2}, {1e-3, 3}, {0.5, -1}} {
			tau := c.z / h
			for _, rows := range []int{1, 17, 33} {
				src := make([]float64, rows*n)
				for i := range src {
					src[i] = rng.NormFloat64()
				}
				got := make([]float64, rows*n)
				terms := g.Action(got, src, rows, tau, 0)
				if c.terms > 0 && terms != c.terms {
					t.Fatalf("z=%g: %d terms, want %d", c.z, terms, c.terms)
				}
				inplace := append([]float64(nil), src...)
				g.Action(inplace, inplace, rows, tau, 0)
				for rr := 0; rr < rows; rr++ {
					var e2, v2 float64
					for j := 0; j < n; j++ {
						var w float64
						for m := 0; m < n; m++ {
							var proj float64
							for i := 0; i < n; i++ {
								proj += src[rr*n+i] * vecs.At(i, m)
							}
							w += proj * math.Exp(tau*vals[m]) * vecs.At(j, m)
						}
						x := got[rr*n+j]
						if math.Float64bits(inplace[rr*n+j]) != math.Float64bits(x) {
							t.Fatalf("z=%g rows=%d: in-place result %v differs from %v", c.z, rows, inplace[rr*n+j], x)
						}
						e2 += (x - w) * (x - w)
						v2 += src[rr*n+j] * src[rr*n+j]
					}
					if !(math.Sqrt(e2) <= DefaultExpmTol*math.Sqrt(v2)+1e-13) {
						t.Fatalf("workers=%d z=%g rows=%d row %d: error %g > Tol·‖v‖ = %g", workers, c.z, rows, rr, math.Sqrt(e2), DefaultExpmTol*math.Sqrt(v2))
					}
				}
			}
		}
	}
}
