package kernels

import "github.com/softdiff/softdiff/internal/simdgemm"

// The two inner loops of the package: the 6×16 outer-product micro-kernel of
// the exact kNN build (shared with package oracle in internal/simdgemm) and
// the panel sparse product of the graph kernel's Chebyshev series. The
// pure-Go routines are the reference and run in every build; the
// GOEXPERIMENT=simd build on amd64 CPUs with AVX2 and FMA installs vector
// routines (simdgemm.Micro6x16Vec and, in dot_simd_amd64.go, spmvVec) and sets
// useSIMD; other builds define spmvVec as the Go routine (dot_novec.go).
// They are called directly, not through function variables, so that the
// callers' stack buffers do not escape to the heap. Tests clear useSIMD to run
// the Go routines (SOFTDIFF_NOSIMD=1 runs the whole package test on them).
var useSIMD bool

// mk6x16 writes out[r*16+c] = Σ_{d<n} a[6d+r]·b[16d+c]: six packed query
// rows (layout [d][6]) against sixteen packed candidates ([d][16]).
func mk6x16(a, b []float32, n int, out *[96]float32) {
	_ = a[6*n-1]
	_ = b[16*n-1]
	if useSIMD {
		simdgemm.Micro6x16Vec(a, b, n, out)
		return
	}
	simdgemm.Micro6x16Go(a, b, n, out)
}

// spmvPanel adds Σ_p w[p]·cur[P·idx[p]:P·idx[p]+P] to y (node-major panels
// of width P = panel).
func spmvPanel(y *[panel]float64, cur []float64, idx []int32, w []float64) {
	if len(idx) == 0 {
		return
	}
	w = w[:len(idx)]
	if useSIMD {
		spmvVec(y, cur, idx, w)
		return
	}
	spmvGo(y, cur, idx, w)
}

func spmvGo(y *[panel]float64, cur []float64, idx []int32, w []float64) {
	for p, j := range idx {
		x := (*[panel]float64)(cur[int(j)*panel:])
		wp := w[p]
		for r := range y {
			y[r] += wp * x[r]
		}
	}
}
