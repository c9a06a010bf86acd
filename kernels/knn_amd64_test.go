//go:build amd64

package kernels

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// TestMain runs the whole package on the pure-Go kernels when
// SOFTDIFF_NOASM is set (what non-amd64 machines and CPUs without AVX2 run).
func TestMain(m *testing.M) {
	if os.Getenv("SOFTDIFF_NOASM") != "" {
		useAVX = false
	}
	os.Exit(m.Run())
}

// TestKNNPureGoPath runs KNN and the graph action with the assembly kernels
// switched off and compares with the assembly path.
func TestKNNPureGoPath(t *testing.T) {
	if !useAVX {
		t.Skip("assembly off (no AVX2/FMA, or SOFTDIFF_NOASM): every test runs the pure-Go path")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n, d, k := 90, 20, 4
	emb := RandomEmbeddings(rng, n, d)
	fast, _ := KNN(emb, n, d, KNNOptions{K: k})
	useAVX = false
	slow, _ := KNN(emb, n, d, KNNOptions{K: k})
	adj, _ := NewKNNAdjacency(fast, n, k)
	g, _ := NewGraph(adj, -1, nil, GraphOptions{})
	src := make([]float64, 3*n)
	src[5], src[n+7], src[2*n+80] = 1, 1, 1
	a := make([]float64, 3*n)
	g.Action(a, src, 3, 2, 1e-12)
	useAVX = true
	b := make([]float64, 3*n)
	g.Action(b, src, 3, 2, 1e-12)
	if !slices.Equal(fast, slow) {
		t.Error("pure-Go KNN differs from the assembly path")
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-14 || d < -1e-14 {
			t.Fatalf("graph action differs at %d: %v vs %v", i, a[i], b[i])
		}
	}
}
