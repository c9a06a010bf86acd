//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"

	"github.com/softdiff/softdiff/internal/simdgemm"
)

// The AVX2+FMA routines (8 float32 or 4 float64 lanes). Each ends with
// archsimd.ClearAVXUpperBits: Go never emits VZEROUPPER, and the scalar SSE
// code that follows would otherwise pay the AVX–SSE transition penalty.

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() && simdgemm.Micro6x16Vec != nil {
		spmvVec, useSIMD = spmv16SIMD, true
	}
}

// spmv16SIMD is written for panels of 16: a compile-time check.
var _ = [1]struct{}{}[panel-16]

func ld4(p *[16]float64, k int) archsimd.Float64x4 {
	return archsimd.LoadFloat64x4((*[4]float64)(p[4*k : 4*k+4]))
}

// spmv16SIMD adds Σ_p w[p]·cur[16·idx[p]:16·idx[p]+16] to y. Even and odd
// terms go to two sets of four accumulators (two independent FMA chains),
// added at the end.
func spmv16SIMD(y *[16]float64, cur []float64, idx []int32, w []float64) {
	w = w[:len(idx)]
	y0, y1, y2, y3 := ld4(y, 0), ld4(y, 1), ld4(y, 2), ld4(y, 3)
	var z0, z1, z2, z3 archsimd.Float64x4
	p := 0
	for ; p+2 <= len(idx); p += 2 {
		x := (*[16]float64)(cur[int(idx[p])*16:])
		u := (*[16]float64)(cur[int(idx[p+1])*16:])
		wa := archsimd.BroadcastFloat64x4(w[p])
		wb := archsimd.BroadcastFloat64x4(w[p+1])
		y0, y1, y2, y3 = ld4(x, 0).MulAdd(wa, y0), ld4(x, 1).MulAdd(wa, y1), ld4(x, 2).MulAdd(wa, y2), ld4(x, 3).MulAdd(wa, y3)
		z0, z1, z2, z3 = ld4(u, 0).MulAdd(wb, z0), ld4(u, 1).MulAdd(wb, z1), ld4(u, 2).MulAdd(wb, z2), ld4(u, 3).MulAdd(wb, z3)
	}
	if p < len(idx) {
		x := (*[16]float64)(cur[int(idx[p])*16:])
		wa := archsimd.BroadcastFloat64x4(w[p])
		y0, y1, y2, y3 = ld4(x, 0).MulAdd(wa, y0), ld4(x, 1).MulAdd(wa, y1), ld4(x, 2).MulAdd(wa, y2), ld4(x, 3).MulAdd(wa, y3)
	}
	y0.Add(z0).Store((*[4]float64)(y[0:4]))
	y1.Add(z1).Store((*[4]float64)(y[4:8]))
	y2.Add(z2).Store((*[4]float64)(y[8:12]))
	y3.Add(z3).Store((*[4]float64)(y[12:16]))
	archsimd.ClearAVXUpperBits()
}
