package soft

import "math"

// This file holds the pure-Go kernels of the hot loops and the dispatch
// table that a GOEXPERIMENT=simd build on an AVX2+FMA machine replaces with
// the vector kernels of simd_amd64.go. Both sets compute the same
// algorithm:
//
//   - exp is evaluated in float32 for z = x − max ≤ 0 by range reduction
//     z = n·ln2 + r, |r| ≤ ln2/2, a degree-7 Taylor polynomial for e^r
//     (truncation error (ln2/2)⁸/8! / e^(−ln2/2) < 8e-9 relative, below
//     float32 rounding) and 2ⁿ built in the exponent bits. n comes from
//     t = z·log2e + (1.5·2²³ + 127): the addition rounds to an integer and
//     leaves n + 127 in the low mantissa bits of t, so bits(t) << 23 is the
//     float32 2ⁿ. The Go kernel reduces r = z − n·ln2 in two steps
//     (Cody–Waite, ln2 = ln2Hi + ln2Lo); the vector kernel in one fused
//     multiply-add with float32(ln2), whose error |n|·1.9e-9 ≤ 2.4e-7 is
//     the order of a float32 rounding;
//   - z below expCutoff = −87 (e^z < 1.7e-38, the smallest normal float32
//     region) gives exactly 0, so −Inf logits give probability 0 and the
//     exponent trick never needs subnormals;
//   - the normaliser Σe and Σe·z are accumulated in float64 in the Go
//     kernel; the vector kernel sums float32 lanes over chunks of 16
//     vectors (16 terms per lane) and folds each chunk into float64.

const (
	expCutoff = -87.0
	expMagic  = 12582912.0 + 127   // 1.5·2²³ + the float32 exponent bias
	log2e     = 1.4426950408889634 // 1/ln 2
	ln2Hi     = 0.693359375        // 355/512: few mantissa bits, so n·ln2Hi is exact
	ln2Lo     = math.Ln2 - ln2Hi   // ≈ −2.12e-4
	// Taylor coefficients 1/j! of e^r.
	expC2 = 1.0 / 2
	expC3 = 1.0 / 6
	expC4 = 1.0 / 24
	expC5 = 1.0 / 120
	expC6 = 1.0 / 720
	expC7 = 1.0 / 5040
)

// exp32 returns e^z in float32 for z ≤ 0 by the algorithm above (0 for
// z < expCutoff, including −Inf). NaN z gives 0; callers reject NaN first.
func exp32(z float32) float32 {
	if !(z >= expCutoff) {
		return 0
	}
	t := z*log2e + expMagic // rounds to an integer, ties to even
	n := t - expMagic
	r := z - n*ln2Hi
	r = r - n*ln2Lo
	p := float32(expC7)
	p = p*r + expC6
	p = p*r + expC5
	p = p*r + expC4
	p = p*r + expC3
	p = p*r + expC2
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(math.Float32bits(t)<<23)
}

// kernels is the dispatch table of the hot loops.
type kernels struct {
	name string
	// maxLogit returns the largest logit, or ErrNonFinite for a NaN or
	// +Inf logit, or ErrNoSupport when every logit is −Inf (or the row is
	// empty).
	maxLogit func(logits []float32) (float32, error)
	// expSum writes dst[i] = e^(logits[i]−m) and returns Σ dst and
	// Σ dst[i]·max(logits[i]−m, expCutoff). dst may alias logits.
	expSum func(dst, logits []float32, m float32) (sumE, sumEZ float64)
	// expSumMax is expSum on logits together with maxLogit on next (a row
	// of the same length, not aliasing dst), in one loop: the next row's
	// max pass overlaps this row's exponentials.
	expSumMax func(dst, logits []float32, m float32, next []float32) (sumE, sumEZ float64, nextMax float32, nextErr error)
	// scale writes dst[i] = a·src[i]. dst may alias src.
	scale func(dst, src []float32, a float32)
	// mix writes dst[i] = u·a[i] + v·b[i]. dst may alias a or b.
	mix func(dst, a, b []float32, u, v float32)
	// nextAbove returns the smallest i ≥ j with p[i] > t, or len(p).
	nextAbove func(p []float32, j int, t float32) int
	// sumMinArgmax returns Σ p (float32 lanes over short chunks folded into
	// float64 in the vector kernel), min p and the first index of max p,
	// for a non-empty p. A NaN entry makes the sum NaN; min and argmax are
	// then unspecified. The Go kernel stops at the first NaN, infinite or
	// negative entry and returns a NaN sum; when every entry is finite and
	// non-negative it returns 0 for the minimum (all the caller checks).
	sumMinArgmax func(p []float32) (sum float64, mn float32, am int)
}

