//go:build !(goexperiment.simd && amd64)

package draw

import "math/rand/v2"

// haveVec is false: this build has no vector kernels.
const haveVec = false

// haveFMA is false: no vector entropy kernel either.
const haveFMA = false

func normalsVec(c1, c2 []float32, lo, hi []uint32) { panic("draw: no vector kernel") }

func addScaled2Vec(dst, a, b []float32, u, w float32) { panic("draw: no vector kernel") }

func entropyVec(p []float32) float64 { panic("draw: no vector kernel") }

func sharpenVec(dst, p []float32, T float64, mx float32) float32 { panic("draw: no vector kernel") }

func nucleusVec(q []float32, mx float32, topP float64, scratch []float32) (float32, float64, bool) {
	panic("draw: no vector kernel")
}

// haveCompress is false: no AVX-512 compaction kernels.
const haveCompress = false

func nucleusListVec(q []float32, theta float32, r int, ids []int32, vals []float32) (int, float64, bool) {
	panic("draw: no vector kernel")
}

func sumVec(p []float32) float64 { panic("draw: no vector kernel") }

func sampleListVec(rng *rand.Rand, vals []float32) (int, bool) { panic("draw: no vector kernel") }

func nucleusWeightsVec(dst, q []float32, theta float32, r int, a float64) float64 {
	panic("draw: no vector kernel")
}
func maxVec(p []float32) float32 { panic("draw: no vector kernel") }
