//go:build goexperiment.simd && amd64

package simdgemm

import "simd/archsimd"

// In the GOEXPERIMENT=simd build on amd64 the widest micro-kernel the CPU
// runs is installed: AVX-512 (F+CD+BW+DQ+VL, archsimd.X86.AVX512) first,
// then AVX2 with FMA.
func init() {
	switch {
	case archsimd.X86.AVX512():
		available = append(available, PathAVX2, PathAVX512)
	case archsimd.X86.AVX2() && archsimd.X86.FMA():
		available = append(available, PathAVX2)
	}
	path = available[len(available)-1]
}

// The broadcast of each A value is a 128-bit load of four consecutive
// floats of its row (hence the three floats of slack the kernels need after
// each row) and VBROADCASTSS from register; archsimd has no broadcast-from-memory form.
// MulAdd (VFMADD213PS) overwrites its receiver, so the receiver is the
// broadcast, a temporary. Unrolling the k loop lets the register allocator
// alternate registers between steps instead of moving every accumulator
// back at each iteration.

func kernVec(p Path, kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, load bool) {
	if p == PathAVX512 {
		kern512(kc, a, lda, b, c, ldc, alpha, beta, load)
	} else {
		kern256(kc, a, lda, b, c, ldc, alpha, beta, load)
	}
}

