package simdgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm is an independent float64 triple loop over explicitly transposed
// copies: the reference every Sgemm path is compared with.
func refGemm(tA, tB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
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
			}
			out[i*n+j] = alpha * s
			if beta != 0 {
				out[i*n+j] += beta * float64(c[i*ldc+j])
			}
		}
	}
	return out
}

func TestSgemmAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, sz := range [][3]int{{1, 1, 1}, {7, 5, 3}, {6, 16, 64}, {13, 33, 129}, {64, 48, 200}, {3, 0, 4}, {0, 3, 4}, {4, 3, 0}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
					alpha, beta := ab[0], ab[1]
					lda, ldb, ldc := k+2, n+1, n+3
					ar := m
					if tA {
						ar, lda = k, m+2
					}
					br := k
					if tB {
						br, ldb = n, k+1
					}
					a := fill(max(ar*lda, 1))
					b := fill(max(br*ldb, 1))
					c := fill(max(m*ldc, 1))
					if beta == 0 {
						for i := range c {
							c[i] = float32(math.NaN()) // beta = 0 must not read C
						}
					}
					want := refGemm(tA, tB, m, n, k, float64(alpha), a, lda, b, ldb, float64(beta), c, ldc)
					Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							// float32 accumulation over k terms of
							// N(0,1)·N(0,1): error ≲ k·2⁻²⁴·Σ|a·b|; a loose
							// bound 1e-5·(k+1)·(|want|+k) is written so NaN fails.
							got, w := float64(c[i*ldc+j]), want[i*n+j]
							if !(math.Abs(got-w) <= 1e-5*float64(k+1)*(math.Abs(w)+float64(k)+1)) {
								t.Fatalf("m,n,k=%d,%d,%d tA=%v tB=%v α=%v β=%v: C[%d,%d]=%v want %v", m, n, k, tA, tB, alpha, beta, i, j, got, w)
							}
						}
					}
				}
			}
		}
	}
}

func TestSgemmShapePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("short C did not panic")
		}
	}()
	Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
}
