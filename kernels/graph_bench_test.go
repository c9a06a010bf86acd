package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

var benchGraph struct {
	once  sync.Once
	g     *Graph
	src   *soft.Dense
	src64 []float64
}

// setupBenchGraph builds docs/perf.md's benchmark graph once: kNN (k = 16,
// cosine) of K = 32768 standard-normal embeddings in D = 256 (about 20 s),
// under the Linear schedule with Scale 1, so τ(0,t) = −log(1 − t); and 64
// one-hot rows of random tokens.
func setupBenchGraph() {
	benchGraph.once.Do(func() {
		const n, d, k, rows = 32768, 256, 16, 64
		rng := rand.New(rand.NewPCG(1, 0))
		emb := RandomEmbeddings(rng, n, d)
		nbr, err := KNN(emb, n, d, KNNOptions{K: k})
		if err != nil {
			panic(err)
		}
		adj, err := NewKNNAdjacency(nbr, n, k)
		if err != nil {
			panic(err)
		}
		g, err := NewGraph(adj, soft.NoToken, Linear{}, GraphOptions{})
		if err != nil {
			panic(err)
		}
		benchGraph.g = g
		ids := make([]int32, rows)
		for i := range ids {
			ids[i] = int32(rng.IntN(n))
		}
		benchGraph.src, _ = soft.FromTokens(ids, n)
		benchGraph.src64 = make([]float64, rows*n)
		for r, v := range ids {
			benchGraph.src64[r*n+int(v)] = 1
		}
	})
}

// BenchmarkGraphTransition: Transition on 64 one-hot float32 rows of the
// K = 32768, k = 16 kNN graph at τ ∈ {0.1, 1, 10} (series tol 1e-10).
func BenchmarkGraphTransition(b *testing.B) {
	setupBenchGraph()
	src := benchGraph.src
	dst := soft.NewDense(src.L, src.K)
	for _, tau := range []float64{0.1, 1, 10} {
		b.Run(fmt.Sprintf("tau=%g", tau), func(b *testing.B) {
			t := 1 - math.Exp(-tau) // Linear: σ(t) = −log(1 − t) = τ
			b.ReportAllocs()
			for b.Loop() {
				benchGraph.g.Transition(dst, src, 0, t)
			}
		})
	}
}

// BenchmarkGraphAction: the float64 action exp(τR) on the same rows.
func BenchmarkGraphAction(b *testing.B) {
	setupBenchGraph()
	src := benchGraph.src64
	dst := make([]float64, len(src))
	rows := benchGraph.src.L
	for _, tau := range []float64{0.1, 1, 10} {
		b.Run(fmt.Sprintf("tau=%g", tau), func(b *testing.B) {
			b.ReportAllocs()
			terms := 0
			for b.Loop() {
				terms = benchGraph.g.Action(dst, src, rows, tau, 0)
			}
			b.ReportMetric(float64(terms), "terms")
		})
	}
}
