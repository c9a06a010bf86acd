package nn

import (
	"math"
	"strings"
	"testing"
)

func TestEmbedWeights(t *testing.T) {
	// K = 4 with MASK at id 3 unless noted. Expected weights by hand from
	// w(MASK) = ℓmin/D, w(v) = (ℓ(v) − ℓmin)/D, D = Σ_v (ℓ(v) − ℓmin) + ℓmin.
	inf := math.Inf(1)
	cases := []struct {
		name string
		mask int
		e    []float32
		w    []float64
		logZ float64 // log Σ_v ℓ(v)
	}{
		{"one-hot", 3, []float32{0, 1, 0, 0}, []float64{0, 1, 0, 0}, 0},
		{"all MASK", 3, []float32{0, 0, 0, 1}, []float64{0, 0, 0, 1}, math.Log(3)},
		{"uniform tokens", 3, []float32{1. / 3, 1. / 3, 1. / 3, 0}, []float64{0, 0, 0, 1}, 0},
		// ℓ = (0.8, 0.5, 0.3): a zero token entry, so the row is canonical already.
		{"MASK and a zero", 3, []float32{0.5, 0.2, 0, 0.3}, []float64{0.5, 0.2, 0, 0.3}, math.Log(1.6)},
		// ℓ = (0.6, 0.3, 0.1): ℓmin 0.1, D = 0.5 + 0.2 + 0 + 0.1 = 0.8.
		{"soft", 3, []float32{0.6, 0.3, 0.1, 0}, []float64{0.625, 0.25, 0, 0.125}, 0},
		// The same likelihood scaled by 7 and with MASK at id 0.
		{"scaled, MASK first", 0, []float32{0, 4.2, 2.1, 0.7}, []float64{0.125, 0.625, 0.25, 0}, math.Log(7)},
	}
	for _, c := range cases {
		w := make([]float32, len(c.e))
		info, err := embedWeights(w, c.e, c.mask)
		logZ := info.logZ
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for k := range w {
			if !(math.Abs(float64(w[k])-c.w[k]) <= 2e-7) {
				t.Errorf("%s: w[%d] = %v, want %v", c.name, k, w[k], c.w[k])
			}
		}
		if !(math.Abs(logZ-c.logZ) <= 1e-6) {
			t.Errorf("%s: log Z = %v, want %v", c.name, logZ, c.logZ)
		}
	}
	// One-hot and MASK rows give exactly one-hot weights.
	w := make([]float32, 4)
	for _, e := range [][]float32{{0, 0, 1, 0}, {0, 0, 0, 1}, {0, 0, 0, 0.25}} {
		if _, err := embedWeights(w, e, 3); err != nil {
			t.Fatal(err)
		}
		for k := range w {
			want := float32(0)
			if e[k] != 0 {
				want = 1
			}
			if w[k] != want {
				t.Errorf("row %v: w = %v, want exactly one-hot", e, w)
				break
			}
		}
	}
	for _, bad := range []struct {
		e    []float32
		want string
	}{
		{[]float32{0.5, -0.1, 0.6, 0}, "entry 1"},
		{[]float32{0.5, float32(math.NaN()), 0.5, 0}, "entry 1"},
		{[]float32{float32(inf), 0, 0, 0}, "entry 0"},
		{[]float32{0, 0, 0, 0}, "no token has positive likelihood"},
	} {
		if _, err := embedWeights(w, bad.e, 3); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("row %v: error %v, want one containing %q", bad.e, err, bad.want)
		}
	}
}

func TestAddLogLikelihood(t *testing.T) {
	// ℓ = (0.8, 0.5, 0.3, MASK) for e = (0.5, 0.2, 0, 0.3): log ℓ̂ = log(ℓ/1.6).
	e := []float32{0.5, 0.2, 0, 0.3}
	z := []float32{1, 2, 3, 7}
	info, _ := embedWeights(make([]float32, 4), e, 3)
	addLogLikelihood(z, e, 3, info)
	want := []float64{1 + math.Log(0.5), 2 + math.Log(0.5/1.6), 3 + math.Log(0.3/1.6), 7}
	for k := range z {
		if !(math.Abs(float64(z[k])-want[k]) <= 1e-6) {
			t.Errorf("z[%d] = %v, want %v", k, z[k], want[k])
		}
	}
	// An excluded token gets −Inf.
	// An excluded token gets −Inf: a one-hot row (and the same row scaled),
	// or a general row with a zero.
	for _, e := range [][]float32{{1, 0, 0, 0}, {2.5, 0, 0, 0}, {0.5, 0, 0.5, 0}} {
		z = []float32{1, 2, 3, 0}
		info, _ := embedWeights(make([]float32, 4), e, 3)
		addLogLikelihood(z, e, 3, info)
		want0 := 1 + math.Log(float64(e[0])/float64(e[0]+e[2]))
		if !(math.Abs(float64(z[0])-want0) <= 1e-6) || !math.IsInf(float64(z[1]), -1) || (e[2] == 0) != math.IsInf(float64(z[2]), -1) {
			t.Errorf("row %v: skip gives %v", e, z)
		}
	}
	// A flat row adds −log V (V = 3), with MASK mass or as uniform tokens.
	for _, e := range [][]float32{{0, 0, 0, 1}, {0.2, 0.2, 0.2, 0}} {
		z = []float32{1, 2, 3, 0}
		info, _ := embedWeights(make([]float32, 4), e, 3)
		addLogLikelihood(z, e, 3, info)
		for v := 0; v < 3; v++ {
			if !(math.Abs(float64(z[v])-(float64(v+1)-math.Log(3))) <= 1e-6) {
				t.Errorf("flat row %v: skip gives %v", e, z)
			}
		}
	}
}

func TestErf32(t *testing.T) {
	// Against math.Erf (float64) on a fine grid: absolute error ≤ 4e-7 (the
	// fit's float32 bound, train/fit_erf.py), odd, ±1 beyond 4.
	worst := 0.0
	for i := -60000; i <= 60000; i++ {
		x := float32(i) / 10000
		got, want := float64(erf32(x)), math.Erf(float64(x))
		worst = max(worst, math.Abs(got-want))
		if erf32(-x) != -erf32(x) {
			t.Fatalf("erf32 not odd at %v", x)
		}
	}
	if !(worst <= 4e-7) {
		t.Errorf("max |erf32 − erf| = %.3g, want ≤ 4e-7", worst)
	}
	if erf32(5) != 1 || erf32(-1e30) != -1 || erf32(float32(math.Inf(1))) != 1 {
		t.Errorf("erf32 does not saturate at ±1")
	}
	if v := erf32(float32(math.NaN())); v == v {
		t.Errorf("erf32(NaN) = %v", v)
	}
	t.Logf("max |erf32 − erf| = %.3g", worst)
}

func TestGeluVec(t *testing.T) {
	// The vector path (simd build) against ½x(1 + erf(x/√2)) in float64.
	x := make([]float32, 20003)
	for i := range x {
		x[i] = float32(i-10000) / 1000
	}
	x[5] = float32(math.NaN())
	y := append([]float32(nil), x...)
	gelu(y)
	for i, v := range x {
		if i == 5 {
			if y[i] == y[i] {
				t.Errorf("gelu(NaN) = %v", y[i])
			}
			continue
		}
		want := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
		if !(math.Abs(float64(y[i])-want) <= 2e-6) {
			t.Fatalf("gelu(%v) = %v, want %v", v, y[i], want)
		}
	}
}
