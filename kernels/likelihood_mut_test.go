package kernels

import (
	"math"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// Tests written to kill surviving mutants of likelihood.go.

func TestGraphLikelihoodManyRows(t *testing.T) {
	// Two nodes joined by a unit edge plus MASK (state 2); Linear, s = 0,
	// t = 0.5: τ = ln 2, exp(τR) = [[5/8, 3/8], [3/8, 5/8]], keep = α = ½.
	// Column of token x: keep·exp(τR)[x, v] on tokens, 0 on MASK; column of
	// MASK: 1 − keep on tokens, 1 on MASK. 70 ids (two blocks of 64).
	adj := &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{1, 1}}
	g, err := NewGraph(adj, 2, Linear{}, GraphOptions{Tol: 1e-14})
	if err != nil {
		t.Fatal(err)
	}
	want := [3][3]float64{{0.3125, 0.1875, 0}, {0.1875, 0.3125, 0}, {0.5, 0.5, 1}}
	L := 70
	xt := make([]int32, L)
	for i := range xt {
		xt[i] = int32((i * 7) % 3)
	}
	dst := soft.NewDense(L, 3)
	g.Likelihood(dst, xt, 0, 0.5)
	for i, x := range xt {
		for v := 0; v < 3; v++ {
			if got := float64(dst.Row(i)[v]); !(math.Abs(got-want[x][v]) <= 1e-6) {
				t.Fatalf("row %d (xt=%d) v=%d: %v, want %v", i, x, v, got, want[x][v])
			}
		}
	}
	// xt = K is the caller's mistake, named as such.
	func() {
		defer func() {
			r := recover()
			if s, ok := r.(string); !ok || !strings.Contains(s, "outside [0, 3)") {
				t.Errorf("xt = K: panic %v", r)
			}
		}()
		g.Likelihood(soft.NewDense(1, 3), []int32{3}, 0, 0.5)
	}()
}
