package oracle

import "math"

// The inner loops of the HMM recursions. The GOEXPERIMENT=simd build on
// amd64 with AVX2+FMA replaces them with vector kernels (kernel_simd_amd64.go);
// both compute the same sums up to the order of float64 (or, for gemvT,
// float32) additions.
var (
	gemvT   = gemvTGo        // q[v] = Σ_s w[s]·e[s*K+v], float32 (S-term sums)
	gemvT2  = gemvT2Go       // two gemvT products sharing e
	dot32   = dot32Go        // Σ a[i]·b[i] of float32 inputs, exact products, float64 sum
	axpy64  = axpy64Go       // y += a·x
	gemvT64 = gemvT64Go      // y = Mᵀ·x for a len(x)×len(y) row-major M
	emitDot = emitDotGo      // b[s] = Σ_v emit[s,v]·e[v], float64 sums (emit S×K, emitT K×S)
	finish  = finishGo       // dst = q·(e+m) / Σ q·(e+m), float64 arithmetic
	scanRow = scanRowGo      // number of entries > 0, and whether all are finite and ≥ 0
	support = supportGoFrom0 // indices of the first want entries ≠ 0 other than mask (a row scanRow passed)
	kernel  = "go"           // name of the kernels in use
)

func gemvTGo(q, w, e []float32, S, K int) {
	q = q[:K]
	clear(q)
	s := 0
	for ; s+4 <= S; s += 4 {
		w0, w1, w2, w3 := w[s], w[s+1], w[s+2], w[s+3]
		r0 := e[s*K : (s+1)*K]
		r1 := e[(s+1)*K : (s+2)*K]
		r2 := e[(s+2)*K : (s+3)*K]
		r3 := e[(s+3)*K : (s+4)*K]
		r0, r1, r2, r3 = r0[:len(q)], r1[:len(q)], r2[:len(q)], r3[:len(q)]
		for v := range q {
			q[v] += w0*r0[v] + w1*r1[v] + w2*r2[v] + w3*r3[v]
		}
	}
	for ; s < S; s++ {
		ws := w[s]
		row := e[s*K : (s+1)*K]
		row = row[:len(q)]
		for v := range q {
			q[v] += ws * row[v]
		}
	}
}

func dot32Go(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func axpy64Go(y []float64, a float64, x []float64) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

func gemvT64Go(y, m, x []float64) {
	n := len(y)
	clear(y)
	for r, a := range x {
		if a != 0 {
			axpy64Go(y, a, m[r*n:(r+1)*n])
		}
	}
}

// gemvT2Go shares each load of four rows of e between the two products.
func gemvT2Go(q0, q1, w0, w1, e []float32, S, K int) {
	q0, q1 = q0[:K], q1[:K]
	clear(q0)
	clear(q1)
	s := 0
	for ; s+4 <= S; s += 4 {
		a0, a1, a2, a3 := w0[s], w0[s+1], w0[s+2], w0[s+3]
		b0, b1, b2, b3 := w1[s], w1[s+1], w1[s+2], w1[s+3]
		r0 := e[s*K : (s+1)*K]
		r1 := e[(s+1)*K : (s+2)*K]
		r2 := e[(s+2)*K : (s+3)*K]
		r3 := e[(s+3)*K : (s+4)*K]
		r0, r1, r2, r3 = r0[:len(q0)], r1[:len(q0)], r2[:len(q0)], r3[:len(q0)]
		q1 := q1[:len(q0)]
		for v := range q0 {
			x0, x1, x2, x3 := r0[v], r1[v], r2[v], r3[v]
			q0[v] += a0*x0 + a1*x1 + a2*x2 + a3*x3
			q1[v] += b0*x0 + b1*x1 + b2*x2 + b3*x3
		}
	}
	for ; s < S; s++ {
		a, b := w0[s], w1[s]
		row := e[s*K : (s+1)*K]
		row = row[:len(q0)]
		q1 := q1[:len(q0)]
		for v := range q0 {
			q0[v] += a * row[v]
			q1[v] += b * row[v]
		}
	}
}

func emitDotGo(b []float64, emit, emitT, e []float32) {
	K := len(e)
	for s := range b {
		b[s] = dot32Go(emit[s*K:(s+1)*K], e)
	}
}

// finishGo writes the normalised posterior q(v)·(e(v)+m) into dst. q is 0
// in the MASK column (emit32's MASK column is 0), so dst carries no MASK
// mass.
func finishGo(dst, q, e []float32, m float64) {
	q = q[:len(dst)]
	e = e[:len(dst)]
	sum := 0.0
	for v, x := range q {
		sum += float64(x) * (float64(e[v]) + m)
	}
	inv := 1 / sum
	for v, x := range q {
		dst[v] = float32(float64(x) * (float64(e[v]) + m) * inv)
	}
}

// scanRowGo returns the number of entries of e that are > 0 and whether
// every entry is finite and ≥ 0 (false for NaN, ±Inf and negatives).
func scanRowGo(e []float32) (nnz int, ok bool) {
	ok = true
	for _, x := range e {
		if !(x >= 0 && x <= math.MaxFloat32) {
			ok = false
		}
		if x > 0 {
			nnz++
		}
	}
	return nnz, ok
}

// supportGo writes into dst the indices (offset by base) of the entries of e
// that are nonzero, skipping index mask, in increasing order, stopping after
// want of them; it returns how many it wrote. e must have passed scanRow
// (finite, ≥ 0), so nonzero means > 0.
func supportGo(dst []int32, e []float32, mask, want, base int) int {
	n := 0
	for v, x := range e {
		if n == want {
			break
		}
		if x != 0 && v != mask {
			dst[n] = int32(base + v)
			n++
		}
	}
	return n
}

func supportGoFrom0(dst []int32, e []float32, mask, want int) int {
	return supportGo(dst, e, mask, want, 0)
}
