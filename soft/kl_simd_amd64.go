//go:build goexperiment.simd && amd64

package soft

import (
	"math"
	"simd/archsimd"
)

// haveKLVec: klVec runs on this CPU (AVX2 and FMA).
var haveKLVec = archsimd.X86.AVX2() && archsimd.X86.FMA()

// Coefficients of the logarithm of Go's math.Log (FreeBSD's e_log.c):
// log m = 2s + s·R(s²) for s = (m − 1)/(m + 1), |s| ≤ 0.1716 (m ∈
// [√½, √2]), with R(z) = L1·z + … + L7·z⁷ a Remez fit whose error is below
// 2^−58.45; ln 2 split into klLn2Hi + klLn2Lo.
const (
	klL1    = 6.666666666666735130e-01
	klL2    = 3.999999999940941908e-01
	klL3    = 2.857142874366239149e-01
	klL4    = 2.222219843214978396e-01
	klL5    = 1.818357216161805012e-01
	klL6    = 1.531383769920937332e-01
	klL7    = 1.479819860511658591e-01
	klLn2Hi = 6.93147180369123816490e-01
	klLn2Lo = 1.90821492927058770002e-10
)

// klVec is KL on 8 float32 lanes with a float64 logarithm of the ratio on
// 2×4 float64 lanes. For positive normal p and q (exponents e_p, e_q,
// mantissas m_p, m_q ∈ [1, 2), taken from the float32 bits), p/q =
// (m_p/m_q)·2^(e_p−e_q); when m_p > √2·m_q the denominator mantissa is
// doubled (k = e_p − e_q + 1), when m_q > √2·m_p the numerator's (k − 1),
// so m = m_p'/m_q' lies in [√½, √2] (up to the float32 rounding of the
// comparison, which only moves |s| past 0.1716 by an ulp). Then s = (m_p' −
// m_q')/(m_p' + m_q') needs one division: the difference and the sum are
// exact in float64 (24-bit mantissas). log(p/q) = k·ln 2 + 2s + s·R(s²):
// within a few float64 ulps of log(p/q), since |2s + s·R| ≤ 0.35 <
// ln 2/2 leaves no cancellation with k·ln 2. The terms p·log(p/q) go into
// two float64x4 accumulators by fused multiply-adds, folded at the end.
//
// A block of 8 with a lane outside that case (p > 0 with p or q zero,
// subnormal, infinite or NaN; p NaN) runs KL's scalar loop instead, so +Inf
// for q = 0 < p and every other special case is KL's. The result differs
// from KL's only by the rounding of the logarithm and of the summation
// order: |klVec − KL| ≤ 1e-14·Σ_v p_v·|log(p_v/q_v)| + 1e-15·Σ_v p_v
// (TestKLVectorMatches; the second part is the float64 rounding of the
// ratio, in KL's loop or of s here, 1.1e-16 absolute in each logarithm).
func klVec(p, q []float32) float64 {
	n := len(p) &^ 7
	q = q[:len(p)]
	bc := archsimd.BroadcastFloat32x8
	bi := archsimd.BroadcastInt32x8
	bd := archsimd.BroadcastFloat64x4
	zero32, tiny, big, sqrt2 := bc(0), bc(0x1p-126), bc(math.MaxFloat32), bc(math.Sqrt2)
	mant, one := bi(0x7fffff), bi(0x3f800000)
	l1, l2, l3, l4, l5, l6, l7 := bd(klL1), bd(klL2), bd(klL3), bd(klL4), bd(klL5), bd(klL6), bd(klL7)
	ln2hi, ln2lo := bd(klLn2Hi), bd(klLn2Lo)
	var acc0, acc1 archsimd.Float64x4
	var slow float64
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat32x8Slice(p[i : i+8])
		y := archsimd.LoadFloat32x8Slice(q[i : i+8])
		// a lane is fine when p ≤ 0 (no term) or both are positive normal
		fine := x.LessEqual(zero32).Or(x.GreaterEqual(tiny).And(x.LessEqual(big)).And(y.GreaterEqual(tiny)).And(y.LessEqual(big)))
		if fine.ToBits() != 0xff {
			for j := i; j < i+8; j++ {
				if a := p[j]; a > 0 {
					if q[j] <= 0 {
						archsimd.ClearAVXUpperBits()
						return math.Inf(1)
					}
					slow += float64(a) * math.Log(float64(a)/float64(q[j]))
				}
			}
			continue
		}
		xz := x.Masked(x.Greater(zero32)) // p ≤ 0 contributes 0·(finite log)
		bp, bq := x.AsInt32x8(), y.AsInt32x8()
		mp := bp.And(mant).Or(one).AsFloat32x8()
		mq := bq.And(mant).Or(one).AsFloat32x8()
		hi := mp.Greater(mq.Mul(sqrt2))
		lo := mq.Greater(mp.Mul(sqrt2))
		mq = mq.Add(mq.Masked(hi))
		mp = mp.Add(mp.Masked(lo))
		k := bp.ShiftAllRight(23).Sub(bq.ShiftAllRight(23)).Sub(hi.ToInt32x8()).Add(lo.ToInt32x8())
		acc0 = klHalf(mp.GetLo(), mq.GetLo(), k.GetLo(), xz.GetLo(), acc0, l1, l2, l3, l4, l5, l6, l7, ln2hi, ln2lo)
		acc1 = klHalf(mp.GetHi(), mq.GetHi(), k.GetHi(), xz.GetHi(), acc1, l1, l2, l3, l4, l5, l6, l7, ln2hi, ln2lo)
	}
	var t [4]float64
	acc0.Add(acc1).Store(&t)
	archsimd.ClearAVXUpperBits()
	s := ((t[0] + t[1]) + (t[2] + t[3])) + slow
	for j := n; j < len(p); j++ {
		if a := p[j]; a > 0 {
			if q[j] <= 0 {
				return math.Inf(1)
			}
			s += float64(a) * math.Log(float64(a)/float64(q[j]))
		}
	}
	if s < 0 {
		return 0
	}
	return s
}

