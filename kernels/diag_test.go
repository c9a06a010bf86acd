package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

// alphaLipschitz returns sup_t |α'(t)|/α(0), the Lipschitz constant of
// r(t) = α(t)/α(0), derived per schedule: Linear 1; LogLinear 1−ε;
// Cosine (1−ε)π/2; Geometric ln(σmax/σmin)·e^{σmin−1} (|α'| = ln(σmax/σmin)
// σ̄e^{−σ̄} ≤ ln(σmax/σmin)/e).
func alphaLipschitz(s Schedule) float64 {
	switch s := s.(type) {
	case Linear:
		return 1
	case LogLinear:
		e := s.Eps
		if e == 0 {
			e = DefaultLogLinearEps
		}
		return 1 - e
	case Cosine:
		return (1 - s.Eps) * math.Pi / 2
	case Geometric:
		lo, hi := s.bounds()
		return math.Log(hi/lo) * math.Exp(lo-1)
	}
	panic("unknown schedule")
}

// genP0 draws a data distribution over K states with no mass on skip.
func genP0(t *rapid.T, K int, skip int32) []float32 {
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "p0seed"), 6))
	p := make([]float32, K)
	var s float64
	for v := range p {
		if int32(v) == skip {
			continue
		}
		x := rng.ExpFloat64() + 0.05
		p[v] = float32(x)
		s += x
	}
	for v := range p {
		p[v] = float32(float64(p[v]) / s)
	}
	return p
}

// checkInfoMonotone: I(X0;Xt) is non-increasing in t (data processing).
func checkInfoMonotone(t *rapid.T, k Kernel, p0 []float32) {
	ts := make([]float64, 21)
	for i := range ts {
		ts[i] = float64(i) / 20
	}
	mi := make([]float64, len(ts))
	InfoCurve(mi, nil, k, p0, ts)
	for i := 1; i < len(ts); i++ {
		if !(mi[i] <= mi[i-1]+1e-5) {
			t.Fatalf("I(X0;Xt) rose from %v at t=%v to %v at t=%v", mi[i-1], ts[i-1], mi[i], ts[i])
		}
	}
}

// rhoGrid evaluates ρ at t and t+h for a random t, h.
func rhoPair(t *rapid.T, k Kernel, p0 []float32) (float64, float64, float64) {
	a := rapid.Float64Range(0, 0.99).Draw(t, "ta")
	h := rapid.Float64Range(1e-4, 1-a).Draw(t, "h")
	return Rho(k, p0, a), Rho(k, p0, a+h), h
}

func TestAbsorbingRhoLipschitz(t *testing.T) {
	// Absorbing with p0 free of MASK: H(X0|Xt) = (1 − r(t))H(X0) exactly
	// (a masked position reveals nothing, an intact one everything), so
	// ρ = 1 − r and |ρ(t+h) − ρ(t)| ≤ L·h with L = alphaLipschitz.
	rapid.Check(t, func(t *rapid.T) {
		K := rapid.IntRange(3, 8).Draw(t, "K")
		m := int32(rapid.IntRange(0, K-1).Draw(t, "mask"))
		sch := genSchedule(t)
		k := must(NewAbsorbing(K, m, sch))
		p0 := genP0(t, K, m)
		checkInfoMonotone(t, k, p0)
		r0, r1, h := rhoPair(t, k, p0)
		if !(math.Abs(r1-r0) <= alphaLipschitz(sch)*h*(1+1e-6)+1e-6) {
			t.Fatalf("|Δρ| = %v > L·h = %v", math.Abs(r1-r0), alphaLipschitz(sch)*h)
		}
	})
}

func TestInfoAbsorbingProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		K := rapid.IntRange(3, 8).Draw(t, "K")
		m := int32(rapid.IntRange(0, K-1).Draw(t, "mask"))
		sch := genSchedule(t)
		w := make([]float64, K)
		for v := range w {
			w[v] = rapid.Float64Range(0.25, 4).Draw(t, "w")
		}
		k, err := NewInfoAbsorbing(K, m, w, sch)
		if err != nil {
			t.Fatal(err)
		}
		r1 := alphaRatio(sch, 0, 1)
		tol := 0.0
		for v, x := range w {
			if int32(v) != m {
				tol = math.Max(tol, math.Pow(r1, x))
			}
		}
		checkKernel(t, k, tol+1e-6)
		p0 := genP0(t, K, m)
		checkInfoMonotone(t, k, p0)
		// Lipschitz constant (docs/kernels.md): with a_v = r^{w_v},
		// dH(X0|Xt)/dt = Σ_v p_v(−a_v') log(M/m_v), m_v = p_v(1−a_v),
		// M = Σ m_v, and 0 ≤ log(M/m_v) ≤ log(1/p_v) + log(w_max/w_min);
		// |a_v'| ≤ w_v·max(1, r(1)^{w_v−1})·L_α. Divide by H(X0).
		La := alphaLipschitz(sch)
		wmin, wmax := math.Inf(1), 0.0
		for v, x := range w {
			if int32(v) != m {
				wmin, wmax = math.Min(wmin, x), math.Max(wmax, x)
			}
		}
		var L float64
		for v, x := range w {
			if int32(v) == m {
				continue
			}
			pv := float64(p0[v])
			L += pv * x * math.Max(1, math.Pow(r1, x-1)) * La * (math.Log(1/pv) + math.Log(wmax/wmin))
		}
		L /= soft.Entropy(p0)
		a, b, h := rhoPair(t, k, p0)
		if !(math.Abs(b-a) <= L*h*(1+1e-6)+1e-6) {
			t.Fatalf("|Δρ| = %v > L·h = %v (L = %v)", math.Abs(b-a), L*h, L)
		}
	})
}

func TestUniformRhoModulus(t *testing.T) {
	// Uniform kernel, uniform p0 over n tokens: H(X0|Xt) = H(row of Q̄),
	// with u = 1 − r: dH/du = (1−1/n)log((1−u+u/n)n/u) ≤ log(n/u), so
	// |Δρ| ≤ Δu(1 + (1 + log(1/Δu))/log n), Δu ≤ L_α h. Not Lipschitz at
	// t = 0: the slope grows like log(1/t).
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(3, 8).Draw(t, "n")
		sch := genSchedule(t)
		k := must(NewUniform(n, soft.NoToken, sch))
		p0 := make([]float32, n)
		for v := range p0 {
			p0[v] = float32(1 / float64(n))
		}
		checkInfoMonotone(t, k, p0)
		a, b, h := rhoPair(t, k, p0)
		du := math.Min(1, alphaLipschitz(sch)*h)
		bound := du * (1 + (1+math.Log(1/du))/math.Log(float64(n)))
		if !(math.Abs(b-a) <= bound+1e-5) {
			t.Fatalf("|Δρ| = %v > modulus %v (h=%v)", math.Abs(b-a), bound, h)
		}
	})
}

func TestGradedKernelsInfoAndLocality(t *testing.T) {
	// Graph and hierarchical kernels: information non-increasing, and the
	// locality ratio below 1 (changes go to near tokens). Uniform: exactly
	// 1 under uniform p0 (changes go to uniformly random tokens).
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(8, 16).Draw(t, "n")
		d := 2
		// Two well-separated blobs of n/2 points (n even): the balanced
		// root split separates them. (A median bisection is local only as
		// far as its clusters are compact: on structureless or unbalanced
		// data its fine clusters can straddle two groups.)
		n &^= 1
		erng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "eseed"), 8))
		emb := RandomEmbeddings(erng, n, d)
		for i := 0; i < n; i += 2 {
			emb[i*d] += 30
		}
		nbr, _ := KNN(emb, n, d, KNNOptions{K: 2, Metric: MetricL2})
		adj, _ := NewKNNAdjacency(nbr, n, 2)
		g, err := NewGraph(adj, soft.NoToken, Linear{}, GraphOptions{Scale: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		hy, _ := BisectHierarchy(emb, n, d)
		hk, err := NewHierarchical(hy, soft.NoToken, nil, Linear{})
		if err != nil {
			t.Fatal(err)
		}
		p0 := genP0(t, n, soft.NoToken)
		// The hierarchy is graded early, while the fine levels (faster
		// clocks) dominate the changes; later the top level's uniform
		// redraws take over.
		tt := rapid.Float64Range(0.01, 0.5).Draw(t, "t")
		for name, k := range map[string]Kernel{"graph": g, "hier": hk} {
			checkInfoMonotone(t, k, p0)
			if name == "hier" {
				tt = math.Min(tt, 0.1)
			}
			if r := Locality(k, p0, emb, d, tt, soft.NoToken); !(r < 1) {
				t.Fatalf("%s: locality ratio %v ≥ 1 at t=%v", name, r, tt)
			}
		}
		u := make([]float32, n)
		for v := range u {
			u[v] = float32(1 / float64(n))
		}
		if r := Locality(must(NewUniform(n, soft.NoToken, Linear{})), u, emb, d, tt, soft.NoToken); !(math.Abs(r-1) <= 1e-5) {
			t.Fatalf("uniform: locality ratio %v, want 1", r)
		}
	})
}

