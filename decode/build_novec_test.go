//go:build !(goexperiment.simd && amd64)

package decode

// simdBuild: this is the default build (pure Go: outputs bit-identical).
const simdBuild = false