var goKernels = kernels{
	name:     "go",
	maxLogit: maxLogitGo,
	expSum:   expSumGo,
	expSumMax: func(dst, logits []float32, m float32, next []float32) (float64, float64, float32, error) {
		s, t := expSumGo(dst, logits, m)
		nm, err := maxLogitGo(next)
		return s, t, nm, err
	},
	scale:        scaleGo,
	mix:          mixGo,
	nextAbove:    nextAboveGo,
	sumMinArgmax: sumMinArgmaxGo,
}

// kern is the active kernel set; simd_amd64.go's init replaces it when the
// CPU has AVX2 and FMA.
var kern = goKernels

// Backend returns the name of the active implementation of the hot loops:
// "avx2" in a GOEXPERIMENT=simd build on a CPU with AVX2 and FMA, else "go".
func Backend() string { return kern.name }

func maxLogitGo(logits []float32) (float32, error) {
	m := float32(math.Inf(-1))
	for _, x := range logits {
		if x != x || x > math.MaxFloat32 {
			return 0, ErrNonFinite
		}
		if x > m {
			m = x
		}
	}
	if math.IsInf(float64(m), -1) {
		return 0, ErrNoSupport
	}
	return m, nil
}

func expSumGo(dst, logits []float32, m float32) (float64, float64) {
	dst = dst[:len(logits)]
	var s, t float64
	for i, x := range logits {
		z := x - m
		e := exp32(z)
		dst[i] = e
		if e > 0 {
			s += float64(e)
			t += float64(e) * float64(z)
		}
	}
	return s, t
}

// sumMinArgmaxGo adds p in four float64 accumulators (entries j ≡ 0, 1,
// 2, 3 mod 4, then (s0 + s1) + (s2 + s3) and the tail), so the additions
// do not wait on each other: the sum differs from the one-by-one float64
// sum only in rounding order (a few ulps), which matters to CheckArgmax
// only for a row within about 1e-13 of the RowSumTol edge. The argmax is
// the first index of the maximum, as before.
func sumMinArgmaxGo(p []float32) (float64, float32, int) {
	var s0, s1, s2, s3 float64
	am, best := 0, p[0]
	n := len(p) &^ 3
	for i := 0; i < n; i += 4 {
		q := p[i : i+4 : i+4]
		a, b, c, d := q[0], q[1], q[2], q[3]
		if !(a >= 0 && a <= math.MaxFloat32 && b >= 0 && b <= math.MaxFloat32 &&
			c >= 0 && c <= math.MaxFloat32 && d >= 0 && d <= math.MaxFloat32) {
			return math.NaN(), a, i // a bad entry: the caller's exact check names it
		}
		s0 += float64(a)
		s1 += float64(b)
		s2 += float64(c)
		s3 += float64(d)
		if a > best {
			am, best = i, a
		}
		if b > best {
			am, best = i+1, b
		}
		if c > best {
			am, best = i+2, c
		}
		if d > best {
			am, best = i+3, d
		}
	}
	s := (s0 + s1) + (s2 + s3)
	for i := n; i < len(p); i++ {
		x := p[i]
		if !(x >= 0 && x <= math.MaxFloat32) {
			return math.NaN(), x, i
		}
		s += float64(x)
		if x > best {
			am, best = i, x
		}
	}
	return s, 0, am // every entry ≥ 0, so 0 is a valid lower bound for min
}

func scaleGo(dst, src []float32, a float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = a * x
	}
}

func nextAboveGo(p []float32, j int, t float32) int {
	for ; j < len(p); j++ {
		if p[j] > t {
			return j
		}
	}
	return len(p)
}

func mixGo(dst, a, b []float32, u, v float32) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		dst[i] = u*a[i] + v*b[i]
	}
}

// softmaxRow writes dst = softmax(logits) with the active kernels and
// returns log Σ e^(logits−m), m and Σ p·(logits−m) (the last for entropy).
func softmaxRow(dst, logits []float32) (lse, m, pz float64, err error) {
	mx, err := kern.maxLogit(logits)
	if err != nil {
		return 0, 0, 0, err
	}
	s, t := kern.expSum(dst, logits, mx)
	// s ≥ 1: the maximal logit contributes e^0 = 1 exactly.
	kern.scale(dst, dst, float32(1/s))
	return math.Log(s), float64(mx), t / s, nil
}
