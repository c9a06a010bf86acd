package oracle

import "github.com/softdiff/softdiff/internal/simdgemm"

// The blocked products of Denoise (docs/oracles.md, "Which path runs
// when"). Per sequence, the two S×K products run as small GEMMs on the 6×16
// micro-kernel shared with package kernels (internal/simdgemm: archsimd
// AVX2/FMA in the GOEXPERIMENT=simd build, pure Go otherwise):
//
//   - emission likelihoods b_i(s) = Σ_v e_i(v)·B(s,v) of the dense rows
//     (support > K/4), (rows × K)·(K × S), when there are at least
//     gemmMinRows of them, in every build (the pure-Go micro-kernel is
//     about twice as fast as emitDotGo). The sum runs over the vocabulary,
//     so it is taken in float32 over chunks of gemmChunk terms and each
//     chunk's 6×16 tile is folded into float64 accumulators. All terms are
//     ≥ 0, so each b_i(s) has relative error ≤ (gemmChunk+1)·2⁻²⁴ ≈ 7.7e-6
//     to first order (float32 rounding of B, of each product and of a
//     chunk's gemmChunk−1 additions; the float64 folding adds
//     O(2⁻⁵³·K/gemmChunk)); typically ~√gemmChunk·2⁻²⁴ ≈ 7e-7. TestGEMMPaths
//     checks the bound against the float64 path;
//   - token posteriors q_i(v) = Σ_s w_i(s)·B(s,v) of the rows needing the
//     full product (MASK mass, or support > K/4), (rows × S)·(S × K), in
//     float32 like gemvT (an S-term sum), when there are at least
//     gemmMinRows of them and the vector micro-kernel is present (the
//     pure-Go micro-kernel is slower than gemvT2Go).
//
// Marginals never takes these paths: it is the exact float64 reference the
// brute-force tests compare with.
const (
	gemmChunk   = 128 // vocabulary terms per float32 micro-kernel call
	gemmMinRows = 6   // dense rows needed for the blocked path (one micro-kernel group)
	gemmCols    = 16  // micro-kernel panel width
)

// packPanels builds the B operands of both products from the float32
// emission matrix: statePanels (⌈S/16⌉ panels, [panel][v][16], states in
// columns) and tokenPanels (⌈K/16⌉ panels, [panel][s][16], tokens in
// columns), zero-padded.
func (h *HMM) packPanels() {
	S, K := h.S, h.K
	ns, nk := (S+gemmCols-1)/gemmCols, (K+gemmCols-1)/gemmCols
	h.statePanels = make([]float32, ns*K*gemmCols)
	h.tokenPanels = make([]float32, nk*S*gemmCols)
	for s := 0; s < S; s++ {
		p, c := s/gemmCols, s%gemmCols
		row := h.emit32[s*K : (s+1)*K]
		for v, x := range row {
			h.statePanels[(p*K+v)*gemmCols+c] = x
			h.tokenPanels[((v/gemmCols)*S+s)*gemmCols+v%gemmCols] = x
		}
	}
}

// emitGEMM writes b_i(s) = Σ_v e_i(v)·B(s,v) + m_i·Σ_v B(s,v) into sc.b for
// the listed rows (their MASK column of B is 0).
func (h *HMM) emitGEMM(data []float32, sc *hmmScratch, rows []int32) {
	S, K := h.S, h.K
	ns := (S + gemmCols - 1) / gemmCols
	G := (len(rows) + 5) / 6
	w := ns * gemmCols // accumulator row width
	acc := sc.acc[:G*6*w]
	clear(acc)
	tile := &sc.tile
	for v0 := 0; v0 < K; v0 += gemmChunk {
		n := min(gemmChunk, K-v0)
		ap := sc.apack[:G*6*n]
		for g := 0; g < G; g++ {
			blk := ap[g*6*n : (g+1)*6*n]
			for r := 0; r < 6; r++ {
				if j := g*6 + r; j < len(rows) {
					i := int(rows[j])
					for d, x := range data[i*K+v0 : i*K+v0+n] {
						blk[d*6+r] = x
					}
				} else {
					for d := 0; d < n; d++ {
						blk[d*6+r] = 0
					}
				}
			}
		}
		for p := 0; p < ns; p++ {
			bp := h.statePanels[(p*K+v0)*gemmCols : (p*K+v0+n)*gemmCols]
			for g := 0; g < G; g++ {
				simdgemm.Micro6x16(ap[g*6*n:(g+1)*6*n], bp, n, tile)
				for r := 0; r < 6; r++ {
					a := (*[gemmCols]float64)(acc[(g*6+r)*w+p*gemmCols:])
					t := (*[gemmCols]float32)(tile[r*gemmCols:])
					for c := range a {
						a[c] += float64(t[c])
					}
				}
			}
		}
	}
	for j, i := range rows {
		b := sc.b[int(i)*S : int(i+1)*S]
		a := acc[j*w : j*w+S]
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
	nk := (K + gemmCols - 1) / gemmCols
	w := nk * gemmCols
	wp := sc.wpack[:S*6]
	tile := &sc.tile
	for g0 := 0; g0 < len(rows); g0 += 6 {
		grp := rows[g0:min(g0+6, len(rows))]
		for r := 0; r < 6; r++ {
			if r < len(grp) {
				i := int(grp[r])
				pred := sc.pred[i*S : (i+1)*S]
				beta := sc.beta[i*S : (i+1)*S]
				for s := range pred {
					wp[s*6+r] = float32(pred[s] * beta[s])
				}
			} else {
				for s := 0; s < S; s++ {
					wp[s*6+r] = 0
				}
			}
		}
		for p := 0; p < nk; p++ {
			simdgemm.Micro6x16(wp, h.tokenPanels[p*S*gemmCols:(p+1)*S*gemmCols], S, tile)
			for r := range grp {
				copy(sc.qrows[r*w+p*gemmCols:r*w+(p+1)*gemmCols], tile[r*gemmCols:(r+1)*gemmCols])
			}
		}
		for r, i := range grp {
			finish(dst[int(i)*K:int(i+1)*K], sc.qrows[r*w:r*w+K], data[int(i)*K:int(i+1)*K], sc.m[i])
		}
	}
}