// kern512 is the AVX-512 micro-kernel: a 4×32 tile in eight 16-lane
// accumulators (Go's register allocator keeps vector values in X0–X14
// only, so the tile is sized to 8 accumulators + 2 B vectors + broadcasts),
// the k loop unrolled four times. See kernGo for the contract.
func kern512(kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, load bool) {
	a0 := a[0*lda : 0*lda+kc+3]
	a1 := a[1*lda : 1*lda+kc+3]
	a2 := a[2*lda : 2*lda+kc+3]
	a3 := a[3*lda : 3*lda+kc+3]
	b = b[:nr*kc]
	_ = c[3*ldc+nr-1]
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	for len(a0) >= 7 && len(a1) >= 7 && len(a2) >= 7 && len(a3) >= 7 && len(b) >= 128 {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(b[0:]))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(b[16:]))
		x0 := archsimd.LoadFloat32x4((*[4]float32)(a0[0:])).Broadcast1To16()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		x1 := archsimd.LoadFloat32x4((*[4]float32)(a1[0:])).Broadcast1To16()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		x2 := archsimd.LoadFloat32x4((*[4]float32)(a2[0:])).Broadcast1To16()
		c20 = x2.MulAdd(b0, c20)
		c21 = x2.MulAdd(b1, c21)
		x3 := archsimd.LoadFloat32x4((*[4]float32)(a3[0:])).Broadcast1To16()
		c30 = x3.MulAdd(b0, c30)
		c31 = x3.MulAdd(b1, c31)
		b0 = archsimd.LoadFloat32x16((*[16]float32)(b[32:]))
		b1 = archsimd.LoadFloat32x16((*[16]float32)(b[48:]))
		x0 = archsimd.LoadFloat32x4((*[4]float32)(a0[1:])).Broadcast1To16()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		x1 = archsimd.LoadFloat32x4((*[4]float32)(a1[1:])).Broadcast1To16()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		x2 = archsimd.LoadFloat32x4((*[4]float32)(a2[1:])).Broadcast1To16()
		c20 = x2.MulAdd(b0, c20)
		c21 = x2.MulAdd(b1, c21)
		x3 = archsimd.LoadFloat32x4((*[4]float32)(a3[1:])).Broadcast1To16()
		c30 = x3.MulAdd(b0, c30)
		c31 = x3.MulAdd(b1, c31)
		b0 = archsimd.LoadFloat32x16((*[16]float32)(b[64:]))
		b1 = archsimd.LoadFloat32x16((*[16]float32)(b[80:]))
		x0 = archsimd.LoadFloat32x4((*[4]float32)(a0[2:])).Broadcast1To16()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		x1 = archsimd.LoadFloat32x4((*[4]float32)(a1[2:])).Broadcast1To16()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		x2 = archsimd.LoadFloat32x4((*[4]float32)(a2[2:])).Broadcast1To16()
		c20 = x2.MulAdd(b0, c20)
		c21 = x2.MulAdd(b1, c21)
		x3 = archsimd.LoadFloat32x4((*[4]float32)(a3[2:])).Broadcast1To16()
		c30 = x3.MulAdd(b0, c30)
		c31 = x3.MulAdd(b1, c31)
		b0 = archsimd.LoadFloat32x16((*[16]float32)(b[96:]))
		b1 = archsimd.LoadFloat32x16((*[16]float32)(b[112:]))
		x0 = archsimd.LoadFloat32x4((*[4]float32)(a0[3:])).Broadcast1To16()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		x1 = archsimd.LoadFloat32x4((*[4]float32)(a1[3:])).Broadcast1To16()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		x2 = archsimd.LoadFloat32x4((*[4]float32)(a2[3:])).Broadcast1To16()
		c20 = x2.MulAdd(b0, c20)
		c21 = x2.MulAdd(b1, c21)
		x3 = archsimd.LoadFloat32x4((*[4]float32)(a3[3:])).Broadcast1To16()
		c30 = x3.MulAdd(b0, c30)
		c31 = x3.MulAdd(b1, c31)
		a0, a1, a2, a3, b = a0[4:], a1[4:], a2[4:], a3[4:], b[128:]
	}
	for len(a0) >= 4 && len(a1) >= 4 && len(a2) >= 4 && len(a3) >= 4 && len(b) >= 32 {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(b[0:]))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(b[16:]))
		x0 := archsimd.LoadFloat32x4((*[4]float32)(a0[0:])).Broadcast1To16()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		x1 := archsimd.LoadFloat32x4((*[4]float32)(a1[0:])).Broadcast1To16()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		x2 := archsimd.LoadFloat32x4((*[4]float32)(a2[0:])).Broadcast1To16()
		c20 = x2.MulAdd(b0, c20)
		c21 = x2.MulAdd(b1, c21)
		x3 := archsimd.LoadFloat32x4((*[4]float32)(a3[0:])).Broadcast1To16()
		c30 = x3.MulAdd(b0, c30)
		c31 = x3.MulAdd(b1, c31)
		a0, a1, a2, a3, b = a0[1:], a1[1:], a2[1:], a3[1:], b[32:]
	}
	va := archsimd.BroadcastFloat32x16(alpha)
	if load {
		vb := archsimd.BroadcastFloat32x16(beta)
		p00 := (*[16]float32)(c[0*ldc+0:])
		va.MulAdd(c00, archsimd.LoadFloat32x16(p00).Mul(vb)).Store(p00)
		p01 := (*[16]float32)(c[0*ldc+16:])
		va.MulAdd(c01, archsimd.LoadFloat32x16(p01).Mul(vb)).Store(p01)
		p10 := (*[16]float32)(c[1*ldc+0:])
		va.MulAdd(c10, archsimd.LoadFloat32x16(p10).Mul(vb)).Store(p10)
		p11 := (*[16]float32)(c[1*ldc+16:])
		va.MulAdd(c11, archsimd.LoadFloat32x16(p11).Mul(vb)).Store(p11)
		p20 := (*[16]float32)(c[2*ldc+0:])
		va.MulAdd(c20, archsimd.LoadFloat32x16(p20).Mul(vb)).Store(p20)
		p21 := (*[16]float32)(c[2*ldc+16:])
		va.MulAdd(c21, archsimd.LoadFloat32x16(p21).Mul(vb)).Store(p21)
		p30 := (*[16]float32)(c[3*ldc+0:])
		va.MulAdd(c30, archsimd.LoadFloat32x16(p30).Mul(vb)).Store(p30)
		p31 := (*[16]float32)(c[3*ldc+16:])
		va.MulAdd(c31, archsimd.LoadFloat32x16(p31).Mul(vb)).Store(p31)
	} else {
		c00.Mul(va).Store((*[16]float32)(c[0*ldc+0:]))
		c01.Mul(va).Store((*[16]float32)(c[0*ldc+16:]))
		c10.Mul(va).Store((*[16]float32)(c[1*ldc+0:]))
		c11.Mul(va).Store((*[16]float32)(c[1*ldc+16:]))
		c20.Mul(va).Store((*[16]float32)(c[2*ldc+0:]))
		c21.Mul(va).Store((*[16]float32)(c[2*ldc+16:]))
		c30.Mul(va).Store((*[16]float32)(c[3*ldc+0:]))
		c31.Mul(va).Store((*[16]float32)(c[3*ldc+16:]))
	}
	archsimd.ClearAVXUpperBits()
}

