package kernels

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// Tests written to kill surviving mutants of knn.go.

func TestKNNSmallExact(t *testing.T) {
	// 1-D points, L2: all scores are exact in float32, so the lists are
	// known by hand (nearest first, ties to the lower index).
	cases := []struct {
		name string
		x    []float32
		k    int
		want [][]int32 // per query
	}{
		// n = 2 is allowed.
		{"n=2", []float32{0, 1}, 1, [][]int32{{1}, {0}}},
		// Query 0: 1 at distance 1, then 2 and 3 tie at distance 2: 2.
		{"tie at the cut", []float32{0, 1, 2, 2}, 2, [][]int32{{1, 2}, {0, 2}, {3, 1}, {2, 1}}},
		// Query 0: 3 at distance 1, then 1 and 2 tie at distance 2: 1 (the
		// tied pair fills the list before 3 arrives, and 3 must evict 2).
		{"tie evicted", []float32{0, 2, 2, 1}, 2, [][]int32{{3, 1}, {2, 3}, {1, 3}, {0, 1}}},
		// Query 0: after 1 (far) is evicted by 3, the list holds 3 then 2,
		// tied at distance 3; 4 (distance 1) must evict 3, the higher index.
		{"tie evicted late", []float32{0, 5, 3, 3, 1}, 2, [][]int32{{4, 2}, {2, 3}, {3, 1}, {2, 1}, {0, 2}}},
		// Query 0: 1 and 2 tie at distance 1: lower index first.
		{"tie order", []float32{0, 1, -1}, 2, [][]int32{{1, 2}, {0, 2}, {0, 1}}},
	}
	for _, c := range cases {
		got, err := KNN(c.x, len(c.x), 1, KNNOptions{K: c.k, Metric: MetricL2, Workers: 1})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, w := range c.want {
			if !slices.Equal(got[i*c.k:(i+1)*c.k], w) {
				t.Errorf("%s: query %d: %v, want %v", c.name, i, got[i*c.k:(i+1)*c.k], w)
			}
		}
	}
	// k = n is an error.
	if _, err := KNN([]float32{0, 1, 2}, 3, 1, KNNOptions{K: 3, Metric: MetricL2}); err == nil {
		t.Error("k = n accepted")
	}
	// L2 with a squared norm beyond float32 (3e19² = 9e38): its scores would
	// overflow, so it is an error rather than a list with missing ids.
	if nbr, err := KNN([]float32{0, 1, 3e19}, 3, 1, KNNOptions{K: 2, Metric: MetricL2}); err == nil {
		t.Errorf("squared norm 9e38 accepted: %v", nbr)
	}
}

func TestNewKNNAdjacencyWeights(t *testing.T) {
	// k = 2, n = 4: lists 0:{1,2} 1:{0,2} 2:{1,3} 3:{2,1}. B_ij + B_ji over
	// 2k = 4: (0,1) mutual 1/2, (0,2) one-way 1/4, (1,2) mutual 1/2,
	// (1,3) one-way 1/4, (2,3) mutual 1/2.
	a, err := NewKNNAdjacency([]int32{1, 2, 0, 2, 1, 3, 2, 1}, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := &Adjacency{N: 4, Indptr: []int{0, 2, 5, 8, 10},
		Indices: []int32{1, 2, 0, 2, 3, 0, 1, 3, 1, 2},
		Weights: []float64{0.5, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5, 0.25, 0.5}}
	if !slices.Equal(a.Indptr, want.Indptr) || !slices.Equal(a.Indices, want.Indices) || !slices.Equal(a.Weights, want.Weights) {
		t.Fatalf("adjacency %+v, want %+v", a, want)
	}
	for _, c := range []struct {
		nbr  []int32
		n, k int
		want string
	}{
		{[]int32{0}, 1, 1, "node 0 has neighbour 0"},
		{[]int32{1, 2}, 2, 1, "node 1 has neighbour 2"},
		{[]int32{1, -1}, 2, 1, "node 1 has neighbour -1"},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%v: panic %v", c.nbr, r)
				}
			}()
			_, err := NewKNNAdjacency(c.nbr, c.n, c.k)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v: error %v, want %q", c.nbr, err, c.want)
			}
		}()
	}
}

func TestAdjacencyValidateCases(t *testing.T) {
	cases := []struct {
		name string
		a    *Adjacency
		ok   bool
	}{
		{"single node", &Adjacency{N: 1, Indptr: []int{0, 0}}, true},
		{"empty rows", &Adjacency{N: 2, Indptr: []int{0, 0, 0}}, true},
		{"zero weight", &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{0, 0}}, true},
		{"self loop", &Adjacency{N: 2, Indptr: []int{0, 1, 1}, Indices: []int32{0}, Weights: []float64{1}}, false},
		{"self loop last row", &Adjacency{N: 2, Indptr: []int{0, 0, 1}, Indices: []int32{1}, Weights: []float64{1}}, false},
		{"index N", &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{2, 0}, Weights: []float64{1, 1}}, false},
		{"duplicate", &Adjacency{N: 2, Indptr: []int{0, 2, 4}, Indices: []int32{1, 1, 0, 0}, Weights: []float64{1, 1, 1, 1}}, false},
		{"negative weight", &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{-1, -1}}, false},
		{"inf weight", &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{math.Inf(1), math.Inf(1)}}, false},
		{"asymmetric", &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{1, 2}}, false},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", c.name, r)
				}
			}()
			if err := c.a.Validate(); (err == nil) != c.ok {
				t.Errorf("%s: Validate() = %v", c.name, err)
			}
		}()
	}
}
