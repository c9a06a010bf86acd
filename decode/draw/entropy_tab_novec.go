//go:build !(goexperiment.simd && amd64)

package draw

func entropyTab(p []float32) float64 { panic("draw: no vector kernel") }

// haveEntropy512 is false: no 16-lane kernel either.
const haveEntropy512 = false

func entropyTab512(p []float32) float64 { panic("draw: no vector kernel") }