// kern256 is the AVX2+FMA micro-kernel: a 2×32 tile in eight 8-lane
// accumulators, the k loop unrolled four times. See kernGo for the
// contract.
func kern256(kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, load bool) {
	a0 := a[0*lda : 0*lda+kc+3]
	a1 := a[1*lda : 1*lda+kc+3]
	b = b[:nr*kc]
	_ = c[1*ldc+nr-1]
	var c00, c01, c02, c03, c10, c11, c12, c13 archsimd.Float32x8
	for len(a0) >= 7 && len(a1) >= 7 && len(b) >= 128 {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(b[0:]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(b[8:]))
		b2 := archsimd.LoadFloat32x8((*[8]float32)(b[16:]))
		b3 := archsimd.LoadFloat32x8((*[8]float32)(b[24:]))
		x0 := archsimd.LoadFloat32x4((*[4]float32)(a0[0:])).Broadcast1To8()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		c02 = x0.MulAdd(b2, c02)
		c03 = x0.MulAdd(b3, c03)
		x1 := archsimd.LoadFloat32x4((*[4]float32)(a1[0:])).Broadcast1To8()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		c12 = x1.MulAdd(b2, c12)
		c13 = x1.MulAdd(b3, c13)
		b0 = archsimd.LoadFloat32x8((*[8]float32)(b[32:]))
		b1 = archsimd.LoadFloat32x8((*[8]float32)(b[40:]))
		b2 = archsimd.LoadFloat32x8((*[8]float32)(b[48:]))
		b3 = archsimd.LoadFloat32x8((*[8]float32)(b[56:]))
		x0 = archsimd.LoadFloat32x4((*[4]float32)(a0[1:])).Broadcast1To8()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		c02 = x0.MulAdd(b2, c02)
		c03 = x0.MulAdd(b3, c03)
		x1 = archsimd.LoadFloat32x4((*[4]float32)(a1[1:])).Broadcast1To8()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		c12 = x1.MulAdd(b2, c12)
		c13 = x1.MulAdd(b3, c13)
		b0 = archsimd.LoadFloat32x8((*[8]float32)(b[64:]))
		b1 = archsimd.LoadFloat32x8((*[8]float32)(b[72:]))
		b2 = archsimd.LoadFloat32x8((*[8]float32)(b[80:]))
		b3 = archsimd.LoadFloat32x8((*[8]float32)(b[88:]))
		x0 = archsimd.LoadFloat32x4((*[4]float32)(a0[2:])).Broadcast1To8()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		c02 = x0.MulAdd(b2, c02)
		c03 = x0.MulAdd(b3, c03)
		x1 = archsimd.LoadFloat32x4((*[4]float32)(a1[2:])).Broadcast1To8()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		c12 = x1.MulAdd(b2, c12)
		c13 = x1.MulAdd(b3, c13)
		b0 = archsimd.LoadFloat32x8((*[8]float32)(b[96:]))
		b1 = archsimd.LoadFloat32x8((*[8]float32)(b[104:]))
		b2 = archsimd.LoadFloat32x8((*[8]float32)(b[112:]))
		b3 = archsimd.LoadFloat32x8((*[8]float32)(b[120:]))
		x0 = archsimd.LoadFloat32x4((*[4]float32)(a0[3:])).Broadcast1To8()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		c02 = x0.MulAdd(b2, c02)
		c03 = x0.MulAdd(b3, c03)
		x1 = archsimd.LoadFloat32x4((*[4]float32)(a1[3:])).Broadcast1To8()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		c12 = x1.MulAdd(b2, c12)
		c13 = x1.MulAdd(b3, c13)
		a0, a1, b = a0[4:], a1[4:], b[128:]
	}
	for len(a0) >= 4 && len(a1) >= 4 && len(b) >= 32 {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(b[0:]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(b[8:]))
		b2 := archsimd.LoadFloat32x8((*[8]float32)(b[16:]))
		b3 := archsimd.LoadFloat32x8((*[8]float32)(b[24:]))
		x0 := archsimd.LoadFloat32x4((*[4]float32)(a0[0:])).Broadcast1To8()
		c00 = x0.MulAdd(b0, c00)
		c01 = x0.MulAdd(b1, c01)
		c02 = x0.MulAdd(b2, c02)
		c03 = x0.MulAdd(b3, c03)
		x1 := archsimd.LoadFloat32x4((*[4]float32)(a1[0:])).Broadcast1To8()
		c10 = x1.MulAdd(b0, c10)
		c11 = x1.MulAdd(b1, c11)
		c12 = x1.MulAdd(b2, c12)
		c13 = x1.MulAdd(b3, c13)
		a0, a1, b = a0[1:], a1[1:], b[32:]
	}
	va := archsimd.BroadcastFloat32x8(alpha)
	if load {
		vb := archsimd.BroadcastFloat32x8(beta)
		p00 := (*[8]float32)(c[0*ldc+0:])
		va.MulAdd(c00, archsimd.LoadFloat32x8(p00).Mul(vb)).Store(p00)
		p01 := (*[8]float32)(c[0*ldc+8:])
		va.MulAdd(c01, archsimd.LoadFloat32x8(p01).Mul(vb)).Store(p01)
		p02 := (*[8]float32)(c[0*ldc+16:])
		va.MulAdd(c02, archsimd.LoadFloat32x8(p02).Mul(vb)).Store(p02)
		p03 := (*[8]float32)(c[0*ldc+24:])
		va.MulAdd(c03, archsimd.LoadFloat32x8(p03).Mul(vb)).Store(p03)
		p10 := (*[8]float32)(c[1*ldc+0:])
		va.MulAdd(c10, archsimd.LoadFloat32x8(p10).Mul(vb)).Store(p10)
		p11 := (*[8]float32)(c[1*ldc+8:])
		va.MulAdd(c11, archsimd.LoadFloat32x8(p11).Mul(vb)).Store(p11)
		p12 := (*[8]float32)(c[1*ldc+16:])
		va.MulAdd(c12, archsimd.LoadFloat32x8(p12).Mul(vb)).Store(p12)
		p13 := (*[8]float32)(c[1*ldc+24:])
		va.MulAdd(c13, archsimd.LoadFloat32x8(p13).Mul(vb)).Store(p13)
	} else {
		c00.Mul(va).Store((*[8]float32)(c[0*ldc+0:]))
		c01.Mul(va).Store((*[8]float32)(c[0*ldc+8:]))
		c02.Mul(va).Store((*[8]float32)(c[0*ldc+16:]))
		c03.Mul(va).Store((*[8]float32)(c[0*ldc+24:]))
		c10.Mul(va).Store((*[8]float32)(c[1*ldc+0:]))
		c11.Mul(va).Store((*[8]float32)(c[1*ldc+8:]))
		c12.Mul(va).Store((*[8]float32)(c[1*ldc+16:]))
		c13.Mul(va).Store((*[8]float32)(c[1*ldc+24:]))
	}
	archsimd.ClearAVXUpperBits()
}
