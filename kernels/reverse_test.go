package kernels

import (
	"math"
	"testing"

	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

// checkReverseParts checks what the reverse samplers read of a kernel
// against the dense matrix that Transition gives (matrix, itself checked by
// checkKernel): every Likelihood row is the column Q(s,t)[·, x] (±1e-5),
// and the integrated rates into x over a short interval [u−h, u] are the
// off-diagonal entries of Q(u−h, u) up to the second-order term of
// exp(Δσ·G): |Q[y,x] − Δσ·G(y,x)| ≤ (Δσ·E)² + 1e-6, E the largest exit rate
// (row sum of G), since ‖Σ_{k≥2} (ΔσG)^k/k!‖ ≤ (2ΔσE)²/2.
func checkReverseParts(t *rapid.T, k Kernel, s, tt float64) {
	K := k.States()
	lk, ok := k.(Likelihooder)
	if !ok {
		t.Fatalf("%T does not implement Likelihooder", k)
	}
	rk, ok := k.(Rater)
	if !ok {
		t.Fatalf("%T does not implement Rater", k)
	}
	q := matrix(k, s, tt)
	xt := make([]int32, K)
	for x := range xt {
		xt[x] = int32(x)
	}
	got := soft.NewDense(K, K)
	lk.Likelihood(got, xt, s, tt)
	for x := 0; x < K; x++ {
		for v := 0; v < K; v++ {
			want := q.Data[v*K+x]
			if !(math.Abs(float64(got.Data[x*K+v]-want)) <= 1e-5) {
				t.Fatalf("Likelihood(x=%d, s=%v, t=%v)[%d] = %v, column of Q %v", x, s, tt, v, got.Data[x*K+v], want)
			}
		}
	}

	// A short interval ending at u with 0 < Δσ ≤ 1e-3 (u < 1: the Linear
	// schedule has α(1) = 0).
	u := math.Min(tt, 0.99)
	if u < 0.01 {
		u = 0.5
	}
	h := 1e-3
	for -math.Log(alphaRatio(kernelSchedule(t, k), u-h, u)) > 1e-3 {
		h /= 2
	}
	ds := -math.Log(alphaRatio(kernelSchedule(t, k), u-h, u))
	if !(ds > 0) {
		t.Fatalf("Δσ over [%v, %v] is %v", u-h, u, ds)
	}
	qh := matrix(k, u-h, u)
	g := make([][]float32, K) // g[x][y] = Δσ·G(y, x)
	exit := make([]float64, K)
	for x := 0; x < K; x++ {
		g[x] = make([]float32, K)
		rk.RatesInto(g[x], int32(x), u-h, u)
		if g[x][x] != 0 {
			t.Fatalf("RatesInto(x=%d)[x] = %v, want 0", x, g[x][x])
		}
		for y, r := range g[x] {
			if !(r >= 0) {
				t.Fatalf("RatesInto(x=%d)[%d] = %v < 0", x, y, r)
			}
			exit[y] += float64(r)
		}
	}
	var e float64
	for _, x := range exit {
		e = math.Max(e, x/ds)
	}
	tol := (ds*e)*(ds*e) + 1e-6
	for x := 0; x < K; x++ {
		for y := 0; y < K; y++ {
			if y == x {
				continue
			}
			if d := float64(qh.Data[y*K+x] - g[x][y]); !(math.Abs(d) <= tol) {
				t.Fatalf("rate %d→%d over [%v, %v] (Δσ %v): %v, Q entry %v (tol %v)", y, x, u-h, u, ds, g[x][y], qh.Data[y*K+x], tol)
			}
		}
	}
}

// kernelSchedule returns the schedule of a kernel of this package.
func kernelSchedule(t *rapid.T, k Kernel) Schedule {
	sk, ok := k.(interface{ Schedule() Schedule })
	if !ok {
		t.Fatalf("%T has no Schedule method", k)
	}
	return sk.Schedule()
}

// TestLikelihoodByHand checks the closed forms on small cases worked out by
// hand. Linear schedule: a = r(s,t) = (1−t)/(1−s); s = 0.2, t = 0.6 gives
// a = 0.5, Δσ = log 2.
func TestLikelihoodByHand(t *testing.T) {
	const s, tt = 0.2, 0.6
	a := 0.5
	type tc struct {
		name string
		k    interface {
			Kernel
			Likelihooder
			Rater
		}
		x          int32
		like, rate []float64
	}
	abs := must(NewAbsorbing(3, 2, Linear{}))
	uni := must(NewUniform(4, 3, Linear{})) // n = 3 tokens
	info := must(NewInfoAbsorbing(3, 2, []float64{1, 2, 1}, Linear{}))
	l2 := math.Log(2)
	cases := []tc{
		// P(x_t = 1 | x_s = v): kept with probability a.
		{"absorbing token", abs, 1, []float64{0, a, 0}, []float64{0, 0, 0}},
		// P(x_t = MASK | v) = 1 − a for tokens, 1 from MASK; rates Δσ.
		{"absorbing MASK", abs, 2, []float64{1 - a, 1 - a, 1}, []float64{l2, l2, 0}},
		// a·δ + (1 − a)/3 on tokens, 0 from the fixed MASK; rate Δσ/3.
		{"uniform token", uni, 0, []float64{a + (1-a)/3, (1 - a) / 3, (1 - a) / 3, 0}, []float64{0, l2 / 3, l2 / 3, 0}},
		{"uniform MASK", uni, 3, []float64{0, 0, 0, 1}, []float64{0, 0, 0, 0}},
		// Token 1 has rate 2: kept with a² = 0.25, masked with 0.75.
		{"info token", info, 1, []float64{0, a * a, 0}, []float64{0, 0, 0}},
		{"info MASK", info, 2, []float64{1 - a, 1 - a*a, 1}, []float64{l2, 2 * l2, 0}},
	}
	for _, c := range cases {
		K := c.k.States()
		d := soft.NewDense(1, K)
		c.k.Likelihood(d, []int32{c.x}, s, tt)
		r := make([]float32, K)
		c.k.RatesInto(r, c.x, s, tt)
		for v := 0; v < K; v++ {
			if !(math.Abs(float64(d.Data[v])-c.like[v]) <= 1e-6) {
				t.Errorf("%s: likelihood[%d] = %v, want %v", c.name, v, d.Data[v], c.like[v])
			}
			if !(math.Abs(float64(r[v])-c.rate[v]) <= 1e-6) {
				t.Errorf("%s: rate[%d] = %v, want %v", c.name, v, r[v], c.rate[v])
			}
		}
	}
}

// TestRatesGraphHierByHand: a path graph 0–1–2 (kNN weights) and a two-level
// hierarchy, rates worked out from the generators.
func TestRatesGraphHierByHand(t *testing.T) {
	// Path 0–1–2 with unit weights, MASK at 3, Scale 2, MaskRate 0.5.
	adj := &Adjacency{N: 3, Indptr: []int{0, 1, 3, 4}, Indices: []int32{1, 0, 2, 1}, Weights: []float64{1, 1, 1, 1}}
	g := must(NewGraph(adj, 3, Linear{}, GraphOptions{Scale: 2, MaskRate: 0.5}))
	l2 := math.Log(2) // Δσ for s = 0.2, t = 0.6 under Linear
	r := make([]float32, 4)
	g.RatesInto(r, 1, 0.2, 0.6)
	want := []float64{2 * l2, 0, 2 * l2, 0} // into node 1 from its two neighbours
	for y := range r {
		if !(math.Abs(float64(r[y])-want[y]) <= 1e-6) {
			t.Errorf("graph into 1: rate[%d] = %v, want %v", y, r[y], want[y])
		}
	}
	g.RatesInto(r, 3, 0.2, 0.6)
	want = []float64{0.5 * l2, 0.5 * l2, 0.5 * l2, 0}
	for y := range r {
		if !(math.Abs(float64(r[y])-want[y]) <= 1e-6) {
			t.Errorf("graph into MASK: rate[%d] = %v, want %v", y, r[y], want[y])
		}
	}
	// Four tokens in clusters {0,1}, {2,3} at level 1, all at level 2;
	// rates w = (3, 2, 1) for levels 1, 2 and MASK (state 4).
	h := &Hierarchy{N: 4, Labels: [][]int32{{0, 0, 1, 1}, {0, 0, 0, 0}}}
	hk := must(NewHierarchical(h, 4, []float64{3, 2, 1}, Linear{}))
	r = make([]float32, 5)
	hk.RatesInto(r, 0, 0.2, 0.6)
	// Into 0 from 1: level 1 (3/2) + level 2 (2/4); from 2, 3: level 2 only.
	want = []float64{0, (1.5 + 0.5) * l2, 0.5 * l2, 0.5 * l2, 0}
	for y := range r {
		if !(math.Abs(float64(r[y])-want[y]) <= 1e-6) {
			t.Errorf("hierarchical into 0: rate[%d] = %v, want %v", y, r[y], want[y])
		}
	}
}
