//go:build !(goexperiment.simd && amd64)

package simdgemm

// Without the simd experiment (or off amd64) only the pure-Go micro-kernel
// exists; kernVec is never called.
func kernVec(p Path, kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, load bool) {
	kernGo(kc, a, lda, b, c, ldc, alpha, beta, load)
}
