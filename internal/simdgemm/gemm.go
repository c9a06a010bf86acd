// Package simdgemm holds the float32 matrix products of softdiff: Sgemm,
// a row-major GEMM (C = alpha·op(A)·op(B) + beta·C) with packing, cache
// blocking and a choice of micro-kernels, used by the HMM oracle and the
// learned denoisers; and the older 6×16 outer-product micro-kernel shared
// by the exact kNN build (package kernels).
//
// Sgemm's micro-kernels: pure Go (every build; 4×32 tile), and in the
// GOEXPERIMENT=simd build on amd64 archsimd kernels, AVX2+FMA (2×32 tile,
// 8-lane vectors) and AVX-512 (4×32 tile, 16-lane vectors); the widest the
// CPU runs is chosen at start-up (ActivePath). Each sums every entry over
// k in the same order (p = 0, 1, … within blocks of 256 terms, the blocks
// added in order), so a path's results are bit-identical at any Workers and
// any position of the entry in C; the vector paths fuse each multiply-add,
// so paths differ from each other by float32 rounding only. PackB packs a
// right operand once for repeated products (SgemmPacked).
//
// The 6×16 kernel: the pure-Go kernel runs in every build; in the
// GOEXPERIMENT=simd build on amd64 CPUs with AVX2 and FMA, Vector is true
// and Micro6x16Vec is an archsimd kernel. Both sum over d in the same order
// (d = 0, 1, …); the vector kernel fuses each multiply-add, so results
// differ by float32 rounding only (at most 2n·2⁻²⁴·Σ_d|a·b| per entry,
// tested).
package simdgemm

// Vector reports whether Micro6x16Vec is a vector kernel. Without one
// (default build, other architectures, CPUs without AVX2+FMA) it is false
// and Micro6x16Vec must not be called. (Micro6x16Vec is a function, not a
// function variable, so that out does not escape to the heap.)
var Vector bool

// Micro6x16 writes out[r*16+c] = Σ_{d<n} a[6d+r]·b[16d+c]: six packed rows
// (layout [d][6]) against sixteen packed columns ([d][16]), with the vector
// kernel when there is one. It panics if a or b is shorter than 6n or 16n.
func Micro6x16(a, b []float32, n int, out *[96]float32) {
	if Vector {
		Micro6x16Vec(a, b, n, out)
		return
	}
	Micro6x16Go(a, b, n, out)
}

// Micro6x16Go is the pure-Go micro-kernel (float32 sums in the order
// d = 0, 1, …). Eight columns of one row at a time stay in registers.
func Micro6x16Go(a, b []float32, n int, out *[96]float32) {
	a, b = a[:6*n], b[:16*n]
	for r := 0; r < 6; r++ {
		for h := 0; h < 16; h += 8 {
			var s0, s1, s2, s3, s4, s5, s6, s7 float32
			for d := 0; d < n; d++ {
				x := a[6*d+r]
				bd := (*[8]float32)(b[16*d+h:])
				s0 += x * bd[0]
				s1 += x * bd[1]
				s2 += x * bd[2]
				s3 += x * bd[3]
				s4 += x * bd[4]
				s5 += x * bd[5]
				s6 += x * bd[6]
				s7 += x * bd[7]
			}
			o := (*[8]float32)(out[16*r+h:])
			o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = s0, s1, s2, s3, s4, s5, s6, s7
		}
	}
}
