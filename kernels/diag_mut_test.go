package kernels

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// Tests written to kill surviving mutants of diag.go.

func TestRecoverabilityAbsorbingClosedForm(t *testing.T) {
	// Absorbing, Linear, t = 0.5 (α = 0.5), p0 = (½, ½, 0): x_t = x0 with
	// probability α (posterior 1), else MASK (posterior p0(x0) = ½), so
	// E[p(x0|xt)] = α + (1 − α)/2 = 0.75 in both classes. The MASK state has
	// no mass and class −1: it must not be used.
	k, err := NewAbsorbing(3, 2, Linear{})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 2)
	spread := Recoverability(dst, k, []float32{0.5, 0.5, 0}, []int{0, 1, -1}, 0.5)
	if !(math.Abs(dst[0]-0.75) <= 1e-6 && math.Abs(dst[1]-0.75) <= 1e-6 && math.Abs(spread) <= 1e-6) {
		t.Fatalf("Recoverability = %v (spread %v), want [0.75 0.75] (0)", dst, spread)
	}
}

func TestRhoPanicsOnPointMass(t *testing.T) {
	k, _ := NewAbsorbing(3, 2, Linear{})
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic for a point mass")
		}
	}()
	Rho(k, []float32{1, 0, 0}, 0.5)
}

// p3Rows returns rows 0 (a leaf) and 1 (the centre) of exp(τR) for the
// unit path 0–1–2: the Laplacian has eigenvalues 0, 1, 3 with eigenvectors
// (1,1,1)/√3, (1,0,−1)/√2, (1,−2,1)/√6.
func p3Rows(tau float64) (leaf, centre [3]float64) {
	a, b := math.Exp(-tau), math.Exp(-3*tau)
	leaf = [3]float64{1.0/3 + a/2 + b/6, 1.0/3 - b/3, 1.0/3 - a/2 + b/6}
	centre = [3]float64{1.0/3 - b/3, 1.0/3 + 2*b/3, 1.0/3 - b/3}
	return
}

func TestTVSpeedGraphClosedForm(t *testing.T) {
	adj := &Adjacency{N: 3, Indptr: []int{0, 1, 3, 4}, Indices: []int32{1, 0, 2, 1}, Weights: []float64{1, 1, 1, 1}}
	g, err := NewGraph(adj, soft.NoToken, Linear{}, GraphOptions{Tol: 1e-14})
	if err != nil {
		t.Fatal(err)
	}
	// Linear: τ(0,t) = −log(1 − t). At t = 0.7, h = 0.1 the leaf moves
	// faster than the centre (the centre's speed is ∝ e^{−3τ}).
	tt, h := 0.7, 0.1
	l1, c1 := p3Rows(-math.Log(1 - tt))
	l2, c2 := p3Rows(-math.Log(1 - tt - h))
	tv := func(a, b [3]float64) float64 {
		return (math.Abs(a[0]-b[0]) + math.Abs(a[1]-b[1]) + math.Abs(a[2]-b[2])) / 2
	}
	want := math.Max(tv(l1, l2), tv(c1, c2)) / h
	if !(tv(l1, l2) > tv(c1, c2)) {
		t.Fatal("test setup: the leaf should be faster")
	}
	if got := TVSpeed(g, []int32{0, 1}, tt, h); !(math.Abs(got-want) <= 1e-5) {
		t.Fatalf("TVSpeed = %v, want %v", got, want)
	}
	// t + h = 1 is allowed; h = 0 and t + h > 1 are not.
	_ = TVSpeed(g, []int32{0}, 0.5, 0.5)
	for _, c := range [][2]float64{{0.5, 0}, {0.9, 0.2}} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.Contains(s, "TVSpeed") {
					t.Errorf("TVSpeed(t=%v, h=%v): panic %v", c[0], c[1], r)
				}
			}()
			TVSpeed(g, []int32{0}, c[0], c[1])
		}()
	}
}

func TestFrequencyClassesCases(t *testing.T) {
	p := []float32{0.1, 0.4, 0, 0.2, 0.3}
	cases := []struct {
		n    int
		skip int32
		want []int
	}{
		// Ranks by frequency: 1, 4, 3, 0; class = rank·n/4; token 2 (p = 0)
		// gets n − 1.
		{2, -1, []int{1, 0, 1, 1, 0}},
		{3, -1, []int{2, 0, 2, 1, 0}},
		// Skipping 4: ranks 1, 3, 0 over 3 tokens.
		{2, 4, []int{1, 0, 1, 0, 1}},
	}
	for _, c := range cases {
		if got := FrequencyClasses(p, c.n, c.skip); !slices.Equal(got, c.want) {
			t.Errorf("FrequencyClasses(n=%d, skip=%d) = %v, want %v", c.n, c.skip, got, c.want)
		}
	}
}

func TestLocalityUniformClosedForm(t *testing.T) {
	// Uniform kernel (no MASK): a change lands on each other token with the
	// same probability, so the numerator is Σ_x p(x)·Σ_{y≠x} d(x,y)/2; the
	// denominator is Σ_{u≠v} p_u p_v d(u,v) / Σ_{u≠v} p_u p_v. 1-D points
	// 0, 1, 3.
	k, err := NewUniform(3, soft.NoToken, Linear{})
	if err != nil {
		t.Fatal(err)
	}
	p0 := []float32{0.5, 0.3, 0.2}
	emb := []float32{0, 1, 3}
	p := []float64{float64(p0[0]), float64(p0[1]), float64(p0[2])}
	d := func(u, v int) float64 { return math.Abs(float64(emb[u] - emb[v])) }
	var num, rn, rd float64
	for x := 0; x < 3; x++ {
		for y := 0; y < 3; y++ {
			if y != x {
				num += p[x] * d(x, y) / 2
				rn += p[x] * p[y] * d(x, y)
				rd += p[x] * p[y]
			}
		}
	}
	want := num / (rn / rd)
	if got := Locality(k, p0, emb, 1, 0.5, -1); !(math.Abs(got-want) <= 1e-5) {
		t.Fatalf("Locality = %v, want %v", got, want)
	}
}
