package kernels

// dot3x4 writes out[r*4+c] = a_r·b_c for the three rows a[r*lda:], four rows
// b[c*ldb:], each of length n (a multiple of 8), with the assembly kernel
// when available.
func dot3x4(a []float32, lda int, b []float32, ldb int, n int, out *[12]float32) {
	_ = a[2*lda+n-1]
	_ = b[3*ldb+n-1]
	if useAVX {
		dot3x4AVX(&a[0], lda, &b[0], ldb, n, out)
		return
	}
	dot3x4Go(a, lda, b, ldb, n, out)
}

// dot3x4Go is the pure-Go kernel (float32 accumulation in lanes of 8, as the
// assembly does, so both agree to rounding).
func dot3x4Go(a []float32, lda int, b []float32, ldb int, n int, out *[12]float32) {
	for r := 0; r < 3; r++ {
		ar := a[r*lda : r*lda+n]
		for c := 0; c < 4; c++ {
			bc := b[c*ldb : c*ldb+n]
			var s0, s1, s2, s3 float32
			for d := 0; d < n; d += 4 {
				s0 += ar[d] * bc[d]
				s1 += ar[d+1] * bc[d+1]
				s2 += ar[d+2] * bc[d+2]
				s3 += ar[d+3] * bc[d+3]
			}
			out[r*4+c] = (s0 + s1) + (s2 + s3)
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
