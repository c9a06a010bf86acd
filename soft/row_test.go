package soft

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

var (
	inf  = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
	nan  = float32(math.NaN())
)

// TestSoftmaxTable covers the special logits. Reference values are derived
// by hand in the comments.
func TestSoftmaxTable(t *testing.T) {
	cases := []struct {
		name   string
		logits []float32
		want   []float64 // nil when an error is expected
		logZ   float64
		err    error
	}{
		// softmax(0, ln 3) = (1/4, 3/4); logZ = ln 4.
		{"plain", []float32{0, float32(math.Log(3))}, []float64{0.25, 0.75}, math.Log(4), nil},
		// −Inf entries get 0; the rest is uniform; logZ = ln 2.
		{"-Inf", []float32{ninf, 0, ninf, 0}, []float64{0, 0.5, 0, 0.5}, math.Log(2), nil},
		// ±1e30: the max dominates completely; logZ = 1e30.
		{"1e30", []float32{1e30, -1e30, 0}, []float64{1, 0, 0}, 1e30, nil},
		// Two equal huge logits split evenly: logZ = 1e30 + ln 2 = 1e30 in float64.
		{"1e30 tie", []float32{1e30, 1e30}, []float64{0.5, 0.5}, 1e30, nil},
		// The largest float32 values: z = −MaxFloat32 − MaxFloat32 overflows to −Inf, still 0.
		{"max float32", []float32{math.MaxFloat32, -math.MaxFloat32}, []float64{1, 0}, math.MaxFloat32, nil},
		{"all -Inf", []float32{ninf, ninf}, nil, 0, ErrNoSupport},
		{"NaN", []float32{0, nan}, nil, 0, ErrNonFinite},
		{"+Inf", []float32{inf, 0}, nil, 0, ErrNonFinite},
		{"single", []float32{-5}, []float64{1}, -5, nil},
	}
	for _, c := range cases {
		dst := make([]float32, len(c.logits))
		logZ, err := Softmax(dst, c.logits)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err %v, want %v", c.name, err, c.err)
			}
			_, err = SoftmaxEntropy(dst, c.logits)
			if !errors.Is(err, c.err) {
				t.Errorf("%s: SoftmaxEntropy err %v, want %v", c.name, err, c.err)
			}
			_, err = LogSoftmax(dst, c.logits)
			if !errors.Is(err, c.err) {
				t.Errorf("%s: LogSoftmax err %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !relClose(logZ, c.logZ, 1e-7, 1e-7) {
			t.Errorf("%s: logZ %g (%v), want %g", c.name, logZ, err, c.logZ)
		}
		for i, w := range c.want {
			if !(math.Abs(float64(dst[i])-w) <= 1e-7) {
				t.Errorf("%s: p[%d] = %g, want %g", c.name, i, dst[i], w)
			}
		}
		ls := make([]float32, len(c.logits))
		if _, err := LogSoftmax(ls, c.logits); err != nil {
			t.Errorf("%s: LogSoftmax: %v", c.name, err)
		}
		for i, w := range c.want {
			if w == 0 {
				if !(ls[i] < -80) {
					t.Errorf("%s: log p[%d] = %g, want very negative", c.name, i, ls[i])
				}
			} else if !(math.Abs(float64(ls[i])-math.Log(w)) <= 1e-6) {
				t.Errorf("%s: log p[%d] = %g, want %g", c.name, i, ls[i], math.Log(w))
			}
		}
	}
}

