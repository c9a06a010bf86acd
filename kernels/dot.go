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

// axpy adds w·x to y (equal lengths).
func axpy(y, x []float64, w float64) {
	n := len(y)
	x = x[:n]
	m := n &^ 3
	if useAVX && m > 0 {
		axpyAVX(&y[0], &x[0], w, m)
	} else {
		m = 0
	}
	for i := m; i < n; i++ {
		y[i] += w * x[i]
	}
}

// spmv8 adds Σ_p w[p]·cur[8·idx[p]:8·idx[p]+8] to y (node-major panels of
// width 8).
func spmv8(y *[8]float64, cur []float64, idx []int32, w []float64) {
	if len(idx) == 0 {
		return
	}
	w = w[:len(idx)]
	if useAVX {
		spmv8AVX(&y[0], &cur[0], &idx[0], &w[0], len(idx))
		return
	}
	spmv8Go(y, cur, idx, w)
}

func spmv8Go(y *[8]float64, cur []float64, idx []int32, w []float64) {
	for p, j := range idx {
		x := cur[int(j)*8 : int(j)*8+8]
		wp := w[p]
		y[0] += wp * x[0]
		y[1] += wp * x[1]
		y[2] += wp * x[2]
		y[3] += wp * x[3]
		y[4] += wp * x[4]
		y[5] += wp * x[5]
		y[6] += wp * x[6]
		y[7] += wp * x[7]
	}
}