func TestRecoverabilityAndTVSpeedAbsorbing(t *testing.T) {
	// Absorbing, p0 without MASK: p(x0 | MASK) = p0(x0), so
	// E[p(x0|xt) | x0 = v] = r + (1−r)p0(v), a class averages
	// r + (1−r)Σ_{v∈c} p0(v)²/p0(c); TV(q_t, q_{t+h}) = r(t) − r(t+h).
	k := must(NewAbsorbing(5, 4, Linear{}))
	p0 := []float32{0.4, 0.3, 0.2, 0.1, 0}
	cls := FrequencyClasses(p0, 2, 4)
	if cls[0] != 0 || cls[1] != 0 || cls[2] != 1 || cls[3] != 1 {
		t.Fatalf("classes %v", cls)
	}
	got := make([]float64, 2)
	spread := Recoverability(got, k, p0, cls, 0.3)
	r := 0.7
	want0 := r + (1-r)*(0.16+0.09)/0.7
	want1 := r + (1-r)*(0.04+0.01)/0.3
	if !(math.Abs(got[0]-want0) <= 1e-6) || !(math.Abs(got[1]-want1) <= 1e-6) || !(math.Abs(spread-(want0-want1)) <= 1e-6) {
		t.Errorf("recoverability %v spread %v, want %v %v", got, spread, want0, want1)
	}
	if v := TVSpeed(k, []int32{0, 1}, 0.3, 0.1); !(math.Abs(v-1) <= 1e-5) {
		t.Errorf("TV speed %v, want 1", v)
	}
}

func TestInfoWarpLinearises(t *testing.T) {
	// Under the warped schedule the destroyed information grows linearly:
	// ρ(u)/ρ(1) = u up to the grid's interpolation error.
	for _, mk := range []func(Schedule) Kernel{
		func(s Schedule) Kernel { return must(NewAbsorbing(4, 3, s)) },
		func(s Schedule) Kernel { return must(NewUniform(4, soft.NoToken, s)) },
	} {
		p0 := []float32{0.5, 0.25, 0.15, 0.1}
		if _, ok := mk(Linear{}).(*Absorbing); ok {
			p0 = []float32{0.5, 0.3, 0.2, 0}
		}
		base := Cosine{}
		w, err := NewInfoWarp(mk(base), p0, 200)
		if err != nil {
			t.Fatal(err)
		}
		kw := mk(Warped{Base: base, Warp: w})
		top := Rho(kw, p0, 1)
		for _, u := range []float64{0.1, 0.3, 0.5, 0.7, 0.9} {
			if r := Rho(kw, p0, u) / top; !(math.Abs(r-u) <= 5e-3) {
				t.Errorf("%T: ρ(%v)/ρ(1) = %v", kw, u, r)
			}
		}
	}
}

func TestWeights(t *testing.T) {
	p := []float64{0.5, 0.3, 0.2, 0}
	w := make([]float64, 4)
	for _, f := range []func(dst, p []float64, g float64) error{FrequencyWeights, InformationWeights} {
		if err := f(w, p, 1); err != nil {
			t.Fatal(err)
		}
		var mean float64
		for v := range p {
			mean += p[v] * w[v]
			if !(w[v] > 0) {
				t.Fatalf("rate %d = %v", v, w[v])
			}
		}
		if !(math.Abs(mean-1) <= 1e-12) {
			t.Errorf("E_p[w] = %v", mean)
		}
	}
	// InformationWeights, γ = 1: w ∝ −log p, so rarer tokens get larger rates.
	_ = InformationWeights(w, p, 1)
	if !(w[0] < w[1] && w[1] < w[2] && w[3] == w[2]) {
		t.Errorf("information weights not ordered: %v", w)
	}
	if FrequencyWeights(w[:2], []float64{0, 0}, 1) == nil {
		t.Error("all-zero p accepted")
	}
}

