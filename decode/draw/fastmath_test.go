package draw

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

func TestLog32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		x := float32(math.Exp(rng.Float64()*170 - 85))
		got, want := log32(x), math.Log(float64(x))
		if !(math.Abs(got-want) <= 2e-7) {
			t.Fatalf("log32(%v) = %v, want %v", x, got, want)
		}
	}
	for _, x := range []float32{1, 2, 0.5, math.Sqrt2, 0x1p-126, math.MaxFloat32} {
		if got, want := log32(x), math.Log(float64(x)); !(math.Abs(got-want) <= 2e-7) {
			t.Fatalf("log32(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestEntropyMatchesSoft(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float32, 1000)
	for range 100 {
		var z float64
		for v := range p {
			p[v] = float32(rng.ExpFloat64())
			if rng.IntN(4) == 0 {
				p[v] = 0
			}
			z += float64(p[v])
		}
		for v := range p {
			p[v] = float32(float64(p[v]) / z)
		}
		if got, want := Entropy(p), soft.Entropy(p); !(math.Abs(got-want) <= 1e-6) {
			t.Fatalf("entropy %v, soft.Entropy %v", got, want)
		}
	}
}

func BenchmarkEntropy(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float32, 1000)
	var z float64
	for v := range p[:999] {
		p[v] = float32(rng.ExpFloat64())
		z += float64(p[v])
	}
	for v := range p {
		p[v] = float32(float64(p[v]) / z)
	}
	b.Run("Entropy", func(b *testing.B) {
		for b.Loop() {
			Entropy(p)
		}
	})
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			entropyGo(p)
		}
	})
	b.Run("soft.Entropy", func(b *testing.B) {
		for b.Loop() {
			soft.Entropy(p)
		}
	})
}

// entropyGo is Entropy's table path as it was before plogpTab (commit
// d3e49dc), verbatim: the default build's arithmetic, the reference of
// TestEntropyDefaultUnchanged and BenchmarkEntropyKernels/go-old.
func entropyGo(p []float32) float64 {
	var h0, h1, h2, h3 float64
	n := len(p) &^ 3
	for j := 0; j < n; j += 4 {
		q := p[j : j+4 : j+4]
		h0 += plogp(q[0])
		h1 += plogp(q[1])
		h2 += plogp(q[2])
		h3 += plogp(q[3])
	}
	for _, x := range p[n:] {
		h0 += plogp(x)
	}
	return -((h0 + h1) + (h2 + h3))
}

// entropyF64 is −Σ p log p with math.Log in float64: the independent
// reference.
func entropyF64(p []float32) float64 {
	var h float64
	for _, x := range p {
		if x > 0 {
			h -= float64(x) * math.Log(float64(x))
		}
	}
	return h
}

// TestEntropyVectorMatchesGo: in the simd build the vector kernel (Cephes'
// polynomial log) agrees with the float64 reference within 1e-6·max(1, H)
// on rows of several lengths and shapes (flat, peaked, with zeros and
// subnormals); the table path meets the same bound. In the default build
// Entropy must be the table path bit for bit.
func TestEntropyVectorMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{8, 9, 15, 64, 127, 1000, 4099} {
		p := make([]float32, n)
		for trial := range 40 {
			var z float64
			for v := range p {
				switch {
				case trial%4 == 0:
					p[v] = 1 // flat
				case rng.IntN(5) == 0:
					p[v] = 0
				case rng.IntN(50) == 0:
					p[v] = 0x1p-140 // subnormal
				default:
					p[v] = float32(math.Exp(rng.NormFloat64() * float64(trial%7+1)))
				}
				z += float64(p[v])
			}
			if z == 0 {
				p[0], z = 1, 1
			}
			for v := range p {
				p[v] = float32(float64(p[v]) / z)
			}
			want := entropyF64(p)
			tol := 1e-6 * max(1, want)
			got, tab := Entropy(p), entropyGo(p)
			if !(math.Abs(got-want) <= tol) || !(math.Abs(tab-want) <= tol) {
				t.Fatalf("n=%d trial %d: Entropy %v, table %v, float64 %v", n, trial, got, tab, want)
			}
			if !haveFMA && math.Float64bits(got) != math.Float64bits(tab) {
				t.Fatalf("n=%d: default build Entropy %v differs from the table path %v", n, got, tab)
			}
		}
	}
	if haveFMA {
		// Special values: zeros only give 0; a one-hot row gives 0 exactly
		// enough (log 1 = 0 in the polynomial: f = 0).
		p := make([]float32, 16)
		if h := entropyVec(p); h != 0 {
			t.Fatalf("zero row: %v", h)
		}
		p[3] = 1
		if h := entropyVec(p); !(math.Abs(h) <= 1e-12) {
			t.Fatalf("one-hot row: %v", h)
		}
	}
}

