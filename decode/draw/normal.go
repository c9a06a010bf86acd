package draw

import (
	"math"
	"math/rand/v2"
)

// Normals fills dst with independent standard normal float32 variates drawn
// from src by the Box–Muller transform, in float32 arithmetic with a
// vector path (GOEXPERIMENT=simd on an AVX2 machine) and a pure-Go path
// that give bit-identical values: the same sequence of correctly rounded
// float32 operations (no fused multiply-adds), so the values depend only on
// src's state and len(dst), never on the build or the CPU.
//
// Layout (part of the contract, so that a caller can reproduce a stream):
// dst is filled in chunks of at most 128 entries; a chunk of c entries
// takes n = ⌈c/2⌉ 64-bit words w_0..w_{n−1} from src and writes the first
// variate of pair j at chunk offset j and the second at n + j (the last
// second variate is dropped when c is odd). Pair j of word w, lo its low
// and hi its high 32 bits:
//
//	u = (lo>>8 + 1)·2^−24 ∈ (0, 1],  r = sqrt(−2 ln u),
//	φ = π/4 + x,  x = ((hi & (2^22−1)) − 2^21 + ½)·π·2^−23 ∈ (−π/4, π/4),
//	z₁ = ±r·cos φ,  z₂ = ±r·sin φ,
//
// the signs given by bits 31 and 30 of hi: reflecting φ ∈ [0, π/2) into
// the four quadrants makes the angle uniform on [0, 2π), so (z₁, z₂) is a
// pair of independent N(0, 1) variates up to the 24-bit resolution of u and
// the 22-bit resolution of φ (|z| ≤ sqrt(2·24·ln 2) ≈ 5.77). With
// cos φ = (cos x − sin x)/√2 and sin φ = (cos x + sin x)/√2 only |x| ≤ π/4
// needs polynomials: the Taylor series of sin to x⁹ and cos to x⁸
// (truncation below 3e-8), and ln by the series of atanh
// (ln m = 2·atanh((m−1)/(m+1)) for m ∈ [√½, √2), to s⁹, below 1e-9); the
// result is within a few float32 ulps of the float64 formula
// (TestNormalsAccuracy).
func Normals(dst []float32, src *rand.PCG) {
	var lo, hi [normChunk / 2]uint32
	var c1, c2 [normChunk / 2]float32
	for off := 0; off < len(dst); off += normChunk {
		c := min(normChunk, len(dst)-off)
		n := (c + 1) / 2
		for j := 0; j < n; j++ {
			w := src.Uint64()
			lo[j], hi[j] = uint32(w), uint32(w>>32)
		}
		v := n &^ 7
		if haveVec {
			normalsVec(c1[:v], c2[:v], lo[:v], hi[:v])
		} else {
			for j := 0; j < v; j += 8 {
				boxMuller8((*[8]float32)(c1[j:j+8]), (*[8]float32)(c2[j:j+8]), (*[8]uint32)(lo[j:j+8]), (*[8]uint32)(hi[j:j+8]))
			}
		}
		for j := v; j < n; j++ {
			c1[j], c2[j] = boxMuller(lo[j], hi[j])
		}
		copy(dst[off:off+n], c1[:n])
		copy(dst[off+n:off+c], c2[:c-n])
	}
}

// normChunk is the largest chunk of Normals (64 words of src).
const normChunk = 128

// The float32 constants of boxMuller (shared with the vector kernel).
const (
	bmSqrtHalf = 0x3f3504f3 // bits of float32(√½)
	bmLn2      = float32(math.Ln2)
	bmTwoPi23  = float32(math.Pi / (1 << 23)) // π·2^−23: φ's step
	bmHalf     = float32(1<<21) - 0.5         // 2^21 − ½
	bmInvSqrt2 = float32(1 / math.Sqrt2)
	// atanh series: ln m = 2s(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9)
	bmL3, bmL5, bmL7, bmL9 = float32(1.0 / 3), float32(1.0 / 5), float32(1.0 / 7), float32(1.0 / 9)
	// Taylor coefficients of sin (1/3!, …, 1/9!, alternating) and cos (1/2!, …, 1/8!)
	bmS3, bmS5, bmS7, bmS9 = float32(-1.0 / 6), float32(1.0 / 120), float32(-1.0 / 5040), float32(1.0 / 362880)
	bmC2, bmC4, bmC6, bmC8 = float32(-1.0 / 2), float32(1.0 / 24), float32(-1.0 / 720), float32(1.0 / 40320)
)

