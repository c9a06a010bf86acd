package soft

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestSparseBytes checks the size budget of docs/soft.md: L=4096 rows over LLaDA's
// K=126464 with k=64 in about 2 MB. The expected value is the arithmetic
// 4096·64·(4+4) + 4096·4 bytes.
func TestSparseBytes(t *testing.T) {
	s := NewSparse(4096, 126464, 64)
	want := 4096*64*8 + 4096*4
	if got := s.Bytes(); got != want {
		t.Fatalf("Bytes = %d, want %d", got, want)
	}
	if got := len(s.IDs)*4 + len(s.Probs)*4 + len(s.Resid)*4; got > 2*1024*1024+20*1024 {
		t.Fatalf("buffers take %d bytes, over 2 MiB + 20 KiB", got)
	}
}

func randDense(rng *rand.Rand, L, K int) *Dense {
	d := NewDense(L, K)
	for i := 0; i < L; i++ {
		row := d.Row(i)
		var s float64
		for j := range row {
			// Heavy-tailed weights with some exact zeros.
			if rng.IntN(5) == 0 {
				row[j] = 0
				continue
			}
			row[j] = float32(math.Exp(3 * rng.NormFloat64()))
			s += float64(row[j])
		}
		if s == 0 {
			row[0], s = 1, 1
		}
		for j := range row {
			row[j] = float32(float64(row[j]) / s)
		}
	}
	return d
}

func TestSparseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		L := rapid.IntRange(1, 5).Draw(t, "L")
		K := rapid.IntRange(1, 40).Draw(t, "K")
		k := rapid.IntRange(0, K).Draw(t, "k")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 7))
		d := randDense(rng, L, K)
		s := NewSparse(L, K, k)
		SparseTopK(s, d, 2)
		if err := s.Validate(); err != nil {
			t.Fatalf("SparseTopK output invalid: %v", err)
		}
		back := NewDense(L, K)
		SparseToDense(back, s, 1)
		if err := back.Validate(); err != nil {
			t.Fatalf("SparseToDense output invalid: %v", err)
		}
		for i := 0; i < L; i++ {
			r := s.Row(i)
			// Half the L1 change is at most the residual: only the K−k
			// unlisted entries move, each to Resid/(K−k).
			if tv := TV(d.Row(i), back.Row(i)); !(tv <= float64(r.Resid)+1e-6) {
				t.Fatalf("row %d: TV(dense, round trip) = %g > residual %g", i, tv, r.Resid)
			}
			ids := make([]int32, k)
			vals := make([]float32, k)
			TopK(ids, vals, d.Row(i))
			for j := range ids {
				if ids[j] != r.IDs[j] || vals[j] != r.Probs[j] {
					t.Fatalf("row %d slot %d: (%d,%g) vs TopK (%d,%g)", i, j, r.IDs[j], r.Probs[j], ids[j], vals[j])
				}
			}
			// Statistics of the sparse row equal those of its dense form
			// (computed by the dense functions in this test).
			dr := back.Row(i)
			if h, want := r.Entropy(), Entropy(dr); !(math.Abs(h-want) <= 1e-5) {
				t.Fatalf("row %d: sparse entropy %g, dense %g", i, h, want)
			}
			id, gap := r.Margin()
			wid, wgap := Margin(dr)
			if float64(dr[id]) != float64(dr[wid]) || !(math.Abs(gap-float64(wgap)) <= 1e-6) {
				t.Fatalf("row %d: sparse margin (%d,%g), dense (%d,%g)", i, id, gap, wid, wgap)
			}
			if r.Argmax() != id {
				t.Fatalf("Argmax %d != Margin id %d", r.Argmax(), id)
			}
			for v := int32(0); v < int32(K); v++ {
				if !(math.Abs(r.Prob(v)-float64(dr[v])) <= 1e-7) {
					t.Fatalf("row %d: Prob(%d) = %g, dense %g", i, v, r.Prob(v), dr[v])
				}
			}
		}
		// Pairwise TV and KL between two sparse rows equal the dense values.
		d2 := randDense(rng, 1, K)
		k2 := rapid.IntRange(0, K).Draw(t, "k2")
		s2 := NewSparse(1, K, k2)
		SparseTopK(s2, d2, 1)
		b2 := NewDense(1, K)
		SparseToDense(b2, s2, 1)
		a, b := s.Row(0), s2.Row(0)
		if got, want := SparseTV(a, b), TV(back.Row(0), b2.Row(0)); !(math.Abs(got-want) <= 1e-6) {
			t.Fatalf("SparseTV %g, dense TV %g", got, want)
		}
		got, want := SparseKL(a, b), KL(back.Row(0), b2.Row(0))
		if !(got == want || math.Abs(got-want) <= 1e-5*math.Max(1, math.Abs(want))) {
			t.Fatalf("SparseKL %g, dense KL %g", got, want)
		}
	})
}

