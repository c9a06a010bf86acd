//go:build goexperiment.simd && amd64

package decode

// simdBuild: this is the GOEXPERIMENT=simd build (vector kernels may serve
// draw and soft, within their documented tolerances).
const simdBuild = true
