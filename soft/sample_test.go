package soft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sampleOld is Sample's scalar rule as it was before the vector path,
// verbatim: the reference of TestSampleDefaultUnchanged and of the
// vector-versus-scalar comparison.
func sampleOld(rng *rand.Rand, p []float32) int32 {
	var total float64
	for _, x := range p {
		if x > 0 {
			total += float64(x)
		}
	}
	if !(total > 0) {
		panic("soft: Sample from a row with no positive entry")
	}
	u := rng.Float64() * total
	var c float64
	last := int32(-1)
	for j, x := range p {
		if x > 0 {
			c += float64(x)
			last = int32(j)
			if u < c {
				return last
			}
		}
	}
	return last
}

// sampleRow fills p with a row of one of several shapes: dense, with
// zeros (and negative or NaN entries, which Sample ignores), a single
// nonzero, mass only at the end, peaked, flat.
func sampleRow(rng *rand.Rand, p []float32, shape int) {
	clear(p)
	n := len(p)
	switch shape % 7 {
	case 0: // dense
		for v := range p {
			p[v] = float32(rng.ExpFloat64() / float64(n))
		}
	case 1: // zeros, negatives, NaN
		for v := range p {
			switch rng.IntN(5) {
			case 0, 1:
			case 2:
				p[v] = -1
			case 3:
				p[v] = float32(math.NaN())
			default:
				p[v] = float32(rng.Float64())
			}
		}
		p[rng.IntN(n)] = 0.5
	case 2: // a single nonzero
		p[rng.IntN(n)] = 1
	case 3: // mass only in the last few entries
		for v := max(0, n-1-rng.IntN(3)); v < n; v++ {
			p[v] = float32(rng.Float64() + 0.1)
		}
	case 4: // peaked
		for v := range p {
			p[v] = float32(math.Exp(rng.NormFloat64() * 5))
		}
	case 5: // flat, unnormalised
		for v := range p {
			p[v] = 3
		}
	case 6: // the first entry and the last
		p[0], p[n-1] = float32(rng.Float64()), float32(rng.Float64())
	}
}

// TestSampleMatchesCumulative: Sample's index against the inversion of an
// independently computed cumulative sum. The reference prefix sums C_j of
// the positive entries are Neumaier-compensated float64 sums (error far
// below one float64 rounding of the total), u = r·C_K with r the same
// uniform (a clone of the generator), and the expected index the first
// positive j with u < C_j. A different index is accepted only when u lies
// within 1e-12·C_K of the boundary C between the two (the rule's float64
// sums differ from the exact ones by at most K·2^−53·C_K ≈ 1e-12·C_K for
// K ≤ 4099); the index must still be of a positive entry, and Sample must
// draw exactly one variate (the generators agree afterwards). Lengths
// below 64 exercise the scalar path, the others the vector one in a
// GOEXPERIMENT=simd build on AVX2.
func TestSampleMatchesCumulative(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	near := 0
	for _, n := range []int{1, 7, 63, 64, 65, 95, 96, 100, 1000, 1023, 4099} {
		p := make([]float32, n)
		C := make([]float64, n)
		for trial := range 300 {
			sampleRow(rng, p, trial)
			var s, comp float64
			for j, x := range p {
				if x > 0 {
					y := float64(x)
					t := s + y
					if math.Abs(s) >= y {
						comp += (s - t) + y
					} else {
						comp += (y - t) + s
					}
					s = t
				}
				C[j] = s + comp
			}
			total := C[n-1]
			seed := rng.Uint64()
			ra, rb := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 1))
			for range 20 {
				got := Sample(ra, p)
				u := rb.Float64() * total
				want := int32(-1)
				for j, x := range p {
					if x > 0 {
						want = int32(j)
						if u < C[j] {
							break
						}
					}
				}
				if !(got >= 0 && int(got) < n && p[got] > 0) {
					t.Fatalf("n=%d trial %d: index %d of zero probability", n, trial, got)
				}
				if got != want {
					b := C[min(got, want)]
					if !(math.Abs(u-b) <= 1e-12*total) {
						t.Fatalf("n=%d trial %d: Sample %d, inversion %d (u %v, boundary %v)", n, trial, got, want, u, b)
					}
					near++
				}
			}
			if ra.Uint64() != rb.Uint64() {
				t.Fatalf("n=%d trial %d: Sample did not draw exactly one variate", n, trial)
			}
		}
	}
	if near > 3 {
		t.Fatalf("%d draws off the inversion's index near a boundary: expected almost none", near)
	}
}

