package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// TestMain runs the whole package on the pure-Go kernels when
// SOFTDIFF_NOSIMD is set (SOFTDIFF_NOASM, its old name, is still read): what
// the default build, non-amd64 machines and CPUs without AVX2/FMA run.
func TestMain(m *testing.M) {
	if os.Getenv("SOFTDIFF_NOSIMD") != "" || os.Getenv("SOFTDIFF_NOASM") != "" {
		useSIMD = false
	}
	os.Exit(m.Run())
}

// TestSpmvAgree compares the vector panel product with spmvGo on random
// panels, index lists of even and odd length (with repeats) and weights. The
// vector kernel fuses multiply-adds and sums even and odd terms separately,
// so the tolerance is (nnz+2)·2⁻⁵³·(|y| + Σ_p|w_p·x_p|) per entry: each
// side's float64 rounding error is at most nnz+1 ulps of that sum.
func TestSpmvAgree(t *testing.T) {
	if !useSIMD {
		t.Skip("no vector kernel in this build (needs GOEXPERIMENT=simd, amd64, AVX2+FMA)")
	}
	rng := rand.New(rand.NewPCG(8, 9))
	nodes := 50
	cur := make([]float64, nodes*panel)
	for i := range cur {
		cur[i] = rng.NormFloat64()
	}
	for _, nnz := range []int{1, 2, 3, 16, 33} {
		idx := make([]int32, nnz)
		w := make([]float64, nnz)
		for p := range idx {
			idx[p] = int32(rng.IntN(nodes))
			w[p] = rng.Float64()
		}
		var y0 [panel]float64
		for r := range y0 {
			y0[r] = rng.NormFloat64()
		}
		a, b := y0, y0
		spmvVec(&a, cur, idx, w)
		spmvGo(&b, cur, idx, w)
		for r := range a {
			abs := math.Abs(y0[r])
			for p, j := range idx {
				abs += math.Abs(w[p] * cur[int(j)*panel+r])
			}
			tol := float64(nnz+2) * 0x1p-53 * abs
			if !(math.Abs(a[r]-b[r]) <= tol) {
				t.Errorf("nnz=%d r=%d: vector %v, Go %v (tol %g)", nnz, r, a[r], b[r], tol)
			}
		}
	}
}

// TestKNNPureGoPath runs KNN and the graph action with the vector kernels
// switched off and compares with the vector path.
func TestKNNPureGoPath(t *testing.T) {
	if !useSIMD {
		t.Skip("vector kernels off (default build, no AVX2/FMA, or SOFTDIFF_NOSIMD): every test runs the pure-Go path")
	}
	defer func() { useSIMD = true }()
	rng := rand.New(rand.NewPCG(5, 6))
	n, d, k := 90, 20, 4
	emb := RandomEmbeddings(rng, n, d)
	fast, _ := KNN(emb, n, d, KNNOptions{K: k})
	useSIMD = false
	slow, _ := KNN(emb, n, d, KNNOptions{K: k})
	adj, _ := NewKNNAdjacency(fast, n, k)
	g, _ := NewGraph(adj, -1, nil, GraphOptions{})
	src := make([]float64, 3*n)
	src[5], src[n+7], src[2*n+80] = 1, 1, 1
	a := make([]float64, 3*n)
	g.Action(a, src, 3, 2, 1e-12)
	useSIMD = true
	b := make([]float64, 3*n)
	g.Action(b, src, 3, 2, 1e-12)
	if !slices.Equal(fast, slow) {
		t.Error("pure-Go KNN differs from the vector path")
	}
	for i := range a {
		if d := a[i] - b[i]; !(math.Abs(d) <= 1e-14) {
			t.Fatalf("graph action differs at %d: %v vs %v", i, a[i], b[i])
		}
	}
}

// BenchmarkSpmvPanel times spmvPanel (vector or Go, whichever is in use) on
// a 32768-node panel buffer (4 MiB, as in the graph benchmark) with 18
// random neighbours per node, over all nodes.
func BenchmarkSpmvPanel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	nodes, deg := 32768, 18
	cur := make([]float64, nodes*panel)
	for i := range cur {
		cur[i] = rng.NormFloat64()
	}
	idx := make([]int32, nodes*deg)
	w := make([]float64, nodes*deg)
	for p := range idx {
		idx[p] = int32(rng.IntN(nodes))
		w[p] = rng.Float64()
	}
	var y [panel]float64
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < nodes; i++ {
			spmvPanel(&y, cur, idx[i*deg:(i+1)*deg], w[i*deg:(i+1)*deg])
		}
	}
}
