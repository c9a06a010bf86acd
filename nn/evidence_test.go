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
		logZ, err := embedWeights(w, c.e, c.mask)
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
	addLogLikelihood(z, e, 3, math.Log(1.6))
	want := []float64{1 + math.Log(0.5), 2 + math.Log(0.5/1.6), 3 + math.Log(0.3/1.6), 7}
	for k := range z {
		if !(math.Abs(float64(z[k])-want[k]) <= 1e-6) {
			t.Errorf("z[%d] = %v, want %v", k, z[k], want[k])
		}
	}
	// An excluded token gets −Inf.
	z = []float32{1, 2, 3, 0}
	addLogLikelihood(z, []float32{1, 0, 0, 0}, 3, 0)
	if z[0] != 1 || !math.IsInf(float64(z[1]), -1) || !math.IsInf(float64(z[2]), -1) {
		t.Errorf("one-hot skip: %v, want [1 -Inf -Inf ·]", z)
	}
}
