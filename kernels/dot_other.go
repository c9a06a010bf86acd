//go:build !amd64

package kernels

const useAVX = false

func dot3x4AVX(a *float32, lda int, b *float32, ldb int, n int, out *[12]float32) {
	panic("kernels: no assembly kernel on this architecture")
}

func axpyAVX(y *float64, x *float64, w float64, n int) {
	panic("kernels: no assembly kernel on this architecture")
}

func spmv8AVX(y *float64, cur *float64, idx *int32, w *float64, nnz int) {
	panic("kernels: no assembly kernel on this architecture")
}
