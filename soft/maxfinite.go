package soft

import "math"

// MaxFinite returns the largest entry of x and whether every entry is
// finite (no NaN, no ±Inf); for an empty x it returns −Inf and true. When
// some entry is not finite the returned maximum is unspecified. A
// GOEXPERIMENT=simd build on AVX2 scans 16 entries per step; the result is
// the same (a maximum is exact).
func MaxFinite(x []float32) (float32, bool) {
	return maxFinite(x)
}

var maxFinite = maxFiniteGo

func maxFiniteGo(x []float32) (float32, bool) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if !(v-v == 0) { // NaN or ±Inf
			return m, false
		}
		m = max(m, v)
	}
	return m, true
}
