package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"
)

// genGraph draws a small kNN graph over random embeddings.
func genGraph(t *rapid.T) (*Adjacency, []float32, int) {
	n := rapid.IntRange(3, 9).Draw(t, "n")
	d := rapid.IntRange(1, 4).Draw(t, "d")
	k := rapid.IntRange(1, min(3, n-1)).Draw(t, "k")
	emb := RandomEmbeddings(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "eseed"), 5)), n, d)
	m := Metric(rapid.IntRange(0, 1).Draw(t, "metric"))
	nbr, err := KNN(emb, n, d, KNNOptions{K: k, Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	adj, err := NewKNNAdjacency(nbr, n, k)
	if err != nil {
		t.Fatal(err)
	}
	return adj, emb, d
}

// spectralGap returns −λ₂ of R = A − diag(A1), by dense eigendecomposition.
func spectralGap(adj *Adjacency) float64 {
	n := adj.N
	r := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		var d float64
		for p := adj.Indptr[i]; p < adj.Indptr[i+1]; p++ {
			r.SetSym(i, int(adj.Indices[p]), adj.Weights[p])
			d += adj.Weights[p]
		}
		r.SetSym(i, i, -d)
	}
	var e mat.EigenSym
	if !e.Factorize(r, false) {
		panic("eigen")
	}
	v := e.Values(nil) // ascending
	return -v[n-2]
}

func TestGraphProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		adj, _, _ := genGraph(t)
		sch := genSchedule(t)
		mask := soft.NoToken
		if rapid.Bool().Draw(t, "hasMask") {
			mask = int32(rapid.IntRange(0, adj.N).Draw(t, "mask"))
		}
		g, err := NewGraph(adj, mask, sch, GraphOptions{Scale: rapid.Float64Range(0.5, 20).Draw(t, "scale"), MaskRate: rapid.Float64Range(0.5, 3).Draw(t, "mrate")})
		if err != nil {
			t.Fatal(err)
		}
		tau, keep := g.Tau(0, 1)
		var tol float64
		if mask != soft.NoToken {
			tol = keep + 1e-6
		} else {
			// |exp(τR)_ij − 1/N| ≤ e^{−gap·τ} for symmetric R (spectral
			// expansion, Cauchy–Schwarz on the eigenvectors).
			// A disconnected graph has no single limit: endpoint unchecked.
			tol = 1
			if g.Connected() {
				tol = math.Exp(-spectralGap(adj)*tau) + 1e-5
			}
		}
		checkKernel(t, g, tol)
	})
}

func TestGraphActionMatchesDense(t *testing.T) {
	// Reference: dense exp(τR) by eigendecomposition (gonum), on a kNN graph
	// of 40 random points.
	rng := rand.New(rand.NewPCG(11, 12))
	n, d, k := 40, 5, 4
	emb := RandomEmbeddings(rng, n, d)
	nbr, _ := KNN(emb, n, d, KNNOptions{K: k})
	adj, _ := NewKNNAdjacency(nbr, n, k)
	g, err := NewGraph(adj, soft.NoToken, nil, GraphOptions{Tol: 1e-14, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
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
	for _, tau := range []float64{0.1, 1, 10, 100} {
		rows := 3
		src := make([]float64, rows*n)
		for i := range src {
			src[i] = rng.Float64()
		}
		got := make([]float64, rows*n)
		terms := g.Action(got, src, rows, tau, 1e-14)
		// want = src · V diag(e^{τλ}) Vᵀ
		for rr := 0; rr < rows; rr++ {
			for j := 0; j < n; j++ {
				var w float64
				for m := 0; m < n; m++ {
					var proj float64
					for i := 0; i < n; i++ {
						proj += src[rr*n+i] * vecs.At(i, m)
					}
					w += proj * math.Exp(tau*vals[m]) * vecs.At(j, m)
				}
				if !(math.Abs(got[rr*n+j]-w) <= 1e-11) {
					t.Fatalf("τ=%v row %d col %d: %v want %v (%d terms)", tau, rr, j, got[rr*n+j], w, terms)
				}
			}
		}
	}
}

func TestSpectralHalfWidthBound(t *testing.T) {
	// The edge bound must contain the spectrum: λ_max(−R) ≤ 2·hw, checked
	// by dense eigendecomposition on random kNN graphs with uneven degrees.
	rapid.Check(t, func(t *rapid.T) {
		adj, _, _ := genGraph(t)
		g, err := NewGraph(adj, soft.NoToken, nil, GraphOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := adj.N
		r := mat.NewSymDense(n, nil)
		for i := 0; i < n; i++ {
			var d float64
			for p := adj.Indptr[i]; p < adj.Indptr[i+1]; p++ {
				r.SetSym(i, int(adj.Indices[p]), adj.Weights[p])
				d += adj.Weights[p]
			}
			r.SetSym(i, i, -d)
		}
		var e mat.EigenSym
		e.Factorize(r, false)
		if lo := e.Values(nil)[0]; !(-lo <= 2*g.SpectralHalfWidth()*(1+1e-12)) {
			t.Fatalf("λ_min(R) = %v outside [−2hw, 0], hw = %v", lo, g.SpectralHalfWidth())
		}
		if !(g.SpectralHalfWidth() <= g.MaxDegree()) {
			t.Fatalf("hw %v > max degree %v", g.SpectralHalfWidth(), g.MaxDegree())
		}
	})
}
