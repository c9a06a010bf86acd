package kernels

// mk6x16 writes out[r*16+c] = Σ_{d<n} a[6d+r]·b[16d+c]: six packed query
// rows (layout [d][6]) against sixteen packed candidates ([d][16]), with the
// assembly kernel when available.
func mk6x16(a, b []float32, n int, out *[96]float32) {
	_ = a[6*n-1]
	_ = b[16*n-1]
	if useAVX {
		mk6x16AVX(&a[0], &b[0], n, out)
		return
	}
	mk6x16Go(a, b, n, out)
}

// mk6x16Go is the pure-Go kernel (same summation order as the assembly).
func mk6x16Go(a, b []float32, n int, out *[96]float32) {
	*out = [96]float32{}
	for d := 0; d < n; d++ {
		ad := a[6*d : 6*d+6]
		bd := b[16*d : 16*d+16]
		for r, x := range ad {
			o := out[r*16 : r*16+16]
			for c, y := range bd {
				o[c] += x * y
			}
		}
	}
}

// spmvPanel adds Σ_p w[p]·cur[P·idx[p]:P·idx[p]+P] to y (node-major panels
// of width P = panel).
func spmvPanel(y *[panel]float64, cur []float64, idx []int32, w []float64) {
	if len(idx) == 0 {
		return
	}
	w = w[:len(idx)]
	if useAVX {
		spmv16AVX(&y[0], &cur[0], &idx[0], &w[0], len(idx))
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

// spmv16AVX is written for panels of 16: a compile-time check.
var _ = [1]struct{}{}[panel-16]
