//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// useAVX selects the AVX2/FMA assembly kernels; the pure-Go kernels are the
// reference and the fallback.
var useAVX = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func mk6x16AVX(a *float32, b *float32, n int, out *[96]float32)

//go:noescape
func spmv16AVX(y *float64, cur *float64, idx *int32, w *float64, nnz int)
