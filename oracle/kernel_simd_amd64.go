//go:build goexperiment.simd && amd64

package oracle

import (
	"math"
	"math/bits"
	"simd/archsimd"
)

// The AVX2+FMA kernels. Loads go through fixed-size array pointers so that
// one bounds check covers a whole chunk. No kernel reduces a vector to a
// scalar inside its loops: measured on the device machine, a 4-lane float64
// dot product per row (horizontal sum through memory, then scalar adds) made
// the S×S products several times slower than scalar Go, so the state
// recursions use the broadcast-and-accumulate form gemvT64 instead.

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		gemvT, gemvT2, dot32, gemvT64, emitDot, finish = gemvTAVX2, gemvT2AVX2, dot32AVX2, gemvT64AVX2, emitDotAVX2, finishAVX2
		scanRow = scanRowAVX2
		support = supportAVX2
		kernel = "avx2"
		if archsimd.X86.AVX512() {
			gemvT64 = gemvT64AVX512
			kernel = "avx512"
		}
	}
}

func ld8(p *[32]float32, k int) archsimd.Float32x8 {
	return archsimd.LoadFloat32x8((*[8]float32)(p[8*k : 8*k+8]))
}

// gemvTAVX2 keeps 32 lanes of q in four registers while it runs down the S
// rows of e, so each q chunk is stored once.
func gemvTAVX2(q, w, e []float32, S, K int) {
	q = q[:K]
	w = w[:S]
	v := 0
	for ; v+32 <= K; v += 32 {
		var a0, a1, a2, a3 archsimd.Float32x8
		for s, ws := range w {
			row := (*[32]float32)(e[s*K+v : s*K+v+32])
			b := archsimd.BroadcastFloat32x8(ws)
			a0 = ld8(row, 0).MulAdd(b, a0)
			a1 = ld8(row, 1).MulAdd(b, a1)
			a2 = ld8(row, 2).MulAdd(b, a2)
			a3 = ld8(row, 3).MulAdd(b, a3)
		}
		out := (*[32]float32)(q[v : v+32])
		a0.Store((*[8]float32)(out[0:8]))
		a1.Store((*[8]float32)(out[8:16]))
		a2.Store((*[8]float32)(out[16:24]))
		a3.Store((*[8]float32)(out[24:32]))
	}
	gemvTTail(q, w, e, S, K, v)
}

// gemvTTail finishes columns [v, K) with 8-lane and scalar steps.
func gemvTTail(q, w, e []float32, S, K, v int) {
	for ; v+8 <= K; v += 8 {
		var a0 archsimd.Float32x8
		for s, ws := range w {
			a0 = archsimd.LoadFloat32x8((*[8]float32)(e[s*K+v:s*K+v+8])).MulAdd(archsimd.BroadcastFloat32x8(ws), a0)
		}
		a0.Store((*[8]float32)(q[v : v+8]))
	}
	for ; v < K; v++ {
		acc := float32(0)
		for s, ws := range w {
			acc += ws * e[s*K+v]
		}
		q[v] = acc
	}
}

// gemvT2AVX2 computes two products sharing each load of e.
func gemvT2AVX2(q0, q1, w0, w1, e []float32, S, K int) {
	q0, q1 = q0[:K], q1[:K]
	w0, w1 = w0[:S], w1[:S]
	v := 0
	for ; v+32 <= K; v += 32 {
		var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float32x8
		for s := range w0 {
			row := (*[32]float32)(e[s*K+v : s*K+v+32])
			x := archsimd.BroadcastFloat32x8(w0[s])
			y := archsimd.BroadcastFloat32x8(w1[s])
			r0, r1 := ld8(row, 0), ld8(row, 1)
			a0 = r0.MulAdd(x, a0)
			b0 = r0.MulAdd(y, b0)
			a1 = r1.MulAdd(x, a1)
			b1 = r1.MulAdd(y, b1)
			r2, r3 := ld8(row, 2), ld8(row, 3)
			a2 = r2.MulAdd(x, a2)
			b2 = r2.MulAdd(y, b2)
			a3 = r3.MulAdd(x, a3)
			b3 = r3.MulAdd(y, b3)
		}
		o0 := (*[32]float32)(q0[v : v+32])
		o1 := (*[32]float32)(q1[v : v+32])
		a0.Store((*[8]float32)(o0[0:8]))
		a1.Store((*[8]float32)(o0[8:16]))
		a2.Store((*[8]float32)(o0[16:24]))
		a3.Store((*[8]float32)(o0[24:32]))
		b0.Store((*[8]float32)(o1[0:8]))
		b1.Store((*[8]float32)(o1[8:16]))
		b2.Store((*[8]float32)(o1[16:24]))
		b3.Store((*[8]float32)(o1[24:32]))
	}
	gemvTTail(q0, w0, e, S, K, v)
	gemvTTail(q1, w1, e, S, K, v)
}

