//go:build goexperiment.simd && amd64

package draw

import (
	"math"
	"simd/archsimd"
)

// The logarithm of entropyTab: x = m·2^e with m ∈ [1, 2) taken from the
// bits, j the top 3 bits of m's fraction (m ∈ [1 + j/8, 1 + (j+1)/8)), and
//
//	log x = e·ln 2 + log(1/r_j) + log(1 + t),  t = m·r_j − 1,
//
// r_j = float32(1/c_j) the reciprocal of the interval's centre c_j = 1 +
// (j + ½)/8 and entLog[j] = −log r_j of that float32 value (so the
// rounding of r_j cancels), |t| ≤ (1/16)/c_j ≤ 0.0589. log(1 + t) ≈ t +
// t²·(a2 + a3·t + a4·t²), a minimax fit on [−0.0589, 0.0589] (Lawson's
// algorithm in float64): absolute error 1.9e-8, 2.1e-8 evaluated in
// float32. The two 8-entry tables are looked up with one VPERMPS each
// (8 lanes, the index taken from the low 3 bits of x's bits >> 20, no mask
// needed).
const (
	entA2 = -0.4999989490782294
	entA3 = 0.3339378393297955
	entA4 = -0.2508826785204869
)

var entInv, entLog [8]float32

func init() {
	for j := range entInv {
		r := float32(1 / (1 + (float64(j)+0.5)/8))
		entInv[j], entLog[j] = r, float32(-math.Log(float64(r)))
	}
}

// entropyTab is Entropy on 8 lanes with the table-and-polynomial
// logarithm above: per vector of 8 entries two permutes, four integer
// operations and nine floating-point ones, one vector per iteration with 8
// constants in registers (the previous kernel, entropyVec, spent sixteen
// floating-point operations and, holding 14 constants in 16 registers,
// spilled its accumulator to the stack every iteration: about 2x slower,
// BenchmarkEntropyKernels). p·log p is accumulated in float32, 8 terms per
// lane before each fold into float64 lanes; the last < 8 entries go
// through log32. x = 0 and subnormal x give a finite logarithm near −88
// that the factor x sends to 0, as in log32.
//
// Error against the exact −Σ p log p: the logarithm's 2.1e-8 absolute, the
// float32 roundings of log x (6e-8 relative), of p·log p and of the partial
// sums (8 terms), together below 1e-6·max(1, H) nats, tested against a
// float64 math.Log reference in TestEntropyVectorMatchesGo and
// TestEntropyTabAccuracy. The result is not the default build's
// (table log32) value bit for bit: orderings by entropy in the simd build
// (Dream's DreamEntropy, EB, LRD) can differ from the default build's only
// between positions whose entropies agree to that tolerance.
func entropyTab(p []float32) float64 {
	inv := archsimd.LoadFloat32x8(&entInv)
	lgc := archsimd.LoadFloat32x8(&entLog)
	bc := archsimd.BroadcastFloat32x8
	a2, a3, a4, ln2, m1 := bc(entA2), bc(entA3), bc(entA4), bc(math.Ln2), bc(-1)
	oneb := archsimd.BroadcastInt32x8(0x3f800000)
	var tot [4]float64
	n := len(p) &^ 7
	i := 0
	for i < n {
		var acc archsimd.Float32x8
		end := min(n, i+8*entropyChunk/2)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(p[i : i+8 : i+8])
			b := x.AsInt32x8()
			e := b.Sub(oneb).ShiftAllRight(23)
			m := b.Sub(e.ShiftAllLeft(23)).AsFloat32x8()
			j := b.AsUint32x8().ShiftAllRight(20)
			t := m.MulAdd(inv.Permute(j), m1)
			y := a4.MulAdd(t, a3).MulAdd(t, a2).MulAdd(t.Mul(t), t.Add(lgc.Permute(j)))
			acc = x.MulAdd(e.ConvertToFloat32().MulAdd(ln2, y), acc)
		}
		archsimd.LoadFloat64x4(&tot).Add(acc.GetLo().ConvertToFloat64()).Add(acc.GetHi().ConvertToFloat64()).Store(&tot)
	}
	archsimd.ClearAVXUpperBits()
	h := (tot[0] + tot[1]) + (tot[2] + tot[3])
	for _, x := range p[n:] {
		h += plogp(x)
	}
	return -h
}

