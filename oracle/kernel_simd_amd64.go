//go:build goexperiment.simd && amd64

package oracle

import "simd/archsimd"

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		gemvT, dot32, axpy64, dot64, gemv64 = gemvTAVX2, dot32AVX2, axpy64AVX2, dot64AVX2, gemv64AVX2
		kernel = "avx2"
	}
}

// gemvTAVX2 keeps 32 lanes of q in four registers while it runs down the S
// rows of e, so each q chunk is loaded and stored once.
func gemvTAVX2(q, w, e []float32, S, K int) {
	q = q[:K]
	v := 0
	for ; v+32 <= K; v += 32 {
		var a0, a1, a2, a3 archsimd.Float32x8
		for s := 0; s < S; s++ {
			ws := archsimd.BroadcastFloat32x8(w[s])
			row := e[s*K+v : s*K+v+32]
			a0 = archsimd.LoadFloat32x8Slice(row[0:8]).MulAdd(ws, a0)
			a1 = archsimd.LoadFloat32x8Slice(row[8:16]).MulAdd(ws, a1)
			a2 = archsimd.LoadFloat32x8Slice(row[16:24]).MulAdd(ws, a2)
			a3 = archsimd.LoadFloat32x8Slice(row[24:32]).MulAdd(ws, a3)
		}
		a0.StoreSlice(q[v : v+8])
		a1.StoreSlice(q[v+8 : v+16])
		a2.StoreSlice(q[v+16 : v+24])
		a3.StoreSlice(q[v+24 : v+32])
	}
	for ; v+8 <= K; v += 8 {
		var a0 archsimd.Float32x8
		for s := 0; s < S; s++ {
			a0 = archsimd.LoadFloat32x8Slice(e[s*K+v:s*K+v+8]).MulAdd(archsimd.BroadcastFloat32x8(w[s]), a0)
		}
		a0.StoreSlice(q[v : v+8])
	}
	for ; v < K; v++ {
		acc := float32(0)
		for s := 0; s < S; s++ {
			acc += w[s] * e[s*K+v]
		}
		q[v] = acc
	}
}

// dot32AVX2 widens 4 float32 lanes at a time to float64 and accumulates in
// float64 (the products of two float32 values are exact in float64).
func dot32AVX2(a, b []float32) float64 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 archsimd.Float64x4
	i := 0
	for ; i+16 <= n; i += 16 {
		s0 = archsimd.LoadFloat32x4Slice(a[i:i+4]).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4Slice(b[i:i+4]).ConvertToFloat64(), s0)
		s1 = archsimd.LoadFloat32x4Slice(a[i+4:i+8]).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4Slice(b[i+4:i+8]).ConvertToFloat64(), s1)
		s2 = archsimd.LoadFloat32x4Slice(a[i+8:i+12]).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4Slice(b[i+8:i+12]).ConvertToFloat64(), s2)
		s3 = archsimd.LoadFloat32x4Slice(a[i+12:i+16]).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4Slice(b[i+12:i+16]).ConvertToFloat64(), s3)
	}
	for ; i+4 <= n; i += 4 {
		s0 = archsimd.LoadFloat32x4Slice(a[i:i+4]).ConvertToFloat64().MulAdd(archsimd.LoadFloat32x4Slice(b[i:i+4]).ConvertToFloat64(), s0)
	}
	var lanes [4]float64
	s0.Add(s1).Add(s2.Add(s3)).Store(&lanes)
	sum := (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
	for ; i < n; i++ {
		sum += float64(a[i]) * float64(b[i])
	}
	return sum
}

func axpy64AVX2(y []float64, a float64, x []float64) {
	n := len(y)
	x = x[:n]
	av := archsimd.BroadcastFloat64x4(a)
	i := 0
	for ; i+8 <= n; i += 8 {
		archsimd.LoadFloat64x4Slice(x[i:i+4]).MulAdd(av, archsimd.LoadFloat64x4Slice(y[i:i+4])).StoreSlice(y[i : i+4])
		archsimd.LoadFloat64x4Slice(x[i+4:i+8]).MulAdd(av, archsimd.LoadFloat64x4Slice(y[i+4:i+8])).StoreSlice(y[i+4 : i+8])
	}
	for ; i < n; i++ {
		y[i] += a * x[i]
	}
}

func dot64AVX2(a, b []float64) float64 {
	n := len(a)
	b = b[:n]
	var s0, s1 archsimd.Float64x4
	i := 0
	for ; i+8 <= n; i += 8 {
		s0 = archsimd.LoadFloat64x4Slice(a[i:i+4]).MulAdd(archsimd.LoadFloat64x4Slice(b[i:i+4]), s0)
		s1 = archsimd.LoadFloat64x4Slice(a[i+4:i+8]).MulAdd(archsimd.LoadFloat64x4Slice(b[i+4:i+8]), s1)
	}
	var lanes [4]float64
	s0.Add(s1).Store(&lanes)
	sum := (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
	for ; i < n; i++ {
		sum += a[i] * b[i]
	}
	return sum
}

// gemv64AVX2 computes two rows at a time with two accumulators each.
func gemv64AVX2(y, m, x []float64) {
	n := len(x)
	r := 0
	for ; r+2 <= len(y); r += 2 {
		m0 := m[r*n : (r+1)*n]
		m1 := m[(r+1)*n : (r+2)*n]
		var a0, a1, b0, b1 archsimd.Float64x4
		c := 0
		for ; c+8 <= n; c += 8 {
			x0 := archsimd.LoadFloat64x4Slice(x[c : c+4])
			x1 := archsimd.LoadFloat64x4Slice(x[c+4 : c+8])
			a0 = archsimd.LoadFloat64x4Slice(m0[c:c+4]).MulAdd(x0, a0)
			a1 = archsimd.LoadFloat64x4Slice(m0[c+4:c+8]).MulAdd(x1, a1)
			b0 = archsimd.LoadFloat64x4Slice(m1[c:c+4]).MulAdd(x0, b0)
			b1 = archsimd.LoadFloat64x4Slice(m1[c+4:c+8]).MulAdd(x1, b1)
		}
		var la, lb [4]float64
		a0.Add(a1).Store(&la)
		b0.Add(b1).Store(&lb)
		sa := (la[0] + la[1]) + (la[2] + la[3])
		sb := (lb[0] + lb[1]) + (lb[2] + lb[3])
		for ; c < n; c++ {
			sa += m0[c] * x[c]
			sb += m1[c] * x[c]
		}
		y[r], y[r+1] = sa, sb
	}
	for ; r < len(y); r++ {
		y[r] = dot64AVX2(m[r*n:(r+1)*n], x)
	}
}