// dot32AVX2 widens 4 float32 lanes at a time to float64 and accumulates in
// float64 (the products of two float32 values are exact in float64).
func dot32AVX2(a, b []float32) float64 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 archsimd.Float64x4
	i := 0
	for ; i+16 <= n; i += 16 {
		x := (*[16]float32)(a[i : i+16])
		y := (*[16]float32)(b[i : i+16])
		s0 = archsimd.LoadFloat32x4((*[4]float32)(x[0:4])).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(y[0:4])).ConvertToFloat64(), s0)
		s1 = archsimd.LoadFloat32x4((*[4]float32)(x[4:8])).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(y[4:8])).ConvertToFloat64(), s1)
		s2 = archsimd.LoadFloat32x4((*[4]float32)(x[8:12])).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(y[8:12])).ConvertToFloat64(), s2)
		s3 = archsimd.LoadFloat32x4((*[4]float32)(x[12:16])).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(y[12:16])).ConvertToFloat64(), s3)
	}
	var lanes [4]float64
	s0.Add(s1).Add(s2.Add(s3)).Store(&lanes)
	sum := (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
	for ; i < n; i++ {
		sum += float64(a[i]) * float64(b[i])
	}
	return sum
}

func ld4(p *[32]float64, k int) archsimd.Float64x4 {
	return archsimd.LoadFloat64x4((*[4]float64)(p[4*k : 4*k+4]))
}

// gemvT64AVX2 computes y = Mᵀx as Σ_r x[r]·M[r, :], holding 32 lanes of y
// in eight registers per pass over the rows.
func gemvT64AVX2(y, m, x []float64) { gemvT64AVX2From(y, m, x, 0) }

// gemvT64AVX512 is gemvT64AVX2 with 64 lanes of y in eight 8-lane registers
// per pass (one pass and one broadcast per row for S = 64). Every lane gets
// the same fused multiply-adds in the same order as in gemvT64AVX2, so the
// two agree to the bit.
func gemvT64AVX512(y, m, x []float64) {
	n := len(y)
	c := 0
	for ; c+64 <= n; c += 64 {
		var a0, a1, a2, a3, a4, a5, a6, a7 archsimd.Float64x8
		for r, xr := range x {
			row := (*[64]float64)(m[r*n+c : r*n+c+64])
			b := archsimd.BroadcastFloat64x8(xr)
			a0 = ld8d(row, 0).MulAdd(b, a0)
			a1 = ld8d(row, 1).MulAdd(b, a1)
			a2 = ld8d(row, 2).MulAdd(b, a2)
			a3 = ld8d(row, 3).MulAdd(b, a3)
			a4 = ld8d(row, 4).MulAdd(b, a4)
			a5 = ld8d(row, 5).MulAdd(b, a5)
			a6 = ld8d(row, 6).MulAdd(b, a6)
			a7 = ld8d(row, 7).MulAdd(b, a7)
		}
		out := (*[64]float64)(y[c : c+64])
		a0.Store((*[8]float64)(out[0:8]))
		a1.Store((*[8]float64)(out[8:16]))
		a2.Store((*[8]float64)(out[16:24]))
		a3.Store((*[8]float64)(out[24:32]))
		a4.Store((*[8]float64)(out[32:40]))
		a5.Store((*[8]float64)(out[40:48]))
		a6.Store((*[8]float64)(out[48:56]))
		a7.Store((*[8]float64)(out[56:64]))
	}
	gemvT64AVX2From(y, m, x, c)
}

func ld8d(p *[64]float64, k int) archsimd.Float64x8 {
	return archsimd.LoadFloat64x8((*[8]float64)(p[8*k : 8*k+8]))
}