// boxMuller is the pair of Normals for one word (lo, hi), operation for
// operation the vector kernel's: every product is rounded to float32
// before it is added (the explicit conversions forbid fusing).
func boxMuller(lo, hi uint32) (float32, float32) {
	// ln u, u = k·2^−24: k = m·2^e with m ∈ [√½, √2)
	kf := float32(lo>>8 + 1)
	b := math.Float32bits(kf)
	e := (b - bmSqrtHalf) >> 23 // kf ≥ 1, so the difference is positive
	m := math.Float32frombits(b - e<<23)
	f := m - 1
	s := f / (f + 2)
	s2 := float32(s * s)
	p := float32(bmL9*s2) + bmL7
	p = float32(p*s2) + bmL5
	p = float32(p*s2) + bmL3
	p = float32(p*s2) + 1
	lnm := float32((s + s) * p)
	ln := float32(float32(int32(e)-24)*bmLn2) + lnm
	r := float32(math.Sqrt(float64(float32(-2 * ln))))
	r = float32(r * bmInvSqrt2)
	// angle
	x := float32(float32(hi&(1<<22-1))-bmHalf) * bmTwoPi23
	x2 := float32(x * x)
	q := float32(bmS9*x2) + bmS7
	q = float32(q*x2) + bmS5
	q = float32(q*x2) + bmS3
	sx := float32(float32(x*x2)*q) + x
	t := float32(bmC8*x2) + bmC6
	t = float32(t*x2) + bmC4
	t = float32(t*x2) + bmC2
	cx := float32(t*x2) + 1
	z1 := float32(r * (cx - sx))
	z2 := float32(r * (cx + sx))
	z1 = math.Float32frombits(math.Float32bits(z1) ^ hi&(1<<31))
	z2 = math.Float32frombits(math.Float32bits(z2) ^ (hi<<1)&(1<<31))
	return z1, z2
}

// boxMuller8 is boxMuller for 8 pairs, stage by stage over the 8 lanes (the
// same operations; the independent lanes of each stage overlap in the CPU's
// pipeline, where one pair's chain of dependent operations would not).
func boxMuller8(c1, c2 *[8]float32, lo, hi *[8]uint32) {
	var e [8]uint32
	var s, s2, p, r, x, x2, q, t [8]float32
	for l := range 8 {
		b := math.Float32bits(float32(lo[l]>>8 + 1))
		e[l] = (b - bmSqrtHalf) >> 23
		f := math.Float32frombits(b-e[l]<<23) - 1
		s[l] = f / (f + 2)
	}
	for l := range 8 {
		s2[l] = float32(s[l] * s[l])
		x[l] = float32(float32(hi[l]&(1<<22-1))-bmHalf) * bmTwoPi23
	}
	for l := range 8 {
		x2[l] = float32(x[l] * x[l])
		p[l] = float32(bmL9*s2[l]) + bmL7
	}
	for l := range 8 {
		p[l] = float32(p[l]*s2[l]) + bmL5
		q[l] = float32(bmS9*x2[l]) + bmS7
		t[l] = float32(bmC8*x2[l]) + bmC6
	}
	for l := range 8 {
		p[l] = float32(p[l]*s2[l]) + bmL3
		q[l] = float32(q[l]*x2[l]) + bmS5
		t[l] = float32(t[l]*x2[l]) + bmC4
	}
	for l := range 8 {
		p[l] = float32(p[l]*s2[l]) + 1
		q[l] = float32(q[l]*x2[l]) + bmS3
		t[l] = float32(t[l]*x2[l]) + bmC2
	}
	for l := range 8 {
		lnm := float32((s[l] + s[l]) * p[l])
		ln := float32(float32(int32(e[l])-24)*bmLn2) + lnm
		r[l] = float32(math.Sqrt(float64(float32(-2 * ln))))
	}
	for l := range 8 {
		sx := float32(float32(x[l]*x2[l])*q[l]) + x[l]
		cx := float32(t[l]*x2[l]) + 1
		rr := float32(r[l] * bmInvSqrt2)
		z1 := float32(rr * (cx - sx))
		z2 := float32(rr * (cx + sx))
		c1[l] = math.Float32frombits(math.Float32bits(z1) ^ hi[l]&(1<<31))
		c2[l] = math.Float32frombits(math.Float32bits(z2) ^ (hi[l]<<1)&(1<<31))
	}
}

// AddScaled2 adds u·a + w·b to dst entry by entry in float32, each product
// rounded before the sums (dst_i += float32(u·a_i) + float32(w·b_i)), with a
// vector path that gives the same bits. a and b need len(dst) entries.
// Soft samplers use it for the Gaussian-channel update λ += Δ·m + √Δ·ε.
func AddScaled2(dst, a, b []float32, u, w float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	j := 0
	if haveVec {
		j = len(dst) &^ 7
		addScaled2Vec(dst[:j], a[:j], b[:j], u, w)
	}
	for ; j < len(dst); j++ {
		dst[j] += float32(u*a[j]) + float32(w*b[j])
	}
}
