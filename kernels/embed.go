package kernels

import "math/rand/v2"

// RandomEmbeddings returns n×d (row-major) standard normal embeddings drawn
// from rng: a reproducible stand-in for learned token embeddings in tests,
// benchmarks and experiments.
func RandomEmbeddings(rng *rand.Rand, n, d int) []float32 {
	e := make([]float32, n*d)
	for i := range e {
		e[i] = float32(rng.NormFloat64())
	}
	return e
}
