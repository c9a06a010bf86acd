package simdgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmLoopOrders: the rows-outer sweep of macro (short sums, with the
// wider column blocks it brings) and the k-blocks-innermost order of
// gemmPart (sumInner, with its smaller row blocks) only reorder whole
// micro-kernel calls; every entry of C still gets the same chain of
// float32 operations, so the results must equal, bit for bit, those of
// the original order (both turned off: panel-outer macro, k blocks
// outermost, nc×mc blocks), which TestSgemmAgainstFloat64 checks against
// a float64 reference. Checked on every path, with both orders forced on
// and at their defaults, with 1 and 3 workers and a PackedB operand, for
// shapes that engage each order (asserted, so the test is not vacuous):
// k ≤ 64 with n past nc (rows-outer, wider blocks), several k blocks
// with a short last one and several row blocks (sumInner), and beta 0
// (C not read) and not (alternating with the transposes).
func TestSgemmLoopOrders(t *testing.T) {
	oldRO, oldSI, oldMW := rowsOuterK, sumInnerMax, minWorkFlops
	defer func() { rowsOuterK, sumInnerMax, minWorkFlops = oldRO, oldSI, oldMW }()
	minWorkFlops = 1
	shapes := []struct {
		m, n, k int
		ro, si  bool // the default settings engage rows-outer / sumInner
	}{
		{37, nc + 90, 40, true, false},
		{9, 70, 64, true, false},
		{5, 4*nc + 100, 64, true, false}, // past the wider column block (2048 at k = 64)
		{136, nc + 20, kc + 9, false, true},
		{20, 40, 2*kc + 5, false, true},
		{70, 50, kc + 1, false, true},
	}
	withPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, sh := range shapes {
			rowsOuterK, sumInnerMax = oldRO, oldSI
			if rowsOuter(sh.k) != sh.ro || sumInner(sh.k, (min(nc, sh.n)+nr-1)/nr) != sh.si {
				t.Fatalf("%+v: rowsOuter %v, sumInner %v at the defaults", sh, rowsOuter(sh.k), sumInner(sh.k, (min(nc, sh.n)+nr-1)/nr))
			}
			for it, tr := range [][2]bool{{false, false}, {true, true}, {false, true}} {
				for _, beta := range []float32{float32(it%2) / 2} {
					g := newCase(rng, tr[0], tr[1], sh.m, sh.n, sh.k, 1.25, beta)
					rowsOuterK, sumInnerMax = 0, 0
					ref := append([]float32(nil), g.c...)
					Sgemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, ref, g.ldc)
					for _, set := range [][2]int{{oldRO, oldSI}, {1 << 30, 1 << 30}} {
						rowsOuterK, sumInnerMax = set[0], set[1]
						for _, w := range []int{1, 3} {
							got := append([]float32(nil), g.c...)
							ctx := Context{Workers: w}
							ctx.Sgemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got, g.ldc)
							if !g.tB && w == 1 {
								got2 := append([]float32(nil), g.c...)
								ctx.SgemmPacked(g.tA, g.m, g.alpha, g.a, g.lda, PackB(false, g.k, g.n, g.b, g.ldb), g.beta, got2, g.ldc)
								for i := range got {
									if math.Float32bits(got2[i]) != math.Float32bits(got[i]) {
										t.Fatalf("%+v tA=%v tB=%v β=%v orders %v workers %d: packed entry %d = %v, unpacked %v", sh, g.tA, g.tB, beta, set, w, i, got2[i], got[i])
									}
								}
							}
							for i := range ref {
								if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
									t.Fatalf("%+v tA=%v tB=%v β=%v orders %v workers %d: entry %d = %v, original order %v", sh, g.tA, g.tB, beta, set, w, i, got[i], ref[i])
								}
							}
						}
					}
				}
			}
		}
	})
}