// gemvT64AVX2From is gemvT64AVX2 on the columns c0… of y.
func gemvT64AVX2From(y, m, x []float64, c0 int) {
	n := len(y)
	c := c0
	for ; c+32 <= n; c += 32 {
		var a0, a1, a2, a3, a4, a5, a6, a7 archsimd.Float64x4
		for r, xr := range x {
			row := (*[32]float64)(m[r*n+c : r*n+c+32])
			b := archsimd.BroadcastFloat64x4(xr)
			a0 = ld4(row, 0).MulAdd(b, a0)
			a1 = ld4(row, 1).MulAdd(b, a1)
			a2 = ld4(row, 2).MulAdd(b, a2)
			a3 = ld4(row, 3).MulAdd(b, a3)
			a4 = ld4(row, 4).MulAdd(b, a4)
			a5 = ld4(row, 5).MulAdd(b, a5)
			a6 = ld4(row, 6).MulAdd(b, a6)
			a7 = ld4(row, 7).MulAdd(b, a7)
		}
		out := (*[32]float64)(y[c : c+32])
		a0.Store((*[4]float64)(out[0:4]))
		a1.Store((*[4]float64)(out[4:8]))
		a2.Store((*[4]float64)(out[8:12]))
		a3.Store((*[4]float64)(out[12:16]))
		a4.Store((*[4]float64)(out[16:20]))
		a5.Store((*[4]float64)(out[20:24]))
		a6.Store((*[4]float64)(out[24:28]))
		a7.Store((*[4]float64)(out[28:32]))
	}
	for ; c+4 <= n; c += 4 {
		var a0 archsimd.Float64x4
		for r, xr := range x {
			a0 = archsimd.LoadFloat64x4((*[4]float64)(m[r*n+c:r*n+c+4])).MulAdd(archsimd.BroadcastFloat64x4(xr), a0)
		}
		a0.Store((*[4]float64)(y[c : c+4]))
	}
	for ; c < n; c++ {
		acc := 0.0
		for r, xr := range x {
			acc += xr * m[r*n+c]
		}
		y[c] = acc
	}
}

func ld4f(p *[16]float32, k int) archsimd.Float64x4 {
	return archsimd.LoadFloat32x4((*[4]float32)(p[4*k : 4*k+4])).ConvertToFloat64()
}

// emitDotAVX2 computes b[s] = Σ_v e[v]·emitT[v, s] with 16 states of b in
// four float64 registers per pass over the vocabulary, then 4 at a time:
// every product of two float32 values is exact in float64 and the
// vocabulary-length sums accumulate in float64. The loops hold no scalar
// float work: a scalar compare there made it more than ten times slower on
// the device machine. (Eight
// accumulators, 32 states a pass, measured no faster: 12.8 µs against
// 10.9 µs for S = 64, K = 1001.)
func emitDotAVX2(b []float64, emit, emitT, e []float32) {
	S := len(b)
	c := 0
	for ; c+16 <= S; c += 16 {
		var a0, a1, a2, a3 archsimd.Float64x4
		for v, ev := range e {
			row := (*[16]float32)(emitT[v*S+c : v*S+c+16])
			x := archsimd.BroadcastFloat32x4(ev).ConvertToFloat64()
			a0 = ld4f(row, 0).MulAdd(x, a0)
			a1 = ld4f(row, 1).MulAdd(x, a1)
			a2 = ld4f(row, 2).MulAdd(x, a2)
			a3 = ld4f(row, 3).MulAdd(x, a3)
		}
		out := (*[16]float64)(b[c : c+16])
		a0.Store((*[4]float64)(out[0:4]))
		a1.Store((*[4]float64)(out[4:8]))
		a2.Store((*[4]float64)(out[8:12]))
		a3.Store((*[4]float64)(out[12:16]))
	}
	for ; c+4 <= S; c += 4 {
		var a0 archsimd.Float64x4
		for v, ev := range e {
			a0 = archsimd.LoadFloat32x4((*[4]float32)(emitT[v*S+c:v*S+c+4])).ConvertToFloat64().MulAdd(archsimd.BroadcastFloat32x4(ev).ConvertToFloat64(), a0)
		}
		a0.Store((*[4]float64)(b[c : c+4]))
	}
	K := len(e)
	for ; c < S; c++ {
		b[c] = dot32AVX2(emit[c*K:(c+1)*K], e)
	}
}