func TestDivergencesTable(t *testing.T) {
	p := []float32{0.5, 0.5, 0}
	q := []float32{0.25, 0.25, 0.5}
	u := []float32{1.0 / 3, 1.0 / 3, 1.0 / 3}
	// H(p) = ln 2; H(u) = ln 3.
	if h := Entropy(p); !(math.Abs(h-math.Ln2) <= 1e-7) {
		t.Errorf("Entropy(p) = %g", h)
	}
	if h := Entropy(u); !(math.Abs(h-math.Log(3)) <= 1e-6) {
		t.Errorf("Entropy(u) = %g", h)
	}
	// KL(p‖q) = 2·0.5·ln(0.5/0.25) = ln 2.
	if kl := KL(p, q); !(math.Abs(kl-math.Ln2) <= 1e-7) {
		t.Errorf("KL(p‖q) = %g", kl)
	}
	// KL(q‖p) = +Inf: q puts 0.5 where p is 0.
	if kl := KL(q, p); !math.IsInf(kl, 1) {
		t.Errorf("KL(q‖p) = %g", kl)
	}
	// TV = ½(0.25+0.25+0.5) = 0.5.
	if tv := TV(p, q); !(math.Abs(tv-0.5) <= 1e-7) {
		t.Errorf("TV = %g", tv)
	}
	// JS of disjoint rows is ln 2.
	if js := JS([]float32{1, 0}, []float32{0, 1}); !(math.Abs(js-math.Ln2) <= 1e-7) {
		t.Errorf("JS disjoint = %g", js)
	}
	// Sharpen at T = 1/2 squares then renormalises: (1, 9)/10.
	dst := make([]float32, 2)
	Sharpen(dst, []float32{0.25, 0.75}, 0.5)
	if !(math.Abs(float64(dst[0])-0.1) <= 1e-7 && math.Abs(float64(dst[1])-0.9) <= 1e-7) {
		t.Errorf("Sharpen = %v", dst)
	}
	// GeoMix at w = ½ of (0.2, 0.8) and (0.8, 0.2) is uniform.
	if err := GeoMix(dst, []float32{0.2, 0.8}, []float32{0.8, 0.2}, 0.5); err != nil ||
		!(math.Abs(float64(dst[0])-0.5) <= 1e-7) {
		t.Errorf("GeoMix = %v, %v", dst, err)
	}
	if err := GeoMix(dst, []float32{1, 0}, []float32{0, 1}, 0.5); !errors.Is(err, ErrDisjoint) {
		t.Errorf("GeoMix disjoint err %v", err)
	}
	// Mix at w = 0.25: 0.75·(1,0) + 0.25·(0,1).
	Mix(dst, []float32{1, 0}, []float32{0, 1}, 0.25)
	if dst[0] != 0.75 || dst[1] != 0.25 {
		t.Errorf("Mix = %v", dst)
	}
	// Margin and Argmax, ties to the smaller id.
	if id, gap := Margin([]float32{0.2, 0.5, 0.3}); id != 1 || !(math.Abs(float64(gap)-0.2) <= 1e-7) {
		t.Errorf("Margin = %d, %g", id, gap)
	}
	if id, gap := Margin([]float32{0.4, 0.2, 0.4}); id != 0 || gap != 0 {
		t.Errorf("Margin tie = %d, %g", id, gap)
	}
	if id := Argmax([]float32{0.3, 0.3, 0.4, 0.4}); id != 2 {
		t.Errorf("Argmax = %d", id)
	}
	// Expected embedding: 0.25·(1,2) + 0.75·(3,4) = (2.5, 3.5).
	emb := []float32{1, 2, 3, 4}
	out := make([]float32, 2)
	ExpectedEmbedding(out, []float32{0.25, 0.75}, emb)
	if out[0] != 2.5 || out[1] != 3.5 {
		t.Errorf("ExpectedEmbedding = %v", out)
	}
}

func TestRowPanics(t *testing.T) {
	mustPanic(t, "Softmax lengths", func() { Softmax(make([]float32, 2), make([]float32, 3)) })
	mustPanic(t, "KL lengths", func() { KL(make([]float32, 2), make([]float32, 3)) })
	mustPanic(t, "Mix weight", func() { Mix(make([]float32, 2), make([]float32, 2), make([]float32, 2), 1.5) })
	mustPanic(t, "Mix NaN weight", func() { Mix(make([]float32, 2), make([]float32, 2), make([]float32, 2), math.NaN()) })
	mustPanic(t, "Sharpen T", func() { Sharpen(make([]float32, 2), make([]float32, 2), 0) })
	mustPanic(t, "TopK k", func() { TopK(make([]int32, 3), make([]float32, 3), make([]float32, 2)) })
	mustPanic(t, "Sample empty", func() { Sample(rand.New(rand.NewPCG(1, 1)), []float32{0, 0}) })
	mustPanic(t, "ExpectedEmbedding", func() { ExpectedEmbedding(make([]float32, 2), make([]float32, 2), make([]float32, 3)) })
}

// logitsGen draws finite logits including the extremes ±1e30 and some −Inf
// (at least one finite entry).
func logitsGen(t *rapid.T, n int) []float32 {
	l := rapid.SliceOfN(rapid.OneOf(
		rapid.Float32Range(-50, 50),
		rapid.SampledFrom([]float32{1e30, -1e30, ninf, 0, math.MaxFloat32, -math.MaxFloat32}),
	), n, n).Draw(t, "logits")
	l[rapid.IntRange(0, n-1).Draw(t, "finite")] = rapid.Float32Range(-1e30, 1e30).Draw(t, "f")
	return l
}

func TestSoftmaxProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 70).Draw(t, "n")
		l := logitsGen(t, n)
		p := make([]float32, n)
		h, err := SoftmaxEntropy(p, l)
		if err != nil {
			t.Fatalf("SoftmaxEntropy(%v): %v", l, err)
		}
		if err := ValidateRow(p); err != nil {
			t.Fatalf("softmax of %v invalid: %v", l, err)
		}
		if !(h >= 0 && h <= math.Log(float64(n))+1e-6) {
			t.Fatalf("entropy %g outside [0, log %d]", h, n)
		}
		if he := Entropy(p); !(math.Abs(he-h) <= 1e-5) {
			t.Fatalf("fused entropy %g vs Entropy %g", h, he)
		}
		for i, x := range l {
			if math.IsInf(float64(x), -1) && p[i] != 0 {
				t.Fatalf("−Inf logit got probability %g", p[i])
			}
		}
	})
}

func probsGen(t *rapid.T, n int, name string) []float32 {
	w := rapid.SliceOfN(rapid.OneOf(rapid.Float64Range(0, 1), rapid.Just(0.0)), n, n).Draw(t, name)
	w[rapid.IntRange(0, n-1).Draw(t, name+"pos")] += 0.5
	var s float64
	for _, x := range w {
		s += x
	}
	p := make([]float32, n)
	for i, x := range w {
		p[i] = float32(x / s)
	}
	return p
}

func TestDivergenceProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 50).Draw(t, "n")
		p := probsGen(t, n, "p")
		q := probsGen(t, n, "q")
		if h := Entropy(p); !(h >= 0 && h <= math.Log(float64(n))+1e-6) {
			t.Fatalf("entropy %g outside [0, log n]", h)
		}
		kl := KL(p, q)
		if !(kl >= 0) {
			t.Fatalf("KL = %g < 0", kl)
		}
		if KL(p, p) != 0 {
			t.Fatalf("KL(p‖p) = %g", KL(p, p))
		}
		if !slices.Equal(p, q) && kl == 0 && TV(p, q) > 1e-6 {
			t.Fatalf("KL = 0 for different rows (TV %g)", TV(p, q))
		}
		if tv := TV(p, q); !(tv >= 0 && tv <= 1) {
			t.Fatalf("TV = %g", tv)
		}
		if js := JS(p, q); !(js >= 0 && js <= math.Ln2) {
			t.Fatalf("JS = %g", js)
		}
		// Pinsker: TV ≤ sqrt(KL/2).
		if tv := TV(p, q); !(tv <= math.Sqrt(kl/2)+1e-6) {
			t.Fatalf("Pinsker violated: TV %g, KL %g", tv, kl)
		}
	})
}

func TestTopKProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "n")
		p := probsGen(t, n, "p")
		// Ties: quantise some entries to create equal values.
		if rapid.Bool().Draw(t, "quantise") {
			for i := range p {
				p[i] = float32(math.Round(float64(p[i])*20) / 20)
			}
		}
		k := rapid.IntRange(1, n).Draw(t, "k")
		ids := make([]int32, k)
		vals := make([]float32, k)
		TopK(ids, vals, p)
		if ids[0] != Argmax(p) {
			t.Fatalf("TopK first id %d, Argmax %d", ids[0], Argmax(p))
		}
		for j := range ids {
			if p[ids[j]] != vals[j] {
				t.Fatalf("vals[%d] = %g but p[%d] = %g", j, vals[j], ids[j], p[ids[j]])
			}
			if j > 0 && (vals[j] > vals[j-1] || (vals[j] == vals[j-1] && ids[j] < ids[j-1])) {
				t.Fatalf("not sorted at %d: %v %v", j, ids, vals)
			}
		}
		// Every unlisted entry is ≤ the last listed one (brute force).
		for v := range p {
			if !slices.Contains(ids, int32(v)) && p[v] > vals[k-1] {
				t.Fatalf("unlisted %d has %g > kth %g", v, p[v], vals[k-1])
			}
		}
		id, gap := Margin(p)
		if id != ids[0] || (k > 1 && gap != vals[0]-vals[1]) {
			t.Fatalf("Margin (%d, %g) vs TopK %v %v", id, gap, ids, vals)
		}
	})
}

// TestSampleChiSquare draws 50000 tokens at a fixed seed and compares the
// counts with the probabilities by Pearson's χ² against 27.88, the 0.999
// quantile of χ² with 9 degrees of freedom (standard tables).
func TestSampleChiSquare(t *testing.T) {
	p := []float32{0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.05, 0.03, 0.015, 0.005, 0}
	rng := rand.New(rand.NewPCG(2026, 11))
	const n = 50000
	count := make([]int, len(p))
	for range n {
		count[Sample(rng, p)]++
	}
	if count[len(p)-1] != 0 {
		t.Fatalf("zero-probability token drawn %d times", count[len(p)-1])
	}
	var chi float64
	for v, x := range p[:len(p)-1] {
		e := n * float64(x)
		chi += (float64(count[v]) - e) * (float64(count[v]) - e) / e
	}
	if !(chi <= 27.88) {
		t.Fatalf("χ² = %g over 9 dof; counts %v", chi, count)
	}
}
