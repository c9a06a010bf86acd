package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// Tests written to kill surviving mutants of graph.go.

// scriptSource is a rand.Source that replays vals cyclically.
type scriptSource struct {
	vals []uint64
	i    int
}

func (s *scriptSource) Uint64() uint64 {
	v := s.vals[s.i%len(s.vals)]
	s.i++
	return v
}

// path4 is the unit-weight path 0–1–2–3 (degrees 1, 2, 2, 1).
func path4() *Adjacency {
	return &Adjacency{N: 4, Indptr: []int{0, 1, 3, 5, 6}, Indices: []int32{1, 0, 2, 1, 3, 2}, Weights: []float64{1, 1, 1, 1, 1, 1}}
}

func TestGraphSpectralHalfWidthPath(t *testing.T) {
	// Path of 4: max degree 2, so Gershgorin gives 2·2 = 4; the scaled bound
	// is max_i d_i + Σ_j a_ij √(d_j/d_i): node 1: 2 + (√1 + √2)/√2 = 3 + 1/√2
	// (node 0: 1 + √2, smaller). hw = min(4, 3 + 1/√2)/2.
	g, err := NewGraph(path4(), soft.NoToken, nil, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := (3 + 1/math.Sqrt2) / 2
	if hw := g.SpectralHalfWidth(); !(math.Abs(hw-want) <= 1e-12) {
		t.Fatalf("SpectralHalfWidth = %v, want %v", hw, want)
	}
	if g.MaxDegree() != 2 {
		t.Fatalf("MaxDegree = %v", g.MaxDegree())
	}
}

func TestGraphZeroWeightEdgeDisconnects(t *testing.T) {
	// Nodes 0 and 1 share an edge of weight 0: no mass can flow, so they are
	// two components and the τ = ∞ limit is the identity.
	adj := &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{0, 0}}
	g, err := NewGraph(adj, soft.NoToken, nil, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Connected() {
		t.Fatal("zero-weight edge counted as a connection")
	}
	dst := make([]float64, 2)
	g.Action(dst, []float64{0.3, 0.7}, 1, math.Inf(1), 0)
	if dst[0] != 0.3 || dst[1] != 0.7 {
		t.Fatalf("τ=∞ action %v, want [0.3 0.7]", dst)
	}
}

func TestGraphActionTolerance(t *testing.T) {
	g, err := NewGraph(path4(), soft.NoToken, nil, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := []float64{1, 0, 0, 0}
	dst := make([]float64, 4)
	def := g.Action(dst, src, 1, 5, 0) // tol ≤ 0: the kernel's 1e-10
	if n := g.Action(dst, src, 1, 5, DefaultExpmTol); n != def {
		t.Fatalf("tol 0 used %d terms, tol %v %d", def, DefaultExpmTol, n)
	}
	if n := g.Action(dst, src, 1, 5, -1); n != def {
		t.Fatalf("tol −1 used %d terms, default %d", n, def)
	}
	if n := g.Action(dst, src, 1, 5, 0.1); !(n < def) {
		t.Fatalf("tol 0.1 used %d terms, not fewer than tol 1e-10's %d", n, def)
	}
}

func TestGraphTransitionManyRows(t *testing.T) {
	// Two nodes joined by a unit edge: R = [[−1,1],[1,−1]], so
	// exp(τR) = ½[[1+e^{−2τ}, 1−e^{−2τ}], [1−e^{−2τ}, 1+e^{−2τ}]]. Linear
	// schedule, s = 0, t = 0.5: τ = −log(0.5) = ln 2, e^{−2τ} = 1/4. 70 rows
	// (more than one block of soft.BlockRows = 64).
	adj := &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{1, 1}}
	g, err := NewGraph(adj, soft.NoToken, Linear{}, GraphOptions{Tol: 1e-14})
	if err != nil {
		t.Fatal(err)
	}
	L := 70
	src, dst := soft.NewDense(L, 2), soft.NewDense(L, 2)
	for r := 0; r < L; r++ {
		x := float32(r) / float32(L)
		src.Row(r)[0], src.Row(r)[1] = x, 1-x
	}
	g.Transition(dst, src, 0, 0.5)
	for r := 0; r < L; r++ {
		x := float64(src.Row(r)[0])
		w0 := x*0.625 + (1-x)*0.375
		if got := float64(dst.Row(r)[0]); !(math.Abs(got-w0) <= 1e-6) {
			t.Fatalf("row %d: %v, want %v", r, got, w0)
		}
		if got := float64(dst.Row(r)[1]); !(math.Abs(got-(1-w0)) <= 1e-6) {
			t.Fatalf("row %d: %v, want %v", r, got, 1-w0)
		}
	}
}

func TestGraphSampleEdgeCases(t *testing.T) {
	two := &Adjacency{N: 2, Indptr: []int{0, 1, 2}, Indices: []int32{1, 0}, Weights: []float64{1, 1}}
	// x0 = K is out of range and named as such.
	g, err := NewGraph(two, soft.NoToken, Linear{}, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			r := recover()
			if s, ok := r.(string); !ok || !strings.Contains(s, "outside [0, 2)") {
				t.Errorf("x0 = K: panic %v", r)
			}
		}()
		g.Sample(make([]int32, 1), []int32{2}, 0.5, rand.New(rand.NewPCG(1, 1)))
	}()
	// With MASK at t = 1 (α = 0, keep = 0) every token is masked, even when
	// the uniform draw is exactly 0.
	gm, err := NewGraph(two, 2, Linear{}, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]int32, 2)
	gm.Sample(dst, []int32{0, 1}, 1, rand.New(zeroSource{}))
	if dst[0] != 2 || dst[1] != 2 {
		t.Fatalf("t=1 with MASK: %v, want [2 2]", dst)
	}
	// No edges: a token never moves, even when an exponential draw is 0
	// (zeroSource: ExpFloat64 = 0).
	none := &Adjacency{N: 2, Indptr: []int{0, 0, 0}}
	g0, err := NewGraph(none, soft.NoToken, Linear{}, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g0.Sample(dst, []int32{0, 1}, 0.5, rand.New(zeroSource{}))
	if dst[0] != 0 || dst[1] != 1 {
		t.Fatalf("no edges: %v, want [0 1]", dst)
	}
}