// The AVX-512 kernel's logarithm: as entropyTab's with a 16-entry table
// (j the top 4 bits of the fraction, one VPERMPS on 16 lanes), so |t| ≤
// (1/32)/c_j ≤ 0.0304 and a cubic suffices: log(1 + t) ≈ t + t²·(b2 +
// b3·t), a minimax fit on [−0.0304, 0.0304] (Lawson's algorithm in
// float64), absolute error 3.8e-8 evaluated in float32.
const (
	entB2 = -0.5001909291290959
	entB3 = 0.33351829403940253
)

var entInv16, entLog16 [16]float32

func init() {
	for j := range entInv16 {
		r := float32(1 / (1 + (float64(j)+0.5)/16))
		entInv16[j], entLog16[j] = r, float32(-math.Log(float64(r)))
	}
}

// haveEntropy512: entropyTab512 runs on this CPU (AVX-512F).
var haveEntropy512 = haveFMA && archsimd.X86.AVX512()

// entropyTab512 is entropyTab on 16 lanes (AVX-512F): one 16-lane vector
// per iteration, 8 terms per lane in the float32 accumulator before each
// fold into float64 lanes, and the last < 16 entries in one masked load
// (missing entries read as 0, which add 0). Same error bound as entropyTab
// (the cubic's 3.8e-8 in place of the quartic's 2.1e-8).
func entropyTab512(p []float32) float64 {
	inv := archsimd.LoadFloat32x16(&entInv16)
	lgc := archsimd.LoadFloat32x16(&entLog16)
	bc := archsimd.BroadcastFloat32x16
	b2, b3, ln2, m1 := bc(entB2), bc(entB3), bc(math.Ln2), bc(-1)
	oneb := archsimd.BroadcastInt32x16(0x3f800000)
	var tot [8]float64
	n := len(p) &^ 15
	i := 0
	for i < n {
		var acc archsimd.Float32x16
		end := min(n, i+128)
		for ; i < end; i += 16 {
			x := archsimd.LoadFloat32x16Slice(p[i : i+16 : i+16])
			b := x.AsInt32x16()
			e := b.Sub(oneb).ShiftAllRight(23)
			m := b.Sub(e.ShiftAllLeft(23)).AsFloat32x16()
			j := b.AsUint32x16().ShiftAllRight(19)
			t := m.MulAdd(inv.Permute(j), m1)
			y := b3.MulAdd(t, b2).MulAdd(t.Mul(t), t.Add(lgc.Permute(j)))
			acc = x.MulAdd(e.ConvertToFloat32().MulAdd(ln2, y), acc)
		}
		archsimd.LoadFloat64x8(&tot).Add(acc.GetLo().ConvertToFloat64()).Add(acc.GetHi().ConvertToFloat64()).Store(&tot)
	}
	if i < len(p) {
		x := archsimd.LoadFloat32x16SlicePart(p[i:])
		b := x.AsInt32x16()
		e := b.Sub(oneb).ShiftAllRight(23)
		m := b.Sub(e.ShiftAllLeft(23)).AsFloat32x16()
		j := b.AsUint32x16().ShiftAllRight(19)
		t := m.MulAdd(inv.Permute(j), m1)
		y := b3.MulAdd(t, b2).MulAdd(t.Mul(t), t.Add(lgc.Permute(j)))
		h := x.Mul(e.ConvertToFloat32().MulAdd(ln2, y))
		archsimd.LoadFloat64x8(&tot).Add(h.GetLo().ConvertToFloat64()).Add(h.GetHi().ConvertToFloat64()).Store(&tot)
	}
	archsimd.ClearAVXUpperBits()
	return -(((tot[0] + tot[1]) + (tot[2] + tot[3])) + ((tot[4] + tot[5]) + (tot[6] + tot[7])))
}
