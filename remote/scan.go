package remote

import "math"

// nextNonzero returns the first index ≥ j whose entry is not 0 (NaN
// included, −0 not), or len(p). A GOEXPERIMENT=simd build on an AVX2
// machine replaces it with nextNonzeroAVX2, which returns the same.
var nextNonzero = nextNonzeroGo

// nextNonzeroGo tests 8 entries at a time by their bit patterns (a chunk
// of zeros, +0, has none set) and the entries of a chunk that has one by
// value.
func nextNonzeroGo(p []float32, j int) int {
	for ; j+8 <= len(p); j += 8 {
		q := p[j : j+8 : j+8]
		if bits32(q[0])|bits32(q[1])|bits32(q[2])|bits32(q[3])|bits32(q[4])|bits32(q[5])|bits32(q[6])|bits32(q[7]) == 0 {
			continue
		}
		for i, x := range q {
			if x != 0 {
				return j + i
			}
		}
	}
	for ; j < len(p); j++ {
		if p[j] != 0 {
			return j
		}
	}
	return len(p)
}

func bits32(x float32) uint32 { return math.Float32bits(x) }