func TestSparseNthUnlisted(t *testing.T) {
	// Reference: brute-force enumeration of the unlisted ids in this test.
	r := SparseRow{K: 12, IDs: []int32{5, 0, 7, 1, 11}, Probs: make([]float32, 5)}
	var want []int32
	for v := int32(0); v < 12; v++ {
		if !r.listed(v) {
			want = append(want, v)
		}
	}
	for n, w := range want {
		if got := r.nthUnlisted(n); got != w {
			t.Fatalf("nthUnlisted(%d) = %d, want %d", n, got, w)
		}
	}
}

func TestSparseValidate(t *testing.T) {
	good := func() *Sparse {
		s, err := SparseFromData(2, 5, 2, []int32{3, 1, 0, 4}, []float32{0.5, 0.2, 0.6, 0.4}, []float32{0.3, 0})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good()
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name string
		mod  func(s *Sparse)
		want string
	}{
		{"id range", func(s *Sparse) { s.IDs[2] = 5 }, "row 1, slot 0: token id 5 outside"},
		{"negative id", func(s *Sparse) { s.IDs[1] = -1 }, "row 0, slot 1: token id -1"},
		{"duplicate", func(s *Sparse) { s.IDs[1] = 3 }, "row 0, slot 1: token id 3 listed twice"},
		{"NaN prob", func(s *Sparse) { s.Probs[3] = nan }, "row 1, slot 1: NaN probability"},
		{"Inf prob", func(s *Sparse) { s.Probs[0] = inf }, "row 0, slot 0: infinite"},
		{"negative prob", func(s *Sparse) { s.Probs[1] = -0.1 }, "row 0, slot 1: negative"},
		{"order", func(s *Sparse) { s.Probs[2], s.Probs[3] = 0.4, 0.6 }, "row 1, slot 1: probability 0.6 above"},
		{"NaN resid", func(s *Sparse) { s.Resid[0] = nan }, "row 0: NaN residual"},
		{"negative resid", func(s *Sparse) { s.Resid[1] = -0.1 }, "row 1: negative"},
		{"sum", func(s *Sparse) { s.Resid[0] = 0.2 }, "row 0: listed mass plus residual is 0.9"},
		{"short buffer", func(s *Sparse) { s.Resid = s.Resid[:1] }, "buffer lengths"},
		{"shape", func(s *Sparse) { s.Top = 6 }, "need L ≥ 0"},
	}
	for _, c := range cases {
		s := good()
		c.mod(s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// Every token listed leaves no room for a residual.
	if _, err := SparseFromData(1, 2, 2, []int32{0, 1}, []float32{0.5, 0.4}, []float32{0.1}); err == nil ||
		!strings.Contains(err.Error(), "every token is listed") {
		t.Errorf("k = K with residual: %v", err)
	}
	if _, err := SparseFromData(1, 3, 1, []int32{0}, []float32{1}, nil); err == nil ||
		!strings.Contains(err.Error(), "needs 1 ids, 1 probs, 1 residuals") {
		t.Errorf("wrong lengths: %v", err)
	}
	if _, err := SparseFromData(1, 0, 0, nil, nil, []float32{1}); err == nil {
		t.Errorf("K = 0 accepted")
	}
}

func TestSparseTable(t *testing.T) {
	// K = 6, listed {2: 0.5, 4: 0.2}, residual 0.3 over 4 tokens: 0.075 each.
	r := SparseRow{K: 6, IDs: []int32{2, 4}, Probs: []float32{0.5, 0.2}, Resid: 0.3}
	// H = −0.5 ln 0.5 − 0.2 ln 0.2 − 0.3 ln 0.075 (hand derivation).
	wantH := -0.5*math.Log(0.5) - 0.2*math.Log(0.2) - 0.3*math.Log(0.075)
	if h := r.Entropy(); !(math.Abs(h-wantH) <= 1e-6) {
		t.Errorf("Entropy = %g, want %g", h, wantH)
	}
	if id, gap := r.Margin(); id != 2 || !(math.Abs(gap-0.3) <= 1e-6) {
		t.Errorf("Margin = (%d, %g), want (2, 0.3)", id, gap)
	}
	// Residual share above the top listed entry: argmax is the smallest
	// unlisted id (0), the gap is 0 because another unlisted token ties.
	r2 := SparseRow{K: 4, IDs: []int32{1}, Probs: []float32{0.1}, Resid: 0.9}
	if id, gap := r2.Margin(); id != 0 || !(math.Abs(gap) <= 1e-7) {
		t.Errorf("Margin = (%d, %g), want (0, 0)", id, gap)
	}
	// Nothing listed: uniform over K.
	r3 := SparseRow{K: 3, Resid: 1}
	if h := r3.Entropy(); !(math.Abs(h-math.Log(3)) <= 1e-7) {
		t.Errorf("uniform entropy %g, want log 3", h)
	}
	if id := r3.Argmax(); id != 0 {
		t.Errorf("uniform argmax %d", id)
	}
	// Disjoint support gives KL = +Inf.
	a := SparseRow{K: 3, IDs: []int32{0}, Probs: []float32{1}}
	b := SparseRow{K: 3, IDs: []int32{1, 2}, Probs: []float32{0.5, 0.5}}
	if kl := SparseKL(a, b); !math.IsInf(kl, 1) {
		t.Errorf("KL of disjoint rows %g", kl)
	}
	if tv := SparseTV(a, b); !(math.Abs(tv-1) <= 1e-7) {
		t.Errorf("TV of disjoint rows %g", tv)
	}
}

// TestSparseSampleChiSquare draws from a sparse row at a fixed seed and
// checks Pearson's statistic against the 0.999 quantile of χ² with 5
// degrees of freedom, 20.52 (standard tables).
func TestSparseSampleChiSquare(t *testing.T) {
	r := SparseRow{K: 6, IDs: []int32{2, 4}, Probs: []float32{0.5, 0.2}, Resid: 0.3}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 40000
	var count [6]int
	for range n {
		count[r.Sample(rng)]++
	}
	var chi float64
	for v := int32(0); v < 6; v++ {
		e := n * r.Prob(v)
		chi += (float64(count[v]) - e) * (float64(count[v]) - e) / e
	}
	if !(chi <= 20.52) {
		t.Fatalf("χ² = %g over 5 dof, counts %v", chi, count)
	}
}

func TestSampleSparseRowsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	d := randDense(rng, 300, 20)
	s := NewSparse(300, 20, 3)
	SparseTopK(s, d, 0)
	ref := make([]int32, 300)
	SampleSparseRows(ref, s, 42, 1)
	for _, w := range []int{2, 3, 16} {
		got := make([]int32, 300)
		SampleSparseRows(got, s, 42, w)
		for i := range got {
			if got[i] != ref[i] {
				t.Fatalf("workers %d: row %d drew %d, one worker drew %d", w, i, got[i], ref[i])
			}
		}
	}
}

func TestSparseShapePanics(t *testing.T) {
	mustPanic(t, "NewSparse k > K", func() { NewSparse(1, 3, 4) })
	mustPanic(t, "SparseTopK shape", func() { SparseTopK(NewSparse(2, 3, 1), NewDense(2, 4), 1) })
	mustPanic(t, "SparseToDense shape", func() { SparseToDense(NewDense(1, 3), NewSparse(2, 3, 1), 1) })
	mustPanic(t, "Row range", func() { NewSparse(2, 3, 1).Row(2) })
	mustPanic(t, "SparseTV widths", func() { SparseTV(SparseRow{K: 2, Resid: 1}, SparseRow{K: 3, Resid: 1}) })
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}
