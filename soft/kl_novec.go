//go:build !(goexperiment.simd && amd64)

package soft

// haveKLVec is false: this build has no vector KL kernel.
const haveKLVec = false

func klVec(p, q []float32) float64 { panic("soft: no vector kernel") }

func klBoundVec(p, q []float32) float64 { panic("soft: no vector kernel") }
