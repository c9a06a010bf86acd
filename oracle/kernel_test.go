package oracle

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernels compares the kernels in use (AVX2 under GOEXPERIMENT=simd)
// with the pure-Go ones on lengths that exercise every tail.
// TestScanRow compares scanRow (AVX2 under GOEXPERIMENT=simd) with
// scanRowGo and with counts made in this test, on rows of every tail
// length holding zeros, positives and one bad value (NaN, ±Inf, negative,
// -0 which is fine) at every position class.
func TestScanRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bads := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1e-30, float32(math.Copysign(0, -1))}
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 33, 1001} {
		for trial := 0; trial < 1+len(bads); trial++ {
			e := make([]float32, n)
			want := 0
			for v := range e {
				if rng.IntN(3) > 0 {
					e[v] = rng.Float32() + 1e-6
					want++
				}
			}
			wantOK := true
			if trial > 0 && n > 0 {
				b := bads[trial-1]
				pos := rng.IntN(n)
				if e[pos] > 0 {
					want--
				}
				if b > 0 { // +Inf counts as positive
					want++
				}
				e[pos] = b
				wantOK = b == 0 // -0 is a valid zero
			}
			nnz, ok := scanRow(e)
			gn, gok := scanRowGo(e)
			if nnz != want || ok != wantOK || gn != want || gok != wantOK {
				t.Fatalf("n=%d trial %d: scanRow (%d, %v), scanRowGo (%d, %v), want (%d, %v)", n, trial, nnz, ok, gn, gok, want, wantOK)
			}
		}
	}
}

func TestKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Logf("kernels: %s", kernel)
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 100, 1001} {
		a32, b32 := make([]float32, n), make([]float32, n)
		a64, b64 := make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			a32[i], b32[i] = rng.Float32(), rng.Float32()
			a64[i], b64[i] = rng.Float64(), rng.Float64()
		}
		if got, want := dot32(a32, b32), dot32Go(a32, b32); !(math.Abs(got-want) <= 1e-13*(1+want)) {
			t.Fatalf("dot32 n=%d: %v, Go %v", n, got, want)
		}
		y1, y2 := append([]float64(nil), b64...), append([]float64(nil), b64...)
		axpy64(y1, 0.3, a64)
		axpy64Go(y2, 0.3, a64)
		for i := range y1 {
			if !(math.Abs(y1[i]-y2[i]) <= 1e-15) {
				t.Fatalf("axpy64 n=%d at %d: %v, Go %v", n, i, y1[i], y2[i])
			}
		}
		for _, S := range []int{1, 5, 16, 17, 20, 32, 52, 64} {
			emit, e := make([]float32, S*n), make([]float32, n)
			emitT := make([]float32, n*S)
			for s := 0; s < S; s++ {
				for v := 0; v < n; v++ {
					emit[s*n+v] = rng.Float32()
					emitT[v*S+s] = emit[s*n+v]
				}
			}
			for v := range e {
				if v%3 != 0 {
					e[v] = rng.Float32()
				}
			}
			b1, b2 := make([]float64, S), make([]float64, S)
			emitDot(b1, emit, emitT, e)
			emitDotGo(b2, emit, emitT, e)
			for s := range b1 {
				if !(math.Abs(b1[s]-b2[s]) <= 1e-12*(1+b2[s])) {
					t.Fatalf("emitDot S=%d n=%d at %d: %v, Go %v", S, n, s, b1[s], b2[s])
				}
			}
		}
		if n > 0 {
			q, e := make([]float32, n), make([]float32, n)
			for v := range q {
				q[v], e[v] = rng.Float32(), rng.Float32()
			}
			d1, d2 := make([]float32, n), make([]float32, n)
			finish(d1, q, e, 0.25)
			finishGo(d2, q, e, 0.25)
			for v := range d1 {
				if !(math.Abs(float64(d1[v]-d2[v])) <= 1e-7*float64(d2[v])+1e-12) {
					t.Fatalf("finish n=%d at %d: %v, Go %v", n, v, d1[v], d2[v])
				}
			}
		}
		if n > 0 && n <= 100 {
			m := make([]float64, 3*n)
			for i := range m {
				m[i] = rng.Float64()
			}
			// y = Mᵀx with M 3×n, and the transposed shape n×3.
			x3 := []float64{0.5, 0.25, 2}
			y1, y2 := make([]float64, n), make([]float64, n)
			gemvT64(y1, m, x3)
			gemvT64Go(y2, m, x3)
			for i := range y1 {
				want := 0.0
				for r := 0; r < 3; r++ {
					want += x3[r] * m[r*n+i]
				}
				if !(math.Abs(y1[i]-want) <= 1e-13*(1+want)) || !(math.Abs(y2[i]-want) <= 1e-13*(1+want)) {
					t.Fatalf("gemvT64 n=%d col %d: %v / Go %v, want %v", n, i, y1[i], y2[i], want)
				}
			}
			z1, z2 := make([]float64, 3), make([]float64, 3)
			gemvT64(z1, m, a64)
			gemvT64Go(z2, m, a64)
			for i := range z1 {
				if !(math.Abs(z1[i]-z2[i]) <= 1e-12*(1+z2[i])) {
					t.Fatalf("gemvT64 3 cols n=%d col %d: %v, Go %v", n, i, z1[i], z2[i])
				}
			}
		}
		for _, S := range []int{1, 3, 5, 64} {
			w, e := make([]float32, S), make([]float32, S*n)
			for i := range w {
				w[i] = rng.Float32()
			}
			for i := range e {
				e[i] = rng.Float32()
			}
			q1, q2 := make([]float32, n), make([]float32, n)
			q1 = append(q1, 7) // a sentinel past K must stay untouched
			gemvT(q1, w, e, S, n)
			gemvTGo(q2, w, e, S, n)
			for i := range q2 {
				if !(math.Abs(float64(q1[i]-q2[i])) <= 1e-5*float64(S)) {
					t.Fatalf("gemvT S=%d n=%d at %d: %v, Go %v", S, n, i, q1[i], q2[i])
				}
			}
			q5 := append([]float32(nil), q1[:n]...) // gemvT2 must match gemvT exactly
			q3, q4 := make([]float32, n), make([]float32, n)
			w2 := make([]float32, S)
			for i := range w2 {
				w2[i] = rng.Float32()
			}
			gemvT2(q3, q4, w, w2, e, S, n)
			gemvTGo(q1[:n], w2, e, S, n)
			for i := range q2 {
				if q3[i] != q5[i] || !(math.Abs(float64(q4[i]-q1[i])) <= 1e-5*float64(S)) {
					t.Fatalf("gemvT2 S=%d n=%d at %d", S, n, i)
				}
			}
			if q1[n] != 7 {
				t.Fatalf("gemvT wrote past K")
			}
		}
	}
}

// TestSupport checks the support scan in use against a direct list of the
// nonzero non-MASK indices of random sparse rows, asking for all of them.
func TestSupport(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for trial := 0; trial < 100; trial++ {
		K := 1 + rng.IntN(100)
		e := make([]float32, K)
		var list []int32
		mask := rng.IntN(K)
		for v := range e {
			if rng.IntN(5) == 0 {
				e[v] = 1 + rng.Float32()
				if v != mask {
					list = append(list, int32(v))
				}
			}
		}
		got := make([]int32, K)
		n := support(got, e, mask, len(list))
		if n != len(list) {
			t.Fatalf("K=%d: %d indices, want %d", K, n, len(list))
		}
		for j, v := range list {
			if got[j] != v {
				t.Fatalf("K=%d: index %d is %d, want %d", K, j, got[j], v)
			}
		}
	}
}
