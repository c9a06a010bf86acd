//go:build goexperiment.simd && amd64

package simdgemm

import "simd/archsimd"

func init() {
	Vector = archsimd.X86.AVX2() && archsimd.X86.FMA()
}

// Micro6x16Vec is the AVX2+FMA micro-kernel (call it only when Vector is
// true). It keeps the 6×16 tile in twelve 8-lane accumulators; each
// step loads one 16-wide slice of b and broadcasts the six values of a.
//
// archsimd's MulAdd is VFMADD213PS, whose result overwrites a multiplicand,
// and Go reserves Y15, so the tile needs one more register than there are:
// the compiler spills a few accumulators per step. Measured on the 2-core
// AMD EPYC VM this reaches about half the throughput of the hand-written
// assembly it replaced (BenchmarkMicro6x16; docs/perf.md "## kernels").
// Smaller tiles (4×16, 5×16) and other operand orders were no faster.
func Micro6x16Vec(a, b []float32, n int, out *[96]float32) {
	a, b = a[:6*n], b[:16*n]
	var c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51 archsimd.Float32x8
	for len(a) >= 6 && len(b) >= 16 {
		ad := (*[6]float32)(a)
		bd := (*[16]float32)(b)
		b0 := archsimd.LoadFloat32x8((*[8]float32)(bd[0:8]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(bd[8:16]))
		x := archsimd.BroadcastFloat32x8(ad[0])
		c00, c01 = b0.MulAdd(x, c00), b1.MulAdd(x, c01)
		x = archsimd.BroadcastFloat32x8(ad[1])
		c10, c11 = b0.MulAdd(x, c10), b1.MulAdd(x, c11)
		x = archsimd.BroadcastFloat32x8(ad[2])
		c20, c21 = b0.MulAdd(x, c20), b1.MulAdd(x, c21)
		x = archsimd.BroadcastFloat32x8(ad[3])
		c30, c31 = b0.MulAdd(x, c30), b1.MulAdd(x, c31)
		x = archsimd.BroadcastFloat32x8(ad[4])
		c40, c41 = b0.MulAdd(x, c40), b1.MulAdd(x, c41)
		x = archsimd.BroadcastFloat32x8(ad[5])
		c50, c51 = b0.MulAdd(x, c50), b1.MulAdd(x, c51)
		a, b = a[6:], b[16:]
	}
	st := func(v archsimd.Float32x8, k int) { v.Store((*[8]float32)(out[8*k : 8*k+8])) }
	st(c00, 0)
	st(c01, 1)
	st(c10, 2)
	st(c11, 3)
	st(c20, 4)
	st(c21, 5)
	st(c30, 6)
	st(c31, 7)
	st(c40, 8)
	st(c41, 9)
	st(c50, 10)
	st(c51, 11)
	archsimd.ClearAVXUpperBits()
}
