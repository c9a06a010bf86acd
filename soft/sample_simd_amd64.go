//go:build goexperiment.simd && amd64

package soft

import (
	"math/rand/v2"
	"simd/archsimd"
)

// haveSampleVec: sampleVec runs on this CPU.
var haveSampleVec = archsimd.X86.AVX2()

// sampleBlock is the number of entries whose sum the vector walk of
// sampleVec adds at once.
const sampleBlock = 32

// sampleVec is Sample's rule with the cumulative sum taken a block of 32
// entries at a time. The total of the positive entries comes from one
// vector pass (sumPositive, or sumPositive512 where the CPU has AVX-512;
// float64 lanes); u = Float64()·total; then the
// walk adds block sums (the block's positive entries, non-positive and NaN
// ones masked to 0, converted to float64 and added as a fixed tree) to a
// running total, stops at the first block where it exceeds u, and walks
// that block and the rest entry by entry from the running total before
// it, as Sample does (the entries after the last whole block are walked
// one by one too).
//
// It returns Sample's index except where u lies within float64 rounding of
// a cumulative boundary: the total and the cumulative sums differ from
// Sample's one-entry-at-a-time sums only in the order of additions
// (relative error below K·2^−53 of the total, tested in
// TestSampleMatchesCumulative and TestSampleVecMatchesScalar), and the
// drawn uniform is the same (one Float64 of rng). As in Sample an index of
// zero probability is never returned, and u ≥ every running total
// (rounding) gives the last positive entry.
func sampleVec(rng *rand.Rand, p []float32) int32 {
	var total float64
	if haveSample512 {
		total = sumPositive512(p)
	} else {
		total = sumPositive(p)
	}
	if !(total > 0) {
		panic("soft: Sample from a row with no positive entry")
	}
	u := rng.Float64() * total
	start, c := sampleWalk(p, u)
	last := int32(-1)
	for j := start; j < len(p); j++ {
		if x := p[j]; x > 0 {
			c += float64(x)
			last = int32(j)
			if u < c {
				return last
			}
		}
	}
	if last < 0 { // no positive entry from start on: the last one before it
		for last = int32(start) - 1; !(p[last] > 0); last-- {
		}
	}
	return last
}

// sampleWalk adds the block sums of p (whole blocks of sampleBlock entries,
// positive entries only) in order and returns the start of the first block
// whose running total exceeds u, with the running total before that block;
// if none does, the end of the whole blocks and their total.
func sampleWalk(p []float32, u float64) (int, float64) {
	n := len(p) - len(p)%sampleBlock
	var zero archsimd.Float32x8
	var c float64
	var s [4]float64
	for i := 0; i < n; i += sampleBlock {
		q := p[i : i+sampleBlock : i+sampleBlock]
		x0 := archsimd.LoadFloat32x8Slice(q[0:8])
		x1 := archsimd.LoadFloat32x8Slice(q[8:16])
		x2 := archsimd.LoadFloat32x8Slice(q[16:24])
		x3 := archsimd.LoadFloat32x8Slice(q[24:32])
		x0 = x0.Masked(x0.Greater(zero))
		x1 = x1.Masked(x1.Greater(zero))
		x2 = x2.Masked(x2.Greater(zero))
		x3 = x3.Masked(x3.Greater(zero))
		s01 := x0.GetLo().ConvertToFloat64().Add(x0.GetHi().ConvertToFloat64()).Add(
			x1.GetLo().ConvertToFloat64().Add(x1.GetHi().ConvertToFloat64()))
		s23 := x2.GetLo().ConvertToFloat64().Add(x2.GetHi().ConvertToFloat64()).Add(
			x3.GetLo().ConvertToFloat64().Add(x3.GetHi().ConvertToFloat64()))
		s01.Add(s23).Store(&s)
		cn := c + ((s[0] + s[1]) + (s[2] + s[3]))
		if u < cn {
			archsimd.ClearAVXUpperBits()
			return i, c
		}
		c = cn
	}
	archsimd.ClearAVXUpperBits()
	return n, c
}

// sumPositive returns the sum of the positive entries of p: float64 lanes,
// four vector accumulators over 16 entries per step, then the rest one by
// one.
func sumPositive(p []float32) float64 {
	n := len(p) &^ 15
	var zero archsimd.Float32x8
	var a0, a1, a2, a3 archsimd.Float64x4
	for i := 0; i < n; i += 16 {
		q := p[i : i+16 : i+16]
		x0 := archsimd.LoadFloat32x8Slice(q[0:8])
		x1 := archsimd.LoadFloat32x8Slice(q[8:16])
		x0 = x0.Masked(x0.Greater(zero))
		x1 = x1.Masked(x1.Greater(zero))
		a0 = a0.Add(x0.GetLo().ConvertToFloat64())
		a1 = a1.Add(x0.GetHi().ConvertToFloat64())
		a2 = a2.Add(x1.GetLo().ConvertToFloat64())
		a3 = a3.Add(x1.GetHi().ConvertToFloat64())
	}
	var s [4]float64
	a0.Add(a1).Add(a2.Add(a3)).Store(&s)
	archsimd.ClearAVXUpperBits()
	total := (s[0] + s[1]) + (s[2] + s[3])
	for _, x := range p[n:] {
		if x > 0 {
			total += float64(x)
		}
	}
	return total
}

// haveSample512: sumPositive512 runs on this CPU.
var haveSample512 = archsimd.X86.AVX512()

// sumPositive512 is sumPositive on 16 lanes (AVX-512F): each 16 entries,
// non-positive and NaN ones masked to 0, are converted to two 8-lane
// float64 vectors added into two accumulators; the rest one by one.
func sumPositive512(p []float32) float64 {
	n := len(p) &^ 31
	var zero archsimd.Float32x16
	var a0, a1, a2, a3 archsimd.Float64x8
	for i := 0; i < n; i += 32 {
		q := p[i : i+32 : i+32]
		x0 := archsimd.LoadFloat32x16Slice(q[0:16])
		x1 := archsimd.LoadFloat32x16Slice(q[16:32])
		x0 = x0.Masked(x0.Greater(zero))
		x1 = x1.Masked(x1.Greater(zero))
		a0 = a0.Add(x0.GetLo().ConvertToFloat64())
		a1 = a1.Add(x0.GetHi().ConvertToFloat64())
		a2 = a2.Add(x1.GetLo().ConvertToFloat64())
		a3 = a3.Add(x1.GetHi().ConvertToFloat64())
	}
	var s [8]float64
	a0.Add(a1).Add(a2.Add(a3)).Store(&s)
	archsimd.ClearAVXUpperBits()
	total := ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
	for _, x := range p[n:] {
		if x > 0 {
			total += float64(x)
		}
	}
	return total
}
