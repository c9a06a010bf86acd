package simdgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm is an independent float64 triple loop: the reference every
// Sgemm path is compared with. It also returns, per entry, the magnitude
// |alpha|·Σ_p|a·b| + |beta·c| that bounds the float32 rounding error.
func refGemm(tA, tB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) (want, mag []float64) {
	want, mag = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			want[i*n+j] = alpha * s
			mag[i*n+j] = math.Abs(alpha) * sa
			if beta != 0 {
				want[i*n+j] += beta * float64(c[i*ldc+j])
				mag[i*n+j] += math.Abs(beta * float64(c[i*ldc+j]))
			}
		}
	}
	return want, mag
}

// withPath runs f once on each micro-kernel this build and CPU have.
func withPath(t *testing.T, f func(t *testing.T)) {
	old := path
	defer func() { path = old }()
	for _, p := range available {
		path = p
		t.Run(p.String(), f)
	}
}

func fillN(rng *rand.Rand, n int) []float32 {
	x := make([]float32, max(n, 1))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

type gemmCase struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	lda, ldb    int
	ldc         int
	a, b, c     []float32
}

// newCase builds random operands with padded strides (lda = rows+2 …).
func newCase(rng *rand.Rand, tA, tB bool, m, n, k int, alpha, beta float32) gemmCase {
	g := gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = ac+2, bc+1, n+3
	g.a, g.b, g.c = fillN(rng, ar*g.lda), fillN(rng, br*g.ldb), fillN(rng, m*g.ldc)
	if beta == 0 {
		for i := range g.c {
			g.c[i] = float32(math.NaN()) // beta = 0 must not read C
		}
	}
	return g
}

func (g gemmCase) check(t *testing.T, got []float32) {
	t.Helper()
	want, mag := refGemm(g.tA, g.tB, g.m, g.n, g.k, float64(g.alpha), g.a, g.lda, g.b, g.ldb, float64(g.beta), g.c, g.ldc)
	// float32 products and sums over k terms err by at most γ_k·Σ|a·b| ≈
	// k·2⁻²⁴·Σ|a·b| (Higham, Accuracy and Stability, §3.1); the alpha and
	// beta scalings and the per-block additions add a few more roundings:
	// (k+8)·2⁻²⁴·mag, plus a denormal floor. Written so NaN fails.
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			gv, w := float64(got[i*g.ldc+j]), want[i*g.n+j]
			tol := float64(g.k+8)*0x1p-24*mag[i*g.n+j] + 1e-30
			if !(math.Abs(gv-w) <= tol) {
				t.Fatalf("m,n,k=%d,%d,%d tA=%v tB=%v α=%v β=%v: C[%d,%d]=%v want %v (tol %.3g)", g.m, g.n, g.k, g.tA, g.tB, g.alpha, g.beta, i, j, gv, w, tol)
			}
		}
	}
	// Padding between rows of C is never written.
	for i := 0; i < g.m; i++ {
		for j := g.n; j < g.ldc && i*g.ldc+j < len(got); j++ {
			if math.Float32bits(got[i*g.ldc+j]) != math.Float32bits(g.c[i*g.ldc+j]) {
				t.Fatalf("padding C[%d,%d] written", i, j)
			}
		}
	}
}

func TestSgemmAgainstFloat64(t *testing.T) {
	withPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		sizes := [][3]int{{1, 1, 1}, {7, 5, 3}, {4, 32, 64}, {2, 32, 7}, {13, 33, 129}, {64, 48, 200},
			{5, 70, 257}, {3, 0, 4}, {0, 3, 4}, {4, 3, 0}, {1, 100, 520}}
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}, {0, 0.5}} {
						g := newCase(rng, tA, tB, m, n, k, ab[0], ab[1])
						got := append([]float32(nil), g.c...)
						Sgemm(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got, g.ldc)
						g.check(t, got)
					}
				}
			}
		}
	})
}

// TestSgemmBlocks covers shapes past every block size (mc, nc, kc) with
// both transposes.
func TestSgemmBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("large reference products")
	}
	withPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, c := range []struct {
			tA, tB  bool
			m, n, k int
		}{{false, false, mc + 37, nc + 45, kc + 91}, {true, true, mc + 3, nc + 1, 2*kc + 1}} {
			g := newCase(rng, c.tA, c.tB, c.m, c.n, c.k, 0.75, -0.5)
			got := append([]float32(nil), g.c...)
			Sgemm(c.tA, c.tB, c.m, c.n, c.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got, g.ldc)
			g.check(t, got)
		}
	})
}

