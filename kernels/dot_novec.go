//go:build !(goexperiment.simd && amd64)

package kernels

// spmvVec exists in every build so that spmvPanel calls it directly;
// without the vector routine (useSIMD is false) it runs spmvGo.
func spmvVec(y *[panel]float64, cur []float64, idx []int32, w []float64) { spmvGo(y, cur, idx, w) }
