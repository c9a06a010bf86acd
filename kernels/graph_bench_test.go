package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// randomAdjacency returns a symmetric graph where each node links to k
// random others (weights 1/(2k)): the shape of a kNN graph, built in
// milliseconds.
func randomAdjacency(rng *rand.Rand, n, k int) *Adjacency {
	nbr := make([]int32, n*k)
	for i := 0; i < n; i++ {
		for t := 0; t < k; t++ {
			j := rng.IntN(n - 1)
			if j >= i {
				j++
			}
			nbr[i*k+t] = int32(j)
		}
	}
	a, err := NewKNNAdjacency(nbr, n, k)
	if err != nil {
		panic(err)
	}
	return a
}

var benchGraph struct {
	once sync.Once
	g    *Graph
	src  []float64
}

// BenchmarkGraphAction: exp(τR) on 64 one-hot rows of a K = 32768 graph
// with 16 random neighbours per node (kNN-shaped; the true kNN graph of the
// issue is timed by kernels/internal/expmbench, see docs/perf.md).
func BenchmarkGraphAction(b *testing.B) {
	const n, rows = 32768, 64
	benchGraph.once.Do(func() {
		rng := rand.New(rand.NewPCG(1, 1))
		g, err := NewGraph(randomAdjacency(rng, n, 16), soft.NoToken, nil, GraphOptions{})
		if err != nil {
			panic(err)
		}
		benchGraph.g = g
		benchGraph.src = make([]float64, rows*n)
		for r := 0; r < rows; r++ {
			benchGraph.src[r*n+rng.IntN(n)] = 1
		}
	})
	dst := make([]float64, rows*n)
	for _, tau := range []float64{0.1, 1, 10} {
		b.Run(fmt.Sprintf("tau=%g", tau), func(b *testing.B) {
			b.ReportAllocs()
			terms := 0
			for b.Loop() {
				terms = benchGraph.g.Action(dst, benchGraph.src, rows, tau, 0)
			}
			b.ReportMetric(float64(terms), "terms")
		})
	}
}
