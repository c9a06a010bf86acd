//go:build !(goexperiment.simd && amd64)

package nn

func geluVec(x []float32) { geluGo(x) }