// finishAVX2 is finishGo in 4-lane float64 arithmetic: one pass for the
// sum (one horizontal reduction a call), one for the scaled output.
func finishAVX2(dst, q, e []float32, m float64) {
	n := len(dst)
	q = q[:n]
	e = e[:n]
	mv := archsimd.BroadcastFloat64x4(m)
	var s0, s1 archsimd.Float64x4
	i := 0
	for ; i+8 <= n; i += 8 {
		qa := (*[8]float32)(q[i : i+8])
		ea := (*[8]float32)(e[i : i+8])
		s0 = archsimd.LoadFloat32x4((*[4]float32)(qa[0:4])).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(ea[0:4])).ConvertToFloat64().Add(mv), s0)
		s1 = archsimd.LoadFloat32x4((*[4]float32)(qa[4:8])).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(ea[4:8])).ConvertToFloat64().Add(mv), s1)
	}
	var lanes [4]float64
	s0.Add(s1).Store(&lanes)
	sum := (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
	for j := i; j < n; j++ {
		sum += float64(q[j]) * (float64(e[j]) + m)
	}
	inv := 1 / sum
	iv := archsimd.BroadcastFloat64x4(inv)
	for j := 0; j+8 <= n; j += 8 {
		qa := (*[8]float32)(q[j : j+8])
		ea := (*[8]float32)(e[j : j+8])
		da := (*[8]float32)(dst[j : j+8])
		archsimd.LoadFloat32x4((*[4]float32)(qa[0:4])).ConvertToFloat64().Mul(archsimd.LoadFloat32x4((*[4]float32)(ea[0:4])).ConvertToFloat64().Add(mv)).Mul(iv).ConvertToFloat32().Store((*[4]float32)(da[0:4]))
		archsimd.LoadFloat32x4((*[4]float32)(qa[4:8])).ConvertToFloat64().Mul(archsimd.LoadFloat32x4((*[4]float32)(ea[4:8])).ConvertToFloat64().Add(mv)).Mul(iv).ConvertToFloat32().Store((*[4]float32)(da[4:8]))
	}
	for j := i; j < n; j++ {
		dst[j] = float32(float64(q[j]) * (float64(e[j]) + m) * inv)
	}
}

// scanRowAVX2 is scanRowGo on 8 lanes: compare masks become all-ones int32
// lanes (vector ops only; mask-register forms would need AVX-512), the bad
// flags are OR-ed and the positive lanes subtracted from a lane counter.
func scanRowAVX2(e []float32) (nnz int, ok bool) {
	zero := archsimd.BroadcastFloat32x8(0)
	top := archsimd.BroadcastFloat32x8(math.MaxFloat32)
	var cnt, bad archsimd.Int32x8
	i := 0
	for ; i+8 <= len(e); i += 8 {
		x := archsimd.LoadFloat32x8((*[8]float32)(e[i : i+8]))
		bad = bad.Or(x.Less(zero).ToInt32x8()).Or(x.Greater(top).ToInt32x8()).Or(x.NotEqual(x).ToInt32x8())
		cnt = cnt.Sub(x.Greater(zero).ToInt32x8())
	}
	var c, b [8]int32
	cnt.Store(&c)
	bad.Store(&b)
	archsimd.ClearAVXUpperBits()
	ok = true
	for k := range c {
		nnz += int(c[k])
		if b[k] != 0 {
			ok = false
		}
	}
	n, tailOK := scanRowGo(e[i:])
	return nnz + n, ok && tailOK
}

// supportAVX2 is supportGo eight entries at a time: a chunk without
// nonzeros costs one compare.
func supportAVX2(dst []int32, e []float32, mask, want int) int {
	zero := archsimd.BroadcastFloat32x8(0)
	n := 0
	i := 0
	for ; i+8 <= len(e) && n < want; i += 8 {
		bits := archsimd.LoadFloat32x8((*[8]float32)(e[i : i+8])).NotEqual(zero).ToBits()
		for bits != 0 {
			v := i + bits8(bits)
			bits &= bits - 1
			if v != mask && n < want {
				dst[n] = int32(v)
				n++
			}
		}
	}
	archsimd.ClearAVXUpperBits()
	if n < want {
		n += supportGo(dst[n:], e[i:], mask-i, want-n, i)
	}
	return n
}

// bits8 is the index of the lowest set bit of a nonzero b.
func bits8(b uint8) int { return bits.TrailingZeros8(b) }
