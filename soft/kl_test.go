package soft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// klRef is KL(p‖q) computed entry by entry with float64 math.Log of the
// float64 ratio, summed in index order: the definition Σ p log(p/q), +Inf
// when some p_v > 0 has q_v ≤ 0, clamped at 0.
func klRef(p, q []float32) (kl, scale float64) {
	for i, x := range p {
		scale += 1e-1 * float64(max(x, 0)) // the ratio's rounding, see below
		if x > 0 {
			if q[i] <= 0 {
				return math.Inf(1), 0
			}
			t := float64(x) * math.Log(float64(x)/float64(q[i]))
			kl += t
			scale += math.Abs(t)
		}
	}
	return max(kl, 0), scale
}

// TestKLVectorMatches checks KL (the vector kernel klVec in the simd build
// on an AVX2+FMA CPU, the scalar loop otherwise) against klRef within
// 1e-14·(Σ p|log(p/q)| + 0.1·Σ p), the documented bound: the float64
// polynomial logarithm is within a few ulps per term and the sum's order
// differs (the first part); the reference's float64 ratio p/q is rounded
// (relative 1.1e-16, so 1.1e-16 absolute in its logarithm, 1.1e-16·Σ p in
// all; the kernel's s = (m_p − m_q)/(m_p + m_q) is rounded likewise), which
// dominates when p ≈ q and the logarithms are small (the second part):
// random rows of lengths around the 8-lane blocks, rows with zeros, with
// tiny and subnormal entries, with extreme ratios, equal rows (KL exactly
// 0: every ratio is 1, s = 0, k = 0) and q = 0 where p > 0 (+Inf) at a
// vector and at a tail position.
func TestKLVectorMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	var worst float64
	defer func() { t.Logf("worst error / scale: %.3g", worst) }()
	check := func(name string, p, q []float32) {
		t.Helper()
		got := KL(p, q)
		want, scale := klRef(p, q)
		if math.IsInf(want, 1) {
			if !math.IsInf(got, 1) {
				t.Fatalf("%s: KL = %g, want +Inf", name, got)
			}
			return
		}
		if r := math.Abs(got-want) / scale; r > worst {
			worst = r
		}
		if !(math.Abs(got-want) <= 1e-14*scale) {
			t.Fatalf("%s: KL = %.17g, reference %.17g (scale %g)", name, got, want, scale)
		}
	}
	row := func(n int, zeroFrac float64, spread float64) []float32 {
		p := make([]float32, n)
		var s float64
		for i := range p {
			if rng.Float64() < zeroFrac {
				continue
			}
			x := math.Exp(spread * rng.NormFloat64())
			p[i] = float32(x)
			s += x
		}
		for i := range p {
			p[i] = float32(float64(p[i]) / s)
		}
		return p
	}
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 64, 100, 1000, 1003} {
		for _, spread := range []float64{0.01, 1, 5, 20} {
			p, q := row(n, 0, spread), row(n, 0, spread)
			check("random", p, q)
			check("reverse", q, p)
			// zeros in p only: those terms are 0
			pz := row(n, 0.3, spread)
			check("p zeros", pz, q)
			// equal rows: exactly 0
			if got := KL(p, p); got != 0 {
				t.Fatalf("KL(p‖p) = %g, n %d", got, n)
			}
			// a small perturbation: KL ≈ ½χ², much below the scale
			pq := make([]float32, n)
			for i, x := range p {
				pq[i] = x * float32(1+1e-4*rng.NormFloat64())
			}
			check("perturbed", p, pq)
		}
	}
	// tiny, subnormal and extreme entries (blocks with subnormals take the
	// scalar loop)
	p, q := row(64, 0, 1), row(64, 0, 1)
	p[3], q[3] = 1e-30, 1e-38
	p[10], q[10] = 0.5, 1e-37
	p[20], q[20] = 1e-37, 0.5
	check("extreme", p, q)
	p[40], q[41] = 1e-40, 1e-42
	check("subnormal", p, q)
	// q = 0 where p > 0: +Inf, in a vector block and in the tail
	for _, at := range []int{0, 5, 12, 63} {
		p, q := row(67, 0, 1), row(67, 0, 1)
		q[at] = 0
		check("q zero", p, q)
		// q = 0 where p = 0: no term
		p[at] = 0
		check("both zero", p, q)
	}
	p, q = row(67, 0, 1), row(67, 0, 1)
	q[65] = 0
	check("q zero tail", p, q)
}

// klLoop is KL's scalar loop before the vector kernel (verbatim), the
// "old" side of BenchmarkKL.
func klLoop(p, q []float32) float64 {
	var s float64
	for i, x := range p {
		if x > 0 {
			if q[i] <= 0 {
				return math.Inf(1)
			}
			s += float64(x) * math.Log(float64(x)/float64(q[i]))
		}
	}
	if s < 0 {
		return 0
	}
	return s
}

