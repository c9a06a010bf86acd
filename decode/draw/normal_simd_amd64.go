//go:build goexperiment.simd && amd64

package draw

import "simd/archsimd"

// haveVec: the vector kernels run on this CPU (direct calls, so that the
// callers' stack buffers do not escape).
var haveVec = archsimd.X86.AVX2()

// normalsVec is boxMuller on 8 lanes: the same float32 operations in the
// same order (separate multiplies and adds, no FMA; VDIVPS and VSQRTPS are
// correctly rounded like Go's float32 division and square root).
func normalsVec(c1, c2 []float32, lo, hi []uint32) {
	bc := archsimd.BroadcastFloat32x8
	bi := archsimd.BroadcastInt32x8
	one, two, m2 := bc(1), bc(2), bc(-2)
	l3, l5, l7, l9 := bc(bmL3), bc(bmL5), bc(bmL7), bc(bmL9)
	s3, s5, s7, s9 := bc(bmS3), bc(bmS5), bc(bmS7), bc(bmS9)
	k2, k4, k6, k8 := bc(bmC2), bc(bmC4), bc(bmC6), bc(bmC8)
	ln2, step, half, isq := bc(bmLn2), bc(bmTwoPi23), bc(bmHalf), bc(bmInvSqrt2)
	sqh, i1, i24 := bi(bmSqrtHalf), bi(1), bi(24)
	amask, sign := bi(1<<22-1), bi(-1<<31)
	for j := 0; j+8 <= len(lo); j += 8 {
		h := archsimd.LoadUint32x8Slice(hi[j : j+8]).AsInt32x8()
		k := archsimd.LoadUint32x8Slice(lo[j : j+8]).ShiftAllRight(8).AsInt32x8().Add(i1).ConvertToFloat32()
		b := k.AsInt32x8()
		e := b.Sub(sqh).ShiftAllRight(23)
		m := b.Sub(e.ShiftAllLeft(23)).AsFloat32x8()
		f := m.Sub(one)
		s := f.Div(f.Add(two))
		s2 := s.Mul(s)
		p := l9.Mul(s2).Add(l7)
		p = p.Mul(s2).Add(l5)
		p = p.Mul(s2).Add(l3)
		p = p.Mul(s2).Add(one)
		lnm := s.Add(s).Mul(p)
		ln := e.Sub(i24).ConvertToFloat32().Mul(ln2).Add(lnm)
		r := m2.Mul(ln).Sqrt().Mul(isq)
		x := h.And(amask).ConvertToFloat32().Sub(half).Mul(step)
		x2 := x.Mul(x)
		q := s9.Mul(x2).Add(s7)
		q = q.Mul(x2).Add(s5)
		q = q.Mul(x2).Add(s3)
		sx := x.Mul(x2).Mul(q).Add(x)
		t := k8.Mul(x2).Add(k6)
		t = t.Mul(x2).Add(k4)
		t = t.Mul(x2).Add(k2)
		cx := t.Mul(x2).Add(one)
		z1 := r.Mul(cx.Sub(sx)).AsInt32x8().Xor(h.And(sign)).AsFloat32x8()
		z2 := r.Mul(cx.Add(sx)).AsInt32x8().Xor(h.ShiftAllLeft(1).And(sign)).AsFloat32x8()
		z1.StoreSlice(c1[j : j+8])
		z2.StoreSlice(c2[j : j+8])
	}
	archsimd.ClearAVXUpperBits()
}

func addScaled2Vec(dst, a, b []float32, u, w float32) {
	vu, vw := archsimd.BroadcastFloat32x8(u), archsimd.BroadcastFloat32x8(w)
	for j := 0; j+8 <= len(dst); j += 8 {
		x := archsimd.LoadFloat32x8Slice(a[j : j+8]).Mul(vu)
		y := archsimd.LoadFloat32x8Slice(b[j : j+8]).Mul(vw)
		archsimd.LoadFloat32x8Slice(dst[j : j+8]).Add(x.Add(y)).StoreSlice(dst[j : j+8])
	}
	archsimd.ClearAVXUpperBits()
}
