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
	useSIMD = archsimd.X86.AVX2() && archsimd.X86.FMA() && simdgemm.Vector
	useAVX512 = useSIMD && archsimd.X86.AVX512()
}

// useAVX512 selects spmv512 inside spmvVec (tests clear it to run the AVX2
// routine on AVX-512 CPUs).
var useAVX512 bool

// spmvVec is written for panels of 16: a compile-time check.
var _ = [1]struct{}{}[panel-16]

func ld4(p *[16]float64, k int) archsimd.Float64x4 {
	return archsimd.LoadFloat64x4((*[4]float64)(p[4*k : 4*k+4]))
}

// spmvVec adds Σ_p w[p]·cur[16·idx[p]:16·idx[p]+16] to y, two neighbours
// at a time: w_a·x_a + w_b·x_b (a multiply and an FMA) is added to four
// 4-lane accumulators. (Two interleaved sets of accumulators, as the deleted
// assembly had, make the compiler hoist all eight loads and spill
// accumulators to the stack, putting a store-to-load forwarding delay on
// every FMA chain: 3.7x slower than the assembly on BenchmarkSpmvPanel; this
// form is about 2x slower than it, see docs/perf.md "## kernels".)
func spmvVec(y *[panel]float64, cur []float64, idx []int32, w []float64) {
	if useAVX512 {
		spmv512(y, cur, idx, w)
		return
	}
	spmv256(y, cur, idx, w)
}

// spmv256 is the AVX2 body of spmvVec.
func spmv256(y *[panel]float64, cur []float64, idx []int32, w []float64) {
	w = w[:len(idx)]
	y0, y1, y2, y3 := ld4(y, 0), ld4(y, 1), ld4(y, 2), ld4(y, 3)
	p := 0
	for ; p+2 <= len(idx); p += 2 {
		x := (*[16]float64)(cur[int(idx[p])*16:])
		u := (*[16]float64)(cur[int(idx[p+1])*16:])
		wa := archsimd.BroadcastFloat64x4(w[p])
		wb := archsimd.BroadcastFloat64x4(w[p+1])
		y0 = y0.Add(ld4(u, 0).MulAdd(wb, ld4(x, 0).Mul(wa)))
		y1 = y1.Add(ld4(u, 1).MulAdd(wb, ld4(x, 1).Mul(wa)))
		y2 = y2.Add(ld4(u, 2).MulAdd(wb, ld4(x, 2).Mul(wa)))
		y3 = y3.Add(ld4(u, 3).MulAdd(wb, ld4(x, 3).Mul(wa)))
	}
	if p < len(idx) {
		x := (*[16]float64)(cur[int(idx[p])*16:])
		wp := archsimd.BroadcastFloat64x4(w[p])
		y0, y1, y2, y3 = ld4(x, 0).MulAdd(wp, y0), ld4(x, 1).MulAdd(wp, y1), ld4(x, 2).MulAdd(wp, y2), ld4(x, 3).MulAdd(wp, y3)
	}
	y0.Store((*[4]float64)(y[0:4]))
	y1.Store((*[4]float64)(y[4:8]))
	y2.Store((*[4]float64)(y[8:12]))
	y3.Store((*[4]float64)(y[12:16]))
	archsimd.ClearAVXUpperBits()
}

func ld8(p *[16]float64, k int) archsimd.Float64x8 {
	return archsimd.LoadFloat64x8((*[8]float64)(p[8*k : 8*k+8]))
}

// spmv512 is spmvVec with 8-lane vectors: the same operations on every lane
// in the same order (w_a·x_a, then w_b·x_b fused onto it, then added to
// y), so its results are bit-identical to the AVX2 routine's, in half the
// instructions.
func spmv512(y *[panel]float64, cur []float64, idx []int32, w []float64) {
	w = w[:len(idx)]
	y0, y1 := ld8(y, 0), ld8(y, 1)
	p := 0
	for ; p+2 <= len(idx); p += 2 {
		x := (*[16]float64)(cur[int(idx[p])*16:])
		u := (*[16]float64)(cur[int(idx[p+1])*16:])
		wa := archsimd.BroadcastFloat64x8(w[p])
		wb := archsimd.BroadcastFloat64x8(w[p+1])
		y0 = y0.Add(ld8(u, 0).MulAdd(wb, ld8(x, 0).Mul(wa)))
		y1 = y1.Add(ld8(u, 1).MulAdd(wb, ld8(x, 1).Mul(wa)))
	}
	if p < len(idx) {
		x := (*[16]float64)(cur[int(idx[p])*16:])
		wp := archsimd.BroadcastFloat64x8(w[p])
		y0, y1 = ld8(x, 0).MulAdd(wp, y0), ld8(x, 1).MulAdd(wp, y1)
	}
	y0.Store((*[8]float64)(y[0:8]))
	y1.Store((*[8]float64)(y[8:16]))
	archsimd.ClearAVXUpperBits()
}
