package oracle

import "github.com/softdiff/softdiff/internal/simdgemm"

// The blocked products of Denoise (docs/oracles.md, "Which path runs
// when"). Per sequence, the two S×K products run as GEMMs on
// internal/simdgemm's Sgemm (archsimd AVX-512 or AVX2/FMA micro-kernels in
// the GOEXPERIMENT=simd build, pure Go otherwise) with the emission matrix
// packed once per HMM:
//
//   - emission likelihoods b_i(s) = Σ_v e_i(v)·B(s,v) of the dense rows
//     (support > K/4), (rows × K)·(K × S), when there are at least
//     gemmMinRows of them, in every build (the pure-Go micro-kernel is
//     about twice as fast as emitDotGo). The sum runs over the vocabulary,
//     so it is taken in float32 over chunks of gemmChunk terms (one Sgemm
//     per chunk; every entry a float32 multiply-add chain in the order
//     v = v0, v0+1, …) and each chunk's products are folded into float64
//     accumulators. All terms are
//     ≥ 0, so each b_i(s) has relative error ≤ (gemmChunk+1)·2⁻²⁴ ≈ 7.7e-6
//     to first order (float32 rounding of B, of each product and of a
//     chunk's gemmChunk−1 additions; the float64 folding adds
//     O(2⁻⁵³·K/gemmChunk)); typically ~√gemmChunk·2⁻²⁴ ≈ 7e-7. TestGEMMPaths
//     checks the bound against the float64 path;
//   - token posteriors q_i(v) = Σ_s w_i(s)·B(s,v) of the rows needing the
//     full product (MASK mass, or support > K/4), (rows × S)·(S × K), in
//     float32 like gemvT (an S-term sum), when there are at least
//     gemmMinRows of them and the vector micro-kernel is present (the
//     pure-Go micro-kernel is slower than gemvT2Go); gemmGroup rows at a
//     time, so that their products are still in cache when finish reads
//     them.
//
// Marginals never takes these paths: it is the exact float64 reference the
// brute-force tests compare with.
const (
	gemmChunk   = 128 // vocabulary terms per float32 product
	gemmMinRows = 6   // dense rows needed for the blocked path
	gemmGroup   = 16  // rows per token-posterior product
)

// packPanels packs the B operands of both products from the float32
// emission matrix: emitChunks, the K×S matrix emitT32 in row blocks of
// gemmChunk tokens, and emitPacked, emit32 itself (S×K). The MASK column of
// both is 0.
func (h *HMM) packPanels() {
	S, K := h.S, h.K
	h.emitChunks = h.emitChunks[:0]
	for v0 := 0; v0 < K; v0 += gemmChunk {
		n := min(gemmChunk, K-v0)
		h.emitChunks = append(h.emitChunks, simdgemm.PackB(false, n, S, h.emitT32[v0*S:], S))
	}
	h.emitPacked = simdgemm.PackB(false, S, K, h.emit32, K)
}

// emitGEMM writes b_i(s) = Σ_v e_i(v)·B(s,v) + m_i·Σ_v B(s,v) into sc.b for
// the listed rows (their MASK column of B is 0).
func (h *HMM) emitGEMM(data []float32, sc *hmmScratch, rows []int32) {
	S, K := h.S, h.K
	R := len(rows)
	acc := sc.acc[:R*S]
	clear(acc)
	tile := sc.tile[:R*S]
	// All L rows in order are read in place; otherwise each chunk's rows
	// are gathered.
	inPlace := R == h.L
	for c, pb := range h.emitChunks {
		v0 := c * gemmChunk
		n := min(gemmChunk, K-v0)
		a, lda := data[v0:], K
		if !inPlace {
			a, lda = sc.apack[:R*n], n
			for j, i := range rows {
				copy(a[j*n:(j+1)*n], data[int(i)*K+v0:])
			}
		}
		sc.gemm.SgemmPacked(false, R, 1, a, lda, pb, 0, tile, S)
		for j, t := range tile {
			acc[j] += float64(t)
		}
	}
	for j, i := range rows {
		b := sc.b[int(i)*S : int(i+1)*S]
		a := acc[j*S : (j+1)*S]
		m := sc.m[i]
		for s := range b {
			b[s] = a[s] + m*h.emitSum[s]
		}
	}
}

// posteriorGEMM writes the normalised token posteriors of the listed rows
// into dst: q_i = w_iᵀB with w_i = pred_i·β_i, times the evidence e_i + m_i.
func (h *HMM) posteriorGEMM(dst, data []float32, sc *hmmScratch, rows []int32) {
	S, K := h.S, h.K
	for g0 := 0; g0 < len(rows); g0 += gemmGroup {
		grp := rows[g0:min(g0+gemmGroup, len(rows))]
		wp := sc.wpack[:len(grp)*S]
		for r, i := range grp {
			h.weights32(wp[r*S:(r+1)*S], sc, int(i))
		}
		q := sc.qrows[:len(grp)*K]
		sc.gemm.SgemmPacked(false, len(grp), 1, wp, S, h.emitPacked, 0, q, K)
		for r, i := range grp {
			finish(dst[int(i)*K:int(i+1)*K], q[r*K:(r+1)*K], data[int(i)*K:int(i+1)*K], sc.m[i])
		}
	}
}
