//go:build goexperiment.simd && amd64

package soft

import (
	"math"
	"simd/archsimd"
)

func init() {
	if archsimd.X86.AVX2() {
		maxFinite = maxFiniteAVX2
	}
}

// maxFiniteAVX2: lane maxima and a flag lane set wherever x − x is NaN (x
// NaN or infinite), the scalar tail by maxFiniteGo.
func maxFiniteAVX2(x []float32) (float32, bool) {
	n := len(x)
	m0 := archsimd.BroadcastFloat32x8(float32(math.Inf(-1)))
	m1 := m0
	var bad archsimd.Int32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		x0 := archsimd.LoadFloat32x8Slice(x[i : i+8])
		x1 := archsimd.LoadFloat32x8Slice(x[i+8 : i+16])
		m0, m1 = m0.Max(x0), m1.Max(x1)
		d0, d1 := x0.Sub(x0), x1.Sub(x1)
		bad = bad.Or(d0.NotEqual(d0).ToInt32x8()).Or(d1.NotEqual(d1).ToInt32x8())
	}
	for ; i+8 <= n; i += 8 {
		x0 := archsimd.LoadFloat32x8Slice(x[i : i+8])
		m0 = m0.Max(x0)
		d0 := x0.Sub(x0)
		bad = bad.Or(d0.NotEqual(d0).ToInt32x8())
	}
	var flags [8]int32
	var lanes [8]float32
	bad.Store(&flags)
	m0.Max(m1).Store(&lanes)
	archsimd.ClearAVXUpperBits()
	m := float32(math.Inf(-1))
	for l := range 8 {
		if flags[l] != 0 {
			return m, false
		}
		m = max(m, lanes[l])
	}
	t, ok := maxFiniteGo(x[i:])
	return max(m, t), ok
}