// TestSampleVecMatchesScalar: the vector walk (where this build and CPU
// have it) against the scalar rule sampleOld on the same variates, over
// random rows of several shapes and lengths: the same index in every draw
// (a disagreement needs u within float64 rounding of a boundary, about
// 1e-13 of the total, never met in these 60000 draws).
func TestSampleVecMatchesScalar(t *testing.T) {
	if !haveSampleVec {
		t.Skip("no vector Sample in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(22, 22))
	for _, n := range []int{64, 65, 97, 128, 1000, 2051} {
		p := make([]float32, n)
		for trial := range 100 {
			sampleRow(rng, p, trial)
			seed := rng.Uint64()
			ra, rb := rand.New(rand.NewPCG(seed, 2)), rand.New(rand.NewPCG(seed, 2))
			for range 100 {
				if got, want := sampleVec(ra, p), sampleOld(rb, p); got != want {
					t.Fatalf("n=%d trial %d: vector %d, scalar %d", n, trial, got, want)
				}
			}
		}
	}
}

// TestSumPositiveKernels: the vector totals of sampleVec (sumPositive and,
// on an AVX-512 CPU, sumPositive512) against the one-by-one float64 sum of
// the positive entries, within 1e-13 relative (float64 sums of the same
// values in different orders, K ≤ 2051: each within K·2^−53 of the exact
// sum).
func TestSumPositiveKernels(t *testing.T) {
	if !haveSampleVec {
		t.Skip("no vector Sample in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(24, 24))
	for _, n := range []int{1, 15, 16, 31, 32, 33, 64, 1000, 2051} {
		p := make([]float32, n)
		for trial := range 50 {
			sampleRow(rng, p, trial)
			var want float64
			for _, x := range p {
				if x > 0 {
					want += float64(x)
				}
			}
			got := sumPositive(p)
			if !(math.Abs(got-want) <= 1e-13*want) {
				t.Fatalf("n=%d trial %d: sumPositive %v, want %v", n, trial, got, want)
			}
			if haveSample512 {
				if got := sumPositive512(p); !(math.Abs(got-want) <= 1e-13*want) {
					t.Fatalf("n=%d trial %d: sumPositive512 %v, want %v", n, trial, got, want)
				}
			}
		}
	}
}

// TestSampleDefaultUnchanged: the scalar rule (all of Sample in the
// default build) is the code of before (sampleOld, verbatim) bit for bit:
// the same index and the same variates consumed, on rows of several
// shapes, lengths from 1 to 10000 (stretches of 64 entries and, above 4096
// entries, longer ones), and rows with an infinite entry.
func TestSampleDefaultUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	for _, n := range []int{1, 5, 63, 64, 65, 127, 1000, 4095, 4096, 4097, 10000} {
		p := make([]float32, n)
		for trial := range 100 {
			sampleRow(rng, p, trial)
			if trial%17 == 3 {
				p[rng.IntN(n)] = float32(math.Inf(1))
			}
			seed := rng.Uint64()
			ra, rb := rand.New(rand.NewPCG(seed, 3)), rand.New(rand.NewPCG(seed, 3))
			for range 30 {
				if got, want := sampleScalar(ra, p), sampleOld(rb, p); got != want {
					t.Fatalf("n=%d trial %d: %d, before %d", n, trial, got, want)
				}
			}
			if ra.Uint64() != rb.Uint64() {
				t.Fatalf("n=%d trial %d: different variates consumed", n, trial)
			}
			if !haveSampleVec {
				if got, want := Sample(ra, p), sampleOld(rb, p); got != want {
					t.Fatalf("n=%d trial %d: Sample %d, before %d", n, trial, got, want)
				}
			}
		}
	}
}

// TestSampleNoPositivePanics: a row without a positive entry panics in
// both paths, with Sample's message.
func TestSampleNoPositivePanics(t *testing.T) {
	for _, n := range []int{5, 64, 100} {
		p := make([]float32, n)
		p[1] = -1
		func() {
			defer func() {
				if r := recover(); r != "soft: Sample from a row with no positive entry" {
					t.Fatalf("n=%d: recovered %v", n, r)
				}
			}()
			Sample(rand.New(rand.NewPCG(1, 1)), p)
		}()
	}
}

// BenchmarkSampleKernels: Sample (the vector walk in the simd build, the
// scalar rule with stretch starts in the default build), sampleScalar and
// the rule of before (sampleOld) on a 1000-entry row.
func BenchmarkSampleKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float32, 1000)
	sampleRow(rng, p, 0)
	b.Run("Sample", func(b *testing.B) {
		for b.Loop() {
			Sample(rng, p)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			sampleScalar(rng, p)
		}
	})
	b.Run("old", func(b *testing.B) {
		for b.Loop() {
			sampleOld(rng, p)
		}
	})
}

// halfSource is a rand.Source whose every value makes Float64 return
// exactly ½ (low 53 bits 2^52).
type halfSource struct{}

func (halfSource) Uint64() uint64 { return 1 << 52 }

// TestSampleBoundaryTie: a variate exactly on a cumulative boundary goes
// to the next positive entry (the rule is u < C_j, strict): with entries
// ¼ at 0, 1, 2, 3 (the rest 0, total 1, u = ½ = C_1 exactly) the index is
// 2, on the scalar path (8 entries) and the vector one (64 and 100).
func TestSampleBoundaryTie(t *testing.T) {
	for _, n := range []int{8, 64, 100} {
		p := make([]float32, n)
		p[0], p[1], p[2], p[3] = 0.25, 0.25, 0.25, 0.25
		if got := Sample(rand.New(halfSource{}), p); got != 2 {
			t.Fatalf("n=%d: %d, want 2", n, got)
		}
		if got := sampleScalar(rand.New(halfSource{}), p); got != 2 {
			t.Fatalf("n=%d: scalar %d, want 2", n, got)
		}
	}
}
