package kernels

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// TestConcurrentUse calls Transition and Posterior of every kernel from
// several goroutines at once (run with -race) and checks each result
// against a serial computation.
func TestConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	n, d := 40, 4
	emb := RandomEmbeddings(rng, n, d)
	nbr, _ := KNN(emb, n, d, KNNOptions{K: 3})
	adj, _ := NewKNNAdjacency(nbr, n, 3)
	g, _ := NewGraph(adj, int32(n), nil, GraphOptions{})
	hy, _ := BisectHierarchy(emb, n, d)
	h, _ := NewHierarchical(hy, int32(n), nil, nil)
	w := make([]float64, n+1)
	for i := range w {
		w[i] = 0.5 + rng.Float64()
	}
	ia, _ := NewInfoAbsorbing(n+1, int32(n), w, nil)
	ks := []Kernel{must(NewAbsorbing(n+1, int32(n), nil)), must(NewUniform(n+1, int32(n), nil)), ia, g, h}
	src := randomRows(rng, 20, n+1)
	for _, k := range ks {
		want := soft.NewDense(src.L, src.K)
		k.Transition(want, src, 0.2, 0.7)
		wantPost := make([]float32, n+1)
		if err := k.(Posteriorer).Posterior(wantPost, src.Row(1), src.Row(2), 0.2, 0.7); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				got := soft.NewDense(src.L, src.K)
				post := make([]float32, n+1)
				for range 5 {
					k.Transition(got, src, 0.2, 0.7)
					if !slices.Equal(got.Data, want.Data) {
						t.Errorf("%T: concurrent Transition differs", k)
						return
					}
					if err := k.(Posteriorer).Posterior(post, src.Row(1), src.Row(2), 0.2, 0.7); err != nil || !slices.Equal(post, wantPost) {
						t.Errorf("%T: concurrent Posterior differs (%v)", k, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

func TestAccessors(t *testing.T) {
	// Every kernel reports its MASK state and schedule as constructed.
	type masked interface {
		Mask() int32
		Schedule() Schedule
	}
	adj, _ := NewKNNAdjacency([]int32{1, 0, 1}, 3, 1)
	g, _ := NewGraph(adj, soft.NoToken, Linear{}, GraphOptions{})
	hy := &Hierarchy{N: 3, Labels: [][]int32{{0, 0, 1}}}
	h, _ := NewHierarchical(hy, 3, nil, Linear{})
	ia, _ := NewInfoAbsorbing(4, 2, []float64{1, 1, 1, 1}, Linear{})
	for _, c := range []struct {
		k    masked
		mask int32
	}{{must(NewAbsorbing(4, 1, Linear{})), 1}, {must(NewUniform(4, soft.NoToken, Linear{})), soft.NoToken}, {ia, 2}, {g, soft.NoToken}, {h, 3}} {
		if c.k.Mask() != c.mask || c.k.Schedule() != (Linear{}) {
			t.Errorf("%T: mask %d schedule %v", c.k, c.k.Mask(), c.k.Schedule())
		}
	}
}