// klHalf adds p·log(p/q) for 4 lanes to acc (see klVec).
func klHalf(mp, mq archsimd.Float32x4, k archsimd.Int32x4, x archsimd.Float32x4, acc archsimd.Float64x4,
	l1, l2, l3, l4, l5, l6, l7, ln2hi, ln2lo archsimd.Float64x4) archsimd.Float64x4 {
	a, b := mp.ConvertToFloat64(), mq.ConvertToFloat64()
	s := a.Sub(b).Div(a.Add(b))
	z := s.Mul(s)
	r := l7.MulAdd(z, l6).MulAdd(z, l5).MulAdd(z, l4).MulAdd(z, l3).MulAdd(z, l2).MulAdd(z, l1).Mul(z)
	lm := s.MulAdd(r, s.Add(s))
	kf := k.ConvertToFloat64()
	l := kf.MulAdd(ln2hi, kf.MulAdd(ln2lo, lm))
	return x.ConvertToFloat64().MulAdd(l, acc)
}

// klBoundVec is KLBound on 8 float32 lanes: the terms (p − q)²/q in
// float32 (relative error below 3e-7 each: the rounding of p − q, of its
// square and of the division), summed in float32 over 16 terms per lane
// and folded into float64 (χ within 1e-5 relative, as they are
// non-negative); D from float64 differences of the exact float64
// conversions in float64 lanes; M, a magnitude for the margins only, from
// float32 partial sums (within 1e-5, covered by the margins' factor).
// Blocks with an active lane (p > 0) whose p or q lies outside [2⁻⁶⁰,
// 2⁶⁰] (zero, subnormal, tiny, huge, infinite or NaN) run KLBound's
// float64 loop. In the others (p − q)² ≤ 2¹²⁰ does not overflow; where it
// underflows (|p − q| < 2⁻⁷⁵) the lost term is below 2⁻¹⁴⁹/2⁻⁶⁰ = 2⁻⁸⁹,
// far inside the margin e·(M + 1) ≥ n·2⁻⁵⁰.
func klBoundVec(p, q []float32) float64 {
	n := len(p) &^ 7
	q = q[:len(p)]
	bc := archsimd.BroadcastFloat32x8
	zero32, lo, hi := bc(0), bc(0x1p-60), bc(0x1p60)
	var z8 archsimd.Float32x8
	var c0, d0, d1, m0 archsimd.Float64x4
	var chiS, dS, mS float64
	i := 0
	for i < n {
		acc, macc := z8, z8
		end := min(n, i+8*16)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(p[i : i+8])
			y := archsimd.LoadFloat32x8Slice(q[i : i+8])
			fine := x.LessEqual(zero32).Or(x.GreaterEqual(lo).And(x.LessEqual(hi)).And(y.GreaterEqual(lo)).And(y.LessEqual(hi)))
			if fine.ToBits() != 0xff {
				for j := i; j < i+8; j++ {
					if a := p[j]; a > 0 {
						a, b := float64(a), float64(q[j])
						if !(b > 0) {
							archsimd.ClearAVXUpperBits()
							if b <= 0 {
								return math.Inf(1)
							}
							return math.NaN()
						}
						e := a - b
						chiS += e * e / b
						dS += e
						mS += a + b
					}
				}
				continue
			}
			act := x.Greater(zero32)
			xa, ya := x.Masked(act), y.Masked(act)
			e := xa.Sub(ya)
			acc = acc.Add(e.Mul(e).Div(y).Masked(act))
			macc = macc.Add(xa.Add(ya))
			d0 = d0.Add(xa.GetLo().ConvertToFloat64().Sub(ya.GetLo().ConvertToFloat64()))
			d1 = d1.Add(xa.GetHi().ConvertToFloat64().Sub(ya.GetHi().ConvertToFloat64()))
		}
		c0 = c0.Add(acc.GetLo().ConvertToFloat64()).Add(acc.GetHi().ConvertToFloat64())
		m0 = m0.Add(macc.GetLo().ConvertToFloat64()).Add(macc.GetHi().ConvertToFloat64())
	}
	var tc, td, tm [4]float64
	c0.Store(&tc)
	d0.Add(d1).Store(&td)
	m0.Store(&tm)
	archsimd.ClearAVXUpperBits()
	chi := (tc[0] + tc[1]) + (tc[2] + tc[3]) + chiS
	d := (td[0] + td[1]) + (td[2] + td[3]) + dS
	m := ((tm[0]+tm[1])+(tm[2]+tm[3]))*(1+1e-5) + mS
	chi, d, m, bad := klBoundSums(p[n:], q[n:len(p)], chi, d, m)
	if bad != 0 {
		return bad
	}
	eps := float64(len(p)+4) * 0x1p-50
	return klBoundFinish(chi, d, m, 1e-5, eps)
}
