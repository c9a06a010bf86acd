//go:build !amd64

package kernels

const useAVX = false

func mk6x16AVX(a *float32, b *float32, n int, out *[96]float32) {
	panic("kernels: no assembly kernel on this architecture")
}

func spmv16AVX(y *float64, cur *float64, idx *int32, w *float64, nnz int) {
	panic("kernels: no assembly kernel on this architecture")
}
