//go:build goexperiment.simd && amd64

package nn

import "simd/archsimd"

// useGeluAVX2 selects the vector GELU on CPUs with AVX2 and FMA.
var useGeluAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

// geluVec applies gelu to x in place: erf32's rational function on eight
// lanes (fused multiply-adds in Horner's rule), the tail of fewer than
// eight values by the Go code.
func geluVec(x []float32) {
	if !useGeluAVX2 {
		geluGo(x)
		return
	}
	var zero archsimd.Float32x8
	one := archsimd.BroadcastFloat32x8(1)
	half := archsimd.BroadcastFloat32x8(0.5)
	four := archsimd.BroadcastFloat32x8(4)
	rs2 := archsimd.BroadcastFloat32x8(0.70710678118654752)
	b := func(c float32) archsimd.Float32x8 { return archsimd.BroadcastFloat32x8(c) }
	p6, p5, p4, p3, p2, p1, p0 := b(erfP6), b(erfP5), b(erfP4), b(erfP3), b(erfP2), b(erfP1), b(erfP0)
	q5, q4, q3, q2, q1 := b(erfQ5), b(erfQ4), b(erfQ3), b(erfQ2), b(erfQ1)
	n := len(x) &^ 7
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadFloat32x8Slice(x[i : i+8])
		u := v.Mul(rs2)
		a := u.Max(zero.Sub(u))
		big := a.GreaterEqual(four)
		s := a.Mul(a)
		p := p6.MulAdd(s, p5).MulAdd(s, p4).MulAdd(s, p3).MulAdd(s, p2).MulAdd(s, p1).MulAdd(s, p0)
		q := q5.MulAdd(s, q4).MulAdd(s, q3).MulAdd(s, q2).MulAdd(s, q1).MulAdd(s, one)
		r := one.Merge(a.Mul(p).Div(q).Min(one), big)
		r = r.Merge(zero.Sub(r), u.GreaterEqual(zero))
		half.Mul(v).Mul(one.Add(r)).StoreSlice(x[i : i+8])
	}
	archsimd.ClearAVXUpperBits()
	geluGo(x[n:])
}