// BenchmarkKL compares the scalar loop (old) with KL (new: the vector
// kernel in the simd build) on rows of K = 1000, the LRD benchmark's size.
//
//	GOEXPERIMENT=simd go test ./soft -run '^$' -bench '^BenchmarkKL$'
func BenchmarkKL(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	const K = 1000
	p, q := make([]float32, K), make([]float32, K)
	var sp, sq float64
	for i := range p {
		p[i], q[i] = float32(rng.ExpFloat64()), float32(rng.ExpFloat64())
		sp, sq = sp+float64(p[i]), sq+float64(q[i])
	}
	for i := range p {
		p[i], q[i] = float32(float64(p[i])/sp), float32(float64(q[i])/sq)
	}
	var sink float64
	b.Run("old", func(b *testing.B) {
		for b.Loop() {
			sink += klLoop(p, q)
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			sink += KL(p, q)
		}
	})
	_ = sink
}

// TestKLBound checks that KLBound bounds KL from above, in this build, and
// the float64 math.Log reference too, on random rows (normalised and not,
// so that Σp ≠ Σq), near-equal rows (KL of the order of float32
// rounding, where the bound's margins matter), rows with tiny, subnormal
// and zero entries; that it is +Inf where KL is; and that it is not loose:
// at most max(0, χ + D)·(1 + 2e-5) + 1e-9·(1 + χ + M) with χ, D and M
// computed in float64 here (the bound of its doc, with looser margins).
func TestKLBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 8))
	row := func(n int, spread float64, norm bool) []float32 {
		p := make([]float32, n)
		var s float64
		for i := range p {
			x := math.Exp(spread * rng.NormFloat64())
			p[i] = float32(x)
			s += x
		}
		if norm {
			for i := range p {
				p[i] = float32(float64(p[i]) / s)
			}
		}
		return p
	}
	check := func(name string, p, q []float32) {
		t.Helper()
		b, kl := KLBound(p, q), KL(p, q)
		ref, _ := klRef(p, q)
		if math.IsInf(kl, 1) {
			if !math.IsInf(b, 1) {
				t.Fatalf("%s: KL +Inf, bound %g", name, b)
			}
			return
		}
		var chi, d, m float64
		for i, x := range p {
			if x > 0 {
				e := float64(x) - float64(q[i])
				chi += e * e / float64(q[i])
				d += e
				m += float64(x) + float64(q[i])
			}
		}
		if !(b >= kl && b >= ref && b <= max(0, chi+d)*(1+2e-5)+1e-9*(1+chi+m)) {
			t.Fatalf("%s: bound %.17g, KL %.17g, reference %.17g, χ+D %.17g", name, b, kl, ref, chi+d)
		}
	}
	for _, n := range []int{1, 7, 8, 9, 17, 64, 1000, 1003} {
		for _, spread := range []float64{0.01, 1, 4} {
			for _, norm := range []bool{true, false} {
				p, q := row(n, spread, norm), row(n, spread, norm)
				check("random", p, q)
				check("equal", p, p)
				for _, eps := range []float64{1e-7, 1e-5, 1e-3} {
					pq := make([]float32, n)
					for i, x := range p {
						pq[i] = x * float32(1+eps*rng.NormFloat64())
					}
					check("perturbed", p, pq)
					check("perturbed reverse", pq, p)
				}
			}
		}
	}
	p, q := row(64, 1, true), row(64, 1, true)
	p[3], q[3] = 1e-30, 1e-38
	p[10], q[10] = 0.5, 1e-37
	p[20], q[20] = 1e-37, 0.5
	p[40], q[41] = 1e-40, 1e-42
	p[50], q[50] = 0, 0
	check("extreme", p, q)
	q[30] = 0
	check("q zero", p, q)
	p, q = row(67, 1, true), row(67, 1, true)
	q[66] = 0
	check("q zero tail", p, q)
}

// BenchmarkKLBound compares KL with KLBound (the log-free bound LRD's
// convergence test tries first) on near-equal rows of K = 1000.
//
//	GOEXPERIMENT=simd go test ./soft -run '^$' -bench '^BenchmarkKLBound$'
func BenchmarkKLBound(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const K = 1000
	p, q := make([]float32, K), make([]float32, K)
	var s float64
	for i := range p {
		p[i] = float32(rng.ExpFloat64())
		s += float64(p[i])
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / s)
		q[i] = p[i] * float32(1+1e-3*rng.NormFloat64())
	}
	var sink float64
	b.Run("KL", func(b *testing.B) {
		for b.Loop() {
			sink += KL(p, q)
		}
	})
	b.Run("KLBound", func(b *testing.B) {
		for b.Loop() {
			sink += KLBound(p, q)
		}
	})
	_ = sink
}

// TestKLBoundNegativeZero: a q entry of −0 (a belief the check accepts:
// −0 ≥ 0) where p > 0 makes KL +Inf, so its bound is +Inf too, on the
// scalar path and on the vector one (rows of 3 and of 40 entries): −0 must
// be read as "q ≤ 0", not divided by (e²/−0 = −Inf would make the bound
// −Inf).
func TestKLBoundNegativeZero(t *testing.T) {
	for _, n := range []int{3, 40} {
		p, q := make([]float32, n), make([]float32, n)
		for i := range p {
			p[i], q[i] = 1/float32(n), 1/float32(n)
		}
		q[1] = float32(math.Copysign(0, -1))
		if got := KLBound(p, q); !math.IsInf(got, 1) {
			t.Fatalf("n=%d: KLBound with q = -0 where p > 0: %v, want +Inf", n, got)
		}
		if got := KL(p, q); !math.IsInf(got, 1) {
			t.Fatalf("n=%d: KL with q = -0 where p > 0: %v, want +Inf", n, got)
		}
	}
}
