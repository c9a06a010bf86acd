package simdgemm

import (
	"fmt"
	"sync"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32
// matrices, where op(X) is X or its transpose Xᵀ (tA, tB). op(A) is m×k,
// op(B) is k×n and C is m×n; lda, ldb and ldc are the row strides of A, B
// and C as stored (A is m×k with lda ≥ k when !tA, k×m with lda ≥ m when
// tA; likewise B). beta = 0 overwrites C without reading it (NaN in C does
// not propagate).
//
// Each entry of C is a sum over p = 0, 1, …, k−1 in an order that depends
// only on k and the build (not on Workers or on m, n), so results are
// bit-identical whatever the number of workers.
//
// Sgemm panics if a dimension or stride is negative or a slice is too short
// for the shapes given: the shapes are the caller's own buffers.
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ctx := ctxPool.Get().(*Context)
	ctx.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	ctxPool.Put(ctx)
}

var ctxPool = sync.Pool{New: func() any { return new(Context) }}

// Context holds the packing buffers of Sgemm so that repeated products
// allocate nothing after the first call of each size, and the number of
// goroutines a product may use. The zero value is single-threaded. A
// Context is not safe for concurrent use; use one per goroutine.
type Context struct {
	// Workers bounds the goroutines of one product; ≤ 1 means the calling
	// goroutine only. Results do not depend on it.
	Workers int
}

// Sgemm is the package-level Sgemm using c's buffers and workers.
func (ctx *Context) Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkShape("A", tA, m, k, a, lda)
	checkShape("B", tB, k, n, b, ldb)
	checkShape("C", false, m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		if alpha == 0 || k == 0 {
			continue
		}
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var x, y float32
				if tA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if tB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				s += x * y
			}
			ci[j] += alpha * s
		}
	}
}

// checkShape panics unless x holds a rows×cols matrix (stored transposed
// when t) with row stride ld.
func checkShape(name string, t bool, rows, cols int, x []float32, ld int) {
	if t {
		rows, cols = cols, rows
	}
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("simdgemm: %s has negative dimension %d×%d", name, rows, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("simdgemm: %s stride %d < %d columns", name, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("simdgemm: %s has %d elements, %d×%d with stride %d needs %d", name, len(x), rows, cols, ld, need))
	}
}
