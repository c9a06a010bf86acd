//go:build !(goexperiment.simd && amd64)

package soft

import "math/rand/v2"

// haveSampleVec is false: this build has no vector Sample.
const haveSampleVec = false

func sampleVec(rng *rand.Rand, p []float32) int32 { panic("soft: no vector kernel") }

const haveSample512 = false

func sumPositive(p []float32) float64    { panic("soft: no vector kernel") }
func sumPositive512(p []float32) float64 { panic("soft: no vector kernel") }
