package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// TestTabulatedMatchesBase: at the tabulated pairs Transition, Marginal and
// Likelihood equal the wrapped graph kernel's (the dense product sums the
// same float32 matrix entries in float64: ±1e-6), elsewhere they are the
// wrapped kernel's exactly.
func TestTabulatedMatchesBase(t *testing.T) {
	const n = 12
	emb := RandomEmbeddings(rand.New(rand.NewPCG(3, 4)), n, 4)
	nbr, err := KNN(emb, n, 4, KNNOptions{K: 3, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	adj, err := NewKNNAdjacency(nbr, n, 3)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGraph(adj, n, nil, GraphOptions{Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{1, 0.75, 0.5, 0.25, 0}
	tb, err := NewTabulated(g, times, []float64{0.8, 0.3})
	if err != nil {
		t.Fatal(err)
	}
	K := n + 1
	src := randomRows(rand.New(rand.NewPCG(5, 6)), 7, K)
	xt := []int32{0, 3, n, 5, 11, n, 2}
	for _, p := range [][2]float64{{0, 1}, {0, 0.5}, {0.75, 1}, {0.25, 0.5}, {0.3, 0.8}, {0.2, 0.7}} {
		a, b := soft.NewDense(7, K), soft.NewDense(7, K)
		g.Transition(a, src, p[0], p[1])
		tb.Transition(b, src, p[0], p[1])
		la, lb := soft.NewDense(7, K), soft.NewDense(7, K)
		g.Likelihood(la, xt, p[0], p[1])
		tb.Likelihood(lb, xt, p[0], p[1])
		for i := range a.Data {
			if !(math.Abs(float64(a.Data[i]-b.Data[i])) <= 1e-6) {
				t.Fatalf("Transition%v entry %d: %v, base %v", p, i, b.Data[i], a.Data[i])
			}
			if !(math.Abs(float64(la.Data[i]-lb.Data[i])) <= 1e-6) {
				t.Fatalf("Likelihood%v entry %d: %v, base %v", p, i, lb.Data[i], la.Data[i])
			}
		}
	}
	if _, ok := tb.table[[2]float64{0.25, 0.5}]; !ok {
		t.Error("consecutive pair (0.25, 0.5) not tabulated")
	}
	if _, ok := tb.table[[2]float64{0.3, 0.8}]; !ok {
		t.Error("pair (0.3, 0.8) of the second grid not tabulated")
	}
	if _, ok := tb.table[[2]float64{0.25, 0.8}]; ok {
		t.Error("pair (0.25, 0.8) across grids tabulated")
	}
	if tb.Mask() != n || tb.States() != K {
		t.Errorf("Mask %d, States %d", tb.Mask(), tb.States())
	}
	for _, bad := range [][]float64{{0.5, 1.5}, {math.NaN()}, {-0.1}} {
		if _, err := NewTabulated(g, times, bad); err == nil {
			t.Errorf("NewTabulated(%v) accepted", bad)
		}
	}
	if _, err := NewTabulated(nil, times); err == nil {
		t.Error("NewTabulated(nil) accepted")
	}
}
