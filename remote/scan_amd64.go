//go:build goexperiment.simd && amd64

package remote

import (
	"math/bits"
	"simd/archsimd"
)

func init() {
	if archsimd.X86.AVX2() {
		nextNonzero = nextNonzeroAVX2
	}
}

// nextNonzeroAVX2 is nextNonzeroGo with 16 entries per step: VCMPPS
// not-equal against zero is true for NaN and false for −0, as x != 0.
func nextNonzeroAVX2(p []float32, j int) int {
	n := len(p)
	var zero archsimd.Float32x8
	for ; j+16 <= n; j += 16 {
		m0 := archsimd.LoadFloat32x8Slice(p[j : j+8]).NotEqual(zero).ToBits()
		m1 := archsimd.LoadFloat32x8Slice(p[j+8 : j+16]).NotEqual(zero).ToBits()
		if m0|m1 != 0 {
			archsimd.ClearAVXUpperBits()
			if m0 != 0 {
				return j + bits.TrailingZeros8(m0)
			}
			return j + 8 + bits.TrailingZeros8(m1)
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; j < n; j++ {
		if p[j] != 0 {
			return j
		}
	}
	return n
}