// TestSharpenVectorMatches: Sharpen (the vector kernel in the simd build,
// the table path otherwise) against p^(1/T)/Σ p^(1/T) computed with
// math.Pow in float64: within 1e-5 relative for entries above 1e-30 and
// T ≥ 0.2, below 1e-30 absolute for the others.
func TestSharpenVectorMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{8, 13, 64, 1000, 1003} {
		p, dst, ref := make([]float32, n), make([]float32, n), make([]float64, n)
		for _, T := range []float64{0.2, 0.5, 1, 2} {
			for trial := range 20 {
				var z float64
				for v := range p {
					p[v] = float32(math.Exp(rng.NormFloat64() * float64(trial%5+1)))
					if rng.IntN(7) == 0 {
						p[v] = 0
					}
					z += float64(p[v])
				}
				p[rng.IntN(n)] = 1
				z++
				var mx float64
				for v := range p {
					p[v] = float32(float64(p[v]) / z)
					mx = max(mx, float64(p[v]))
				}
				var s float64
				for v, x := range p {
					ref[v] = 0
					if x >= 0x1p-126 {
						ref[v] = math.Pow(float64(x)/mx, 1/T)
					}
					s += ref[v]
				}
				Sharpen(dst, p, T)
				for v := range p {
					want := ref[v] / s
					tol := 1e-5 * want
					if want < 1e-30 {
						tol = 1e-30
					}
					if !(math.Abs(float64(dst[v])-want) <= tol) {
						t.Fatalf("n=%d T=%v entry %d: %v, want %v (vector %v)", n, T, v, dst[v], want, haveFMA)
					}
				}
			}
		}
	}
}

func BenchmarkSharpen(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	p, dst := make([]float32, 1000), make([]float32, 1000)
	for v := range p {
		p[v] = float32(rng.ExpFloat64() / 1000)
	}
	b.Run("Sharpen", func(b *testing.B) {
		for b.Loop() {
			Sharpen(dst, p, 0.2)
		}
	})
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			sharpenGo(dst, p, 0.2)
		}
	})
}

// sharpenGo is Sharpen's table path (the default build's code).
func sharpenGo(dst, p []float32, T float64) {
	lmax := log32(p[soft.Argmax(p)])
	inv := 1 / T
	var z float64
	for v, x := range p {
		if x < 0x1p-126 {
			dst[v] = 0
			continue
		}
		e := math.Exp((log32(x) - lmax) * inv)
		dst[v] = float32(e)
		z += e
	}
	s := float32(1 / z)
	for v := range dst {
		dst[v] *= s
	}
}

// nucleusRef is Nucleus's rule by a full sort: tokens in decreasing value
// (ties to the smaller index), each kept while the float64 mass before it
// is ≤ topP.
func nucleusRef(q []float32, topP float64) []float32 {
	idx := make([]int, len(q))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return q[idx[a]] > q[idx[b]] })
	out := make([]float32, len(q))
	var c float64
	for _, i := range idx {
		if c > topP {
			break
		}
		out[i] = q[i]
		c += float64(q[i])
	}
	return out
}

// TestNucleusMatchesSort: Nucleus (with the vector pre-pass in the simd
// build) keeps exactly the tokens of the sort-based rule, on rows whose
// nucleus is small, large or the whole row, with ties and zeros.
func TestNucleusMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{64, 70, 1000, 4096} {
		q, scratch := make([]float32, n), make([]float32, n)
		for trial := range 60 {
			var z float64
			for v := range q {
				switch trial % 4 {
				case 0: // ties: few distinct values
					q[v] = float32(rng.IntN(4))
				case 1: // peaked
					q[v] = float32(math.Exp(rng.NormFloat64() * 8))
				default:
					q[v] = float32(rng.ExpFloat64())
				}
				if rng.IntN(6) == 0 {
					q[v] = 0
				}
				z += float64(q[v])
			}
			q[0] = 1
			z++
			for v := range q {
				q[v] = float32(float64(q[v]) / z)
			}
			topP := []float64{0.5, 0.9, 0.95, 0.999, 1.5}[trial%5]
			want := nucleusRef(q, topP)
			got := append([]float32(nil), q...)
			changed := Nucleus(got, topP, scratch)
			wantChanged := false
			for v := range q {
				if math.Float32bits(got[v]) != math.Float32bits(want[v]) {
					t.Fatalf("n=%d trial %d topP %v: entry %d = %v, want %v", n, trial, topP, v, got[v], want[v])
				}
				if want[v] != q[v] {
					wantChanged = true
				}
			}
			if changed != wantChanged {
				t.Fatalf("n=%d trial %d: changed %v, want %v", n, trial, changed, wantChanged)
			}
		}
	}
}

