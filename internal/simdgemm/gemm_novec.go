//go:build !(goexperiment.simd && amd64)

package simdgemm

// Micro6x16Vec exists in every build so that callers can call it directly;
// without a vector kernel (Vector is false) it runs Micro6x16Go.
func Micro6x16Vec(a, b []float32, n int, out *[96]float32) { Micro6x16Go(a, b, n, out) }
