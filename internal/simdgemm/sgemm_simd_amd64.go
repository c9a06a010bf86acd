//go:build goexperiment.simd && amd64

package simdgemm

import "simd/archsimd"

// In the GOEXPERIMENT=simd build on amd64 the widest micro-kernel the CPU
// runs is installed: AVX-512 (F+CD+BW+DQ+VL, archsimd.X86.AVX512) first,
// then AVX2 with FMA.
func init() {
	switch {
	case archsimd.X86.AVX512():
		available = append(available, PathAVX2, PathAVX512)
	case archsimd.X86.AVX2() && archsimd.X86.FMA():
		available = append(available, PathAVX2)
	}
	path = available[len(available)-1]
}

// The broadcast of each A value is a 128-bit load of four consecutive
// floats of its row (hence the three floats of slack the kernels need after
// each row) and VBROADCASTSS from register; archsimd has no broadcast-from-memory form.
// MulAdd (VFMADD213PS) overwrites its receiver, so the receiver is the
// broadcast, a temporary. Unrolling the k loop lets the register allocator
// alternate registers between steps instead of moving every accumulator
// back at each iteration.

func kernVec(p Path, kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, load bool) {
	if p == PathAVX512 {
		kern512(kc, a, lda, b, c, ldc, alpha, beta, load)
	} else {
		kern256(kc, a, lda, b, c, ldc, alpha, beta, load)
	}
}
