package oracle

// gemvT computes q[v] = Σ_s w[s]·e[s*K+v] (q = wᵀE for an S×K row-major E)
// in float32. It is the S×K token product of the HMM posterior; the
// GOEXPERIMENT=simd build replaces it with an AVX2+FMA kernel.
var gemvT = gemvTGo

func gemvTGo(q, w, e []float32, S, K int) {
	clear(q)
	q = q[:K]
	for s := 0; s < S; s++ {
		ws := w[s]
		if ws == 0 {
			continue
		}
		row := e[s*K : (s+1)*K]
		v := 0
		for ; v+4 <= K; v += 4 {
			q[v] += ws * row[v]
			q[v+1] += ws * row[v+1]
			q[v+2] += ws * row[v+2]
			q[v+3] += ws * row[v+3]
		}
		for ; v < K; v++ {
			q[v] += ws * row[v]
		}
	}
}
