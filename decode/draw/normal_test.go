package draw

import (
	"math"
	"math/rand/v2"
	"testing"
)

// normWords are the 64-bit words the tests feed boxMuller: random ones and
// the extremes of both halves (u = 2^−24 and u = 1, φ at both ends and the
// middle of its range, every sign pattern).
func normWords() []uint64 {
	rng := rand.New(rand.NewPCG(3, 4))
	var w []uint64
	for _, lo := range []uint32{0, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xffffff00, 0xffffffff} {
		for _, hi := range []uint32{0, 1<<22 - 1, 1 << 21, 1<<21 - 1, 1 << 30, 1 << 31, 0xffffffff, 0xc0200000} {
			w = append(w, uint64(hi)<<32|uint64(lo))
		}
	}
	for range 200000 {
		w = append(w, rng.Uint64())
	}
	for len(w)%8 != 0 {
		w = append(w, rng.Uint64())
	}
	return w
}

// TestNormalsVectorMatchesGo: the vector kernel (present in the
// GOEXPERIMENT=simd build on AVX2) returns the pure-Go kernel's bits.
func TestNormalsVectorMatchesGo(t *testing.T) {
	if !haveVec {
		t.Skip("no vector kernel in this build")
	}
	w := normWords()
	lo, hi := make([]uint32, len(w)), make([]uint32, len(w))
	for j, x := range w {
		lo[j], hi[j] = uint32(x), uint32(x>>32)
	}
	c1, c2 := make([]float32, len(w)), make([]float32, len(w))
	normalsVec(c1, c2, lo, hi)
	for j := range w {
		g1, g2 := boxMuller(lo[j], hi[j])
		if math.Float32bits(g1) != math.Float32bits(c1[j]) || math.Float32bits(g2) != math.Float32bits(c2[j]) {
			t.Fatalf("word %#x: vector (%v, %v), Go (%v, %v)", w[j], c1[j], c2[j], g1, g2)
		}
	}
}

// TestNormalsAccuracy: each pair against the float64 Box–Muller formula of
// the doc, computed with math.Log, math.Sqrt, math.Cos and math.Sin from
// the same bits (an independent computation). The tolerance, 1e-6·(1 + r),
// is a few float32 ulps of r (≤ 5.77) plus the cancellation in
// cos x − sin x near x = π/4 (absolute, ~1e-7·r).
func TestNormalsAccuracy(t *testing.T) {
	for _, x := range normWords() {
		lo, hi := uint32(x), uint32(x>>32)
		u := float64(lo>>8+1) / (1 << 24)
		r := math.Sqrt(-2 * math.Log(u))
		phi := math.Pi/4 + (float64(hi&(1<<22-1))-(1<<21)+0.5)*math.Pi/(1<<23)
		w1, w2 := r*math.Cos(phi), r*math.Sin(phi)
		if hi&(1<<31) != 0 {
			w1 = -w1
		}
		if hi&(1<<30) != 0 {
			w2 = -w2
		}
		g1, g2 := boxMuller(lo, hi)
		tol := 1e-6 * (1 + r)
		if d1, d2 := math.Abs(float64(g1)-w1), math.Abs(float64(g2)-w2); !(d1 <= tol && d2 <= tol) {
			t.Fatalf("word %#x: (%v, %v), float64 formula (%v, %v)", x, g1, g2, w1, w2)
		}
	}
}

// TestNormalsLayout: Normals writes the pairs of each chunk of 128 as the
// doc says (first variates, then second ones, the last second one dropped
// for an odd chunk), reproduced here from the words of a second PCG with
// the same seed.
func TestNormalsLayout(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 16, 17, 127, 128, 129, 255, 999, 1000} {
		dst := make([]float32, n)
		Normals(dst, rand.NewPCG(5, 6))
		ref := rand.NewPCG(5, 6)
		want := make([]float32, 0, n)
		for off := 0; off < n; off += 128 {
			c := min(128, n-off)
			p := (c + 1) / 2
			a, b := make([]float32, p), make([]float32, p)
			for j := range p {
				w := ref.Uint64()
				a[j], b[j] = boxMuller(uint32(w), uint32(w>>32))
			}
			want = append(want, a...)
			want = append(want, b[:c-p]...)
		}
		for j := range dst {
			if math.Float32bits(dst[j]) != math.Float32bits(want[j]) {
				t.Fatalf("n=%d: entry %d is %v, want %v", n, j, dst[j], want[j])
			}
		}
	}
}