func TestGraphSampleZeroWeightNeighbour(t *testing.T) {
	// Node 0 has neighbours 1 (weight 0) and 2 (weight 1). The jump target
	// is drawn as the cell of u·d_0 in the cumulative weights [0,0), [0,1):
	// with u = 0 it is node 2, never the zero-weight neighbour 1. The source
	// alternates E (an exponential draw e = ExpFloat64 of E) and 0 (Float64
	// = 0); τ = 1.5e allows exactly one jump from node 0 (d = 1), after
	// which node 2 (d = 1) has 0.5e − e < 0 left.
	adj := &Adjacency{N: 3, Indptr: []int{0, 2, 3, 4}, Indices: []int32{1, 2, 0, 0}, Weights: []float64{0, 1, 0, 1}}
	g, err := NewGraph(adj, soft.NoToken, Linear{}, GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const E = 0x80000000
	e := rand.New(&scriptSource{vals: []uint64{E}}).ExpFloat64()
	if !(e > 0.1) {
		t.Fatalf("exponential draw %v", e)
	}
	// Linear: τ(0,t) = −log(1 − t), so t = 1 − e^{−1.5e}.
	tt := 1 - math.Exp(-1.5*e)
	dst := make([]int32, 1)
	g.Sample(dst, []int32{0}, tt, rand.New(&scriptSource{vals: []uint64{E, 0}}))
	if dst[0] != 2 {
		t.Fatalf("jumped to %d, want 2", dst[0])
	}
}
