package oracle

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// gemmEvidence draws L evidence rows over K states (MASK last): dense rows
// with MASK mass (i%4 == 0, 1), dense rows without (2), and alternately
// one-hot or all-MASK rows (3).
func gemmEvidence(rng *rand.Rand, L, K int) *soft.Dense {
	ev := soft.NewDense(L, K)
	for i := 0; i < L; i++ {
		row := ev.Row(i)
		switch i % 4 {
		case 0, 1:
			for v := range row {
				row[v] = rng.Float32()
			}
		case 2:
			for v := 0; v < K-1; v++ {
				row[v] = rng.Float32()
			}
		default:
			if i%8 == 3 {
				row[rng.IntN(K-1)] = 1
			} else {
				row[K-1] = 1
			}
		}
	}
	return ev
}

// TestGEMMPaths runs Denoise through the blocked products (the posterior one
// only where the vector micro-kernel exists; S and K not multiples of 16,
// K > 2·gemmChunk so the vocabulary sum has a partial chunk) and compares
// with Marginals, the exact float64 reference: the emission likelihoods
// within the relative bound documented in kernel_gemm.go (plus K/gemmChunk
// + 1 ulps of slack), the beliefs within 1e-5 (float32 output and products).
func TestGEMMPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ S, D, L int }{{20, 300, 15}, {16, 40, 7}, {33, 129, 13}} {
		h, err := RandomHMM(rng, c.S, c.D, c.L)
		if err != nil {
			t.Fatal(err)
		}
		K := h.K
		ev := gemmEvidence(rng, c.L, K)
		fast, exact := h.pool.Get().(*hmmScratch), h.pool.New().(*hmmScratch)
		if _, err := h.forward(ev, fast, true); err != nil {
			t.Fatal(err)
		}
		if _, err := h.forward(ev, exact, false); err != nil {
			t.Fatal(err)
		}
		dense := 0
		for i := 0; i < c.L; i++ {
			if 4*int(fast.nsup[i]) > K {
				dense++
			}
		}
		if dense < gemmMinRows {
			t.Fatalf("case %+v: %d dense rows, the blocked emission product needs %d", c, dense, gemmMinRows)
		}
		// Bound from kernel_gemm.go: (gemmChunk + K/gemmChunk + 2)·2⁻²⁴
		// relative (all terms ≥ 0).
		tol := float64(gemmChunk+K/gemmChunk+2) * 0x1p-24
		for j, want := range exact.b {
			if got := fast.b[j]; !(math.Abs(got-want) <= tol*want) {
				t.Fatalf("case %+v: b[%d] = %v, exact %v (rel. tol %g)", c, j, got, want, tol)
			}
		}
		h.pool.Put(fast)
		want := make([]float64, c.L*K)
		if _, err := h.Marginals(want, ev); err != nil {
			t.Fatal(err)
		}
		dst := soft.NewDense(c.L, K)
		if err := h.Denoise(dst, ev, 0); err != nil {
			t.Fatal(err)
		}
		for j := range want {
			if !(math.Abs(float64(dst.Data[j])-want[j]) <= 1e-5) {
				t.Fatalf("case %+v: entry %d: Denoise %v, Marginals %v", c, j, dst.Data[j], want[j])
			}
		}
		if err := dst.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}