// TestNormalsMoments: over 2^20 draws the sample mean, variance, fourth
// moment and the correlation of the two variates of a pair match N(0, 1)
// (mean 0, variance 1, E z⁴ = 3, independent pairs) within 5 standard
// errors (sd of the mean 1/√n ≈ 0.001, of the variance √(2/n) ≈ 0.0014,
// of the fourth moment √(96/n) ≈ 0.0096), and the share of draws below
// −1, 0 and 1.5 matches Φ (0.158655, 0.5, 0.933193, values of the normal
// CDF) within 5·√(p(1−p)/n).
func TestNormalsMoments(t *testing.T) {
	const n = 1 << 20
	z := make([]float32, n)
	Normals(z, rand.NewPCG(7, 8))
	var s1, s2, s4, cross float64
	var below [3]int
	cuts := [3]float64{-1, 0, 1.5}
	for j, x := range z {
		v := float64(x)
		s1 += v
		s2 += v * v
		s4 += v * v * v * v
		for c, cut := range cuts {
			if v < cut {
				below[c]++
			}
		}
		if j%128 < 64 { // first variate of a pair; its partner is 64 on
			cross += v * float64(z[j+64])
		}
	}
	mean, vr, m4, corr := s1/n, s2/n, s4/n, cross/(n/2)
	se := 1 / math.Sqrt(n)
	if !(math.Abs(mean) <= 5*se && math.Abs(vr-1) <= 5*math.Sqrt(2)*se && math.Abs(m4-3) <= 5*math.Sqrt(96)*se && math.Abs(corr) <= 5*se*math.Sqrt(2)) {
		t.Fatalf("mean %v, variance %v, E z^4 %v, pair correlation %v", mean, vr, m4, corr)
	}
	for c, want := range [3]float64{0.158655, 0.5, 0.933193} {
		got := float64(below[c]) / n
		if !(math.Abs(got-want) <= 5*math.Sqrt(want*(1-want)/n)) {
			t.Fatalf("P(z < %v) = %v, want %v", cuts[c], got, want)
		}
	}
}

func BenchmarkNormals(b *testing.B) {
	dst := make([]float32, 1000)
	src := rand.NewPCG(1, 2)
	b.SetBytes(4000)
	for b.Loop() {
		Normals(dst, src)
	}
}

func BenchmarkNormFloat64(b *testing.B) {
	dst := make([]float32, 1000)
	rng := rand.New(rand.NewPCG(1, 2))
	b.SetBytes(4000)
	for b.Loop() {
		for j := range dst {
			dst[j] = float32(rng.NormFloat64())
		}
	}
}

// TestBoxMuller8: the pure-Go 8-lane form returns boxMuller's bits.
func TestBoxMuller8(t *testing.T) {
	w := normWords()
	for j := 0; j+8 <= len(w); j += 8 {
		var lo, hi [8]uint32
		var c1, c2 [8]float32
		for l := range 8 {
			lo[l], hi[l] = uint32(w[j+l]), uint32(w[j+l]>>32)
		}
		boxMuller8(&c1, &c2, &lo, &hi)
		for l := range 8 {
			g1, g2 := boxMuller(lo[l], hi[l])
			if math.Float32bits(g1) != math.Float32bits(c1[l]) || math.Float32bits(g2) != math.Float32bits(c2[l]) {
				t.Fatalf("word %#x: 8-lane (%v, %v), scalar (%v, %v)", w[j+l], c1[l], c2[l], g1, g2)
			}
		}
	}
}

// TestAddScaled2: every entry equals the float32 expression of the doc
// evaluated here entry by entry, at lengths around the vector width.
func TestAddScaled2(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 7, 8, 9, 17, 999} {
		dst, a, b := make([]float32, n), make([]float32, n), make([]float32, n)
		for j := range n {
			dst[j], a[j], b[j] = float32(rng.NormFloat64()), float32(rng.Float64()), float32(rng.NormFloat64())
		}
		want := make([]float32, n)
		u, w := float32(0.37), float32(1.9)
		for j := range n {
			pa, pb := float64(u)*float64(a[j]), float64(w)*float64(b[j]) // exact in float64
			want[j] = dst[j] + (float32(pa) + float32(pb))
		}
		AddScaled2(dst, a, b, u, w)
		for j := range n {
			if math.Float32bits(dst[j]) != math.Float32bits(want[j]) {
				t.Fatalf("n=%d entry %d: %v, want %v", n, j, dst[j], want[j])
			}
		}
	}
}