func BenchmarkNucleus(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	p, q, scratch := make([]float32, 1000), make([]float32, 1000), make([]float32, 1000)
	for v := range p {
		p[v] = float32(rng.ExpFloat64() / 1000)
	}
	Sharpen(p, p, 0.2)
	b.Run("Nucleus", func(b *testing.B) {
		for b.Loop() {
			copy(q, p)
			Nucleus(q, 0.95, scratch)
		}
	})
	b.Run("quickselect", func(b *testing.B) {
		for b.Loop() {
			copy(q, p)
			copy(scratch, q)
			th, bud := nucleusSelect(scratch, 0.95)
			nucleusCut(q, th, bud)
		}
	})
}

// TestSharpenGoIsDefault: in the default build Sharpen is sharpenGo bit for
// bit (so the benchmark's reference is the default build's code).
func TestSharpenGoIsDefault(t *testing.T) {
	if haveFMA {
		t.Skip("vector build")
	}
	rng := rand.New(rand.NewPCG(6, 6))
	p, a, b := make([]float32, 1000), make([]float32, 1000), make([]float32, 1000)
	for v := range p {
		p[v] = float32(rng.ExpFloat64() / 1000)
	}
	Sharpen(a, p, 0.3)
	sharpenGo(b, p, 0.3)
	for v := range a {
		if math.Float32bits(a[v]) != math.Float32bits(b[v]) {
			t.Fatalf("entry %d: %v, %v", v, a[v], b[v])
		}
	}
}

// nucleusOld is Nucleus as it was before the vector pre-pass (commit
// e02aa3d), verbatim: the reference for TestNucleusDefaultUnchanged.
func nucleusOld(q []float32, topP float64, scratch []float32) bool {
	var total float64
	for _, x := range q {
		total += float64(x)
	}
	if total <= topP {
		return false
	}
	w := scratch[:len(q)]
	copy(w, q)
	budget := topP // mass still allowed before θ
	var theta float32
	for len(w) > 0 {
		// median of three as pivot
		a, b, c := w[0], w[len(w)/2], w[len(w)-1]
		piv := max(min(a, b), min(max(a, b), c))
		// three-way partition: [> piv | == piv | < piv]
		lt, i, gt := 0, 0, len(w)
		for i < gt {
			switch x := w[i]; {
			case x > piv:
				w[lt], w[i] = w[i], w[lt]
				lt++
				i++
			case x < piv:
				gt--
				w[gt], w[i] = w[i], w[gt]
			default:
				i++
			}
		}
		var above, eq float64
		for _, x := range w[:lt] {
			above += float64(x)
		}
		eq = float64(piv) * float64(gt-lt)
		switch {
		case above > budget:
			w = w[:lt]
		case above+eq > budget:
			theta = piv
			budget -= above
			w = nil
		default:
			budget -= above + eq
			w = w[gt:]
		}
	}
	// keep q > θ, and the first r entries equal to θ with r·θ > budget
	// minimal (r ≥ 1)
	r := int(budget/float64(theta)) + 1
	changed := false
	for v, x := range q {
		switch {
		case x > theta:
		case x == theta && r > 0:
			r--
		default:
			if x != 0 {
				changed = true
			}
			q[v] = 0
		}
	}
	return changed
}

// TestNucleusDefaultUnchanged: in the default build Nucleus gives the same
// bits and the same report as the code before the change, on random rows
// (flat, peaked, tied, with zeros) and several topP.
func TestNucleusDefaultUnchanged(t *testing.T) {
	if haveFMA {
		t.Skip("vector build: the pre-pass may differ within rounding")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{5, 64, 1000} {
		q, s1, s2 := make([]float32, n), make([]float32, n), make([]float32, n)
		for trial := range 200 {
			var z float64
			for v := range q {
				switch trial % 3 {
				case 0:
					q[v] = float32(rng.IntN(3))
				case 1:
					q[v] = float32(math.Exp(rng.NormFloat64() * 6))
				default:
					q[v] = float32(rng.Float64())
				}
				z += float64(q[v])
			}
			if z == 0 {
				q[0], z = 1, 1
			}
			for v := range q {
				q[v] = float32(float64(q[v]) / z)
			}
			topP := rng.Float64()
			a, b := append([]float32(nil), q...), append([]float32(nil), q...)
			ca, cb := Nucleus(a, topP, s1), nucleusOld(b, topP, s2)
			if ca != cb {
				t.Fatalf("n=%d trial %d: changed %v, before %v", n, trial, ca, cb)
			}
			for v := range a {
				if math.Float32bits(a[v]) != math.Float32bits(b[v]) {
					t.Fatalf("n=%d trial %d entry %d: %v, before %v", n, trial, v, a[v], b[v])
				}
			}
		}
	}
}
