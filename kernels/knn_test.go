package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"testing"
	"time"
)

// bruteKNN is the reference: float64 scores, full sort.
func bruteKNN(emb []float32, n, d, k int, m Metric) [][]int32 {
	out := make([][]int32, n)
	for i := 0; i < n; i++ {
		type c struct {
			s  float64
			id int32
		}
		var cs []c
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			var dot, ni, nj float64
			for t := 0; t < d; t++ {
				a, b := float64(emb[i*d+t]), float64(emb[j*d+t])
				dot += a * b
				ni += a * a
				nj += b * b
			}
			s := dot / math.Sqrt(ni*nj)
			if m == MetricL2 {
				s = -(ni + nj - 2*dot)
			}
			cs = append(cs, c{s, int32(j)})
		}
		sort.Slice(cs, func(a, b int) bool { return cs[a].s > cs[b].s })
		for t := 0; t < k; t++ {
			out[i] = append(out[i], cs[t].id)
		}
	}
	return out
}

func TestKNNMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []Metric{MetricCosine, MetricL2} {
		for _, nd := range [][2]int{{50, 3}, {101, 13}, {64, 32}} {
			n, d, k := nd[0], nd[1], 5
			emb := make([]float32, n*d)
			for i := range emb {
				emb[i] = float32(rng.NormFloat64())
			}
			got, err := KNN(emb, n, d, KNNOptions{K: k, Metric: m, Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			want := bruteKNN(emb, n, d, k, m)
			// Continuous random data: ties have probability 0, and float32
			// rounding reorders only near-equal scores, so compare as sets
			// allowing at most one swap at the boundary per row.
			bad := 0
			for i := 0; i < n; i++ {
				set := map[int32]bool{}
				for _, j := range want[i] {
					set[j] = true
				}
				for _, j := range got[i*k : (i+1)*k] {
					if !set[j] {
						bad++
					}
				}
			}
			if bad > n/50 {
				t.Errorf("metric %d n=%d d=%d: %d neighbours differ from brute force", m, n, d, bad)
			}
		}
	}
}

// TestKNNLargeTiming builds the K=32768, D=256, k=16 graph of docs/perf.md when
// SOFTDIFF_KNN_TIMING=1 and logs the time.
func TestKNNLargeTiming(t *testing.T) {
	if os.Getenv("SOFTDIFF_KNN_TIMING") == "" {
		t.Skip("set SOFTDIFF_KNN_TIMING=1")
	}
	n, d := 32768, 256
	emb := RandomEmbeddings(rand.New(rand.NewPCG(7, 7)), n, d)
	st := time.Now()
	nbr, err := KNN(emb, n, d, KNNOptions{K: 16})
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(st)
	adj, _ := NewKNNAdjacency(nbr, n, 16)
	t.Logf("KNN n=%d d=%d k=16: %v (%.1f GFLOP/s), %d edges, simd=%v", n, d, el, 2*float64(n)*float64(n)*float64(d)/el.Seconds()/1e9, len(adj.Indices), useSIMD)
}
