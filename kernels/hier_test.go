package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

func genHier(t *rapid.T) (*Hierarchical, int32) {
	n := rapid.IntRange(2, 9).Draw(t, "n")
	d := rapid.IntRange(1, 3).Draw(t, "d")
	emb := RandomEmbeddings(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "eseed"), 9)), n, d)
	h, err := BisectHierarchy(emb, n, d)
	if err != nil {
		t.Fatal(err)
	}
	mask := soft.NoToken
	levels := len(h.Labels)
	if rapid.Bool().Draw(t, "hasMask") {
		mask = int32(rapid.IntRange(0, n).Draw(t, "mask"))
		levels++
	}
	w := make([]float64, levels)
	for i := range w {
		w[i] = rapid.Float64Range(0.2, 4).Draw(t, "w")
	}
	k, err := NewHierarchical(h, mask, w, genSchedule(t))
	if err != nil {
		t.Fatal(err)
	}
	return k, mask
}

func TestHierarchicalProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k, _ := genHier(t)
		// Endpoint: Q(0,1) = Σ_l P(l*=l)U_l; rows equal the prior except for
		// the mass Π_l a_l(0,1)-weighted lower levels, bounded by the top
		// clock's survival a_top = (α(1)/α(0))^{w_top}.
		tol := math.Pow(alphaRatio(k.sched, 0, 1), k.w[len(k.w)-1]) + 1e-6
		checkKernel(t, k, tol)
		// Prob (O(depth) per entry) equals the matrix from Transition.
		s, _, tt := genTimes(t)
		q := matrix(k, s, tt)
		K := k.States()
		for u := 0; u < K; u++ {
			for y := 0; y < K; y++ {
				if p := k.Prob(int32(u), int32(y), s, tt); !(math.Abs(p-float64(q.Data[u*K+y])) <= 1e-6) {
					t.Fatalf("Prob(%d,%d) = %v, Transition %v", u, y, p, q.Data[u*K+y])
				}
			}
		}
	})
}

func TestHierarchySameCluster(t *testing.T) {
	// P(same cluster at level l) is non-increasing in t and non-decreasing
	// in l (clusters are nested), and at l = 0 it equals Prob(u, u).
	rapid.Check(t, func(t *rapid.T) {
		k, mask := genHier(t)
		u := int32(rapid.IntRange(0, k.States()-1).Draw(t, "u"))
		if u == mask {
			return
		}
		L := k.Levels() + 1
		prev := make([]float64, L)
		for i := range prev {
			prev[i] = 1
		}
		cur := make([]float64, L)
		for step := 0; step <= 20; step++ {
			tt := float64(step) / 20
			k.SameCluster(cur, u, tt)
			for l := 0; l < L; l++ {
				if !(cur[l] <= prev[l]+1e-12) {
					t.Fatalf("level %d: P(same) rose from %v to %v at t=%v", l, prev[l], cur[l], tt)
				}
				if l > 0 && !(cur[l] >= cur[l-1]-1e-12) {
					t.Fatalf("t=%v: P(same at %d) = %v < P(same at %d) = %v", tt, l, cur[l], l-1, cur[l-1])
				}
			}
			if p := k.Prob(u, u, 0, tt); !(math.Abs(p-cur[0]) <= 1e-12) {
				t.Fatalf("SameCluster[0] = %v, Prob(u,u) = %v", cur[0], p)
			}
			copy(prev, cur)
		}
	})
}

func TestBisectHierarchy(t *testing.T) {
	// Two well-separated groups in 2-D: the top split must separate them.
	emb := []float32{0, 0, 0.1, 0, 0, 0.1, 10, 10, 10.1, 10, 10, 10.1}
	h, err := BisectHierarchy(emb, 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	top := h.Labels[len(h.Labels)-2] // level below the root
	for v := 1; v < 3; v++ {
		if top[v] != top[0] || top[v+3] != top[3] || top[0] == top[3] {
			t.Fatalf("top split %v does not separate the groups", top)
		}
	}
	bad := &Hierarchy{N: 3, Labels: [][]int32{{0, 0, 1}, {0, 1, 1}}}
	if bad.Validate() == nil {
		t.Error("non-nested hierarchy accepted")
	}
}