func TestCARTWeights(t *testing.T) {
	// Brute force of w_i = ½ Σ_{unmasked j} p(1−p)^{|i−j|−1} on random masks.
	rapid.Check(t, func(t *rapid.T) {
		L := rapid.IntRange(1, 30).Draw(t, "L")
		m := make([]bool, L)
		for i := range m {
			m[i] = rapid.Bool().Draw(t, "m")
		}
		p := rapid.Float64Range(0.05, 0.95).Draw(t, "p")
		got := make([]float64, L)
		CARTWeights(got, m, p)
		for i := range m {
			var want float64
			if m[i] {
				for j := range m {
					if !m[j] {
						want += 0.5 * p * math.Pow(1-p, math.Abs(float64(i-j))-1)
					}
				}
			}
			if !(math.Abs(got[i]-want) <= 1e-12) {
				t.Fatalf("w[%d] = %v, brute force %v", i, got[i], want)
			}
		}
	})
}

func TestGaussianChannel(t *testing.T) {
	g := must(NewGaussian(3, Linear{}))
	rng := rand.New(rand.NewPCG(21, 22))
	prior := []float32{0.5, 0.3, 0.2}
	y := make([]float32, 3)
	g.Sample(y, 1, 0.4, rng)
	// Brute-force Bayes with the Gaussian density (computed in this test):
	// p(x|y) ∝ p0(x)·exp(−‖y − α e_x‖²/(2σ²)).
	a, s := g.Noise(0.4)
	want := make([]float64, 3)
	var z float64
	for x := 0; x < 3; x++ {
		var d2 float64
		for v := 0; v < 3; v++ {
			e := float64(y[v])
			if v == x {
				e -= a
			}
			d2 += e * e
		}
		want[x] = float64(prior[x]) * math.Exp(-d2/(2*s*s))
		z += want[x]
	}
	got := make([]float32, 3)
	if err := g.Posterior(got, y, prior, 0.4); err != nil {
		t.Fatal(err)
	}
	for x := range got {
		if !(math.Abs(float64(got[x])-want[x]/z) <= 1e-6) {
			t.Errorf("posterior[%d] = %v, Bayes %v", x, got[x], want[x]/z)
		}
	}
	// I(X0;Y) for K = 2 by quadrature: D = y1 − y0 is sufficient, D | x ~
	// N(±α, 2σ²); integrate Σ_x p(x)∫p(d|x) log(p(d|x)/p(d)) on a fine grid.
	g2 := must(NewGaussian(2, Linear{}))
	p2 := []float32{0.7, 0.3}
	for _, tt := range []float64{0.3, 0.7} {
		a, s := g2.Noise(tt)
		sd := math.Sqrt(2) * s
		pdf := func(d, m float64) float64 {
			return math.Exp(-(d-m)*(d-m)/(2*sd*sd)) / (sd * math.Sqrt(2*math.Pi))
		}
		var exact float64
		const lo, hi, steps = -12.0, 12.0, 24000
		dd := (hi - lo) / steps
		for i := 0; i <= steps; i++ {
			d := lo + float64(i)*dd
			f0, f1 := pdf(d, -a), pdf(d, a)
			m := 0.7*f0 + 0.3*f1
			if f0 > 0 {
				exact += 0.7 * f0 * math.Log(f0/m) * dd
			}
			if f1 > 0 {
				exact += 0.3 * f1 * math.Log(f1/m) * dd
			}
		}
		est, se := g2.MutualInfo(p2, tt, 20000, rng)
		if !(math.Abs(est-exact) <= 4*se+1e-3) {
			t.Errorf("t=%v: MC I = %v ± %v, quadrature %v", tt, est, se, exact)
		}
	}
	// Endpoints: I = H(p0) at t = 0 (σ = 0) and 0 when α = 0.
	if est, _ := g2.MutualInfo(p2, 1, 100, rng); !(math.Abs(est) <= 1e-9) {
		t.Errorf("I at α=0: %v", est)
	}
}