// TestSgemmBitIdentical: any Workers, any sub-block of C and the packed
// operand give the same bits as one worker on the whole product.
func TestSgemmBitIdentical(t *testing.T) {
	old := minWorkFlops
	minWorkFlops = 1
	defer func() { minWorkFlops = old }()
	withPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, sz := range [][3]int{{150, 70, 300}, {9, 700, 40}, {33, 33, 33}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]bool{{false, false}, {true, true}, {false, true}} {
				g := newCase(rng, tr[0], tr[1], m, n, k, 1.5, 0.5)
				ref := append([]float32(nil), g.c...)
				Sgemm(g.tA, g.tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, ref, g.ldc)
				same := func(what string, got []float32) {
					t.Helper()
					for i := range ref {
						if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
							t.Fatalf("%v %s: entry %d = %v, one worker %v", sz, what, i, got[i], ref[i])
						}
					}
				}
				for w := 1; w <= 4; w++ {
					got := append([]float32(nil), g.c...)
					ctx := Context{Workers: w}
					ctx.Sgemm(g.tA, g.tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got, g.ldc)
					same("workers", got)
					if !g.tB {
						got = append([]float32(nil), g.c...)
						pb := PackB(false, k, n, g.b, g.ldb)
						ctx.SgemmPacked(g.tA, m, g.alpha, g.a, g.lda, pb, g.beta, got, g.ldc)
						same("packed", got)
					}
				}
				if g.tA || g.tB {
					continue
				}
				// Rows 5… and columns 3… alone (edge tiles elsewhere).
				i0, j0 := 5, 3
				got := append([]float32(nil), g.c...)
				Sgemm(false, false, m-i0, n-j0, k, g.alpha, g.a[i0*g.lda:], g.lda, g.b[j0:], g.ldb, g.beta, got[i0*g.ldc+j0:], g.ldc)
				for i := i0; i < m; i++ {
					for j := j0; j < n; j++ {
						if math.Float32bits(got[i*g.ldc+j]) != math.Float32bits(ref[i*g.ldc+j]) {
							t.Fatalf("%v sub-block: C[%d,%d] = %v, whole product %v", sz, i, j, got[i*g.ldc+j], ref[i*g.ldc+j])
						}
					}
				}
			}
		}
	})
}

func TestSgemmShapePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"short C": func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		},
		"short A": func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"stride B": func() {
			Sgemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 1, 0, make([]float32, 6), 3)
		},
		"negative m": func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, make([]float32, 4), 2, 0, nil, 2) },
		"packed nil": func() { SgemmPacked(false, 1, 1, make([]float32, 1), 1, nil, 0, make([]float32, 1), 1) },
		"packed bad C": func() {
			SgemmPacked(false, 2, 1, make([]float32, 4), 2, PackB(false, 2, 2, make([]float32, 4), 2), 0, make([]float32, 3), 2)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestPathsPresent: the simd build on an AVX-512 CPU must run (and so test)
// both vector paths; a CPU with AVX2 only, the AVX2 path.
func TestPathsPresent(t *testing.T) {
	if available[0] != PathGo || path != available[len(available)-1] {
		t.Fatalf("available %v, active %v", available, path)
	}
	t.Logf("paths %v, active %v", available, ActivePath())
}

// TestSgemmNoAlloc: after the first call of a size, a single-worker product
// allocates nothing (the packing buffers live in the Context).
func TestSgemmNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m, n, k := 70, 90, 300
	a, b, c := fillN(rng, m*k), fillN(rng, k*n), make([]float32, m*n)
	pb := PackB(false, k, n, b, n)
	var ctx Context
	for name, f := range map[string]func(){
		"Sgemm":       func() { ctx.Sgemm(true, false, m, n, k, 1, a, m, b, n, 0.5, c, n) },
		"SgemmPacked": func() { ctx.SgemmPacked(false, m, 1, a, k, pb, 0, c, n) },
	} {
		f()
		if got := testing.AllocsPerRun(5, f); got != 0 {
			t.Errorf("%s: %v allocations per call", name, got)
		}
	}
}
