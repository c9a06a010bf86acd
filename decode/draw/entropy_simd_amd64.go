//go:build goexperiment.simd && amd64

package draw

import (
	"math"
	"simd/archsimd"
)

// Coefficients of Cephes' logf (Moshier, Cephes Math Library, logf.c): for
// m ∈ [√½, √2) and f = m − 1, log m ≈ f − f²/2 + f³·P(f) with P of degree 8,
// relative error about 1e-7 in float32; the exponent's e·ln 2 is added in
// two parts (logQ2 + logQ1 = ln 2, logQ2 exact in 9 bits).
const (
	logP0 = 7.0376836292e-2
	logP1 = -1.1514610310e-1
	logP2 = 1.1676998740e-1
	logP3 = -1.2420140846e-1
	logP4 = 1.4249322787e-1
	logP5 = -1.6668057665e-1
	logP6 = 2.0000714765e-1
	logP7 = -2.4999993993e-1
	logP8 = 3.3333331174e-1
	logQ1 = -2.12194440e-4
	logQ2 = 0.693359375
)

// haveFMA: entropyVec runs on this CPU (it needs FMA besides AVX2).
var haveFMA = haveVec && archsimd.X86.FMA()

// entropyChunk is the number of 8-lane vectors summed in float32 before the
// partial sums are folded into float64 (16 terms per lane).
const entropyChunk = 16

// entropyVec is Entropy on 8 lanes with a polynomial logarithm in place of
// the table (AVX2 has no cheap gather): x = m·2^e with m ∈ [√½, √2) taken
// from the bits, log x = e·ln 2 + log m (Cephes' logf polynomial), p·log p
// in float32, float32 partial sums over 16 terms per lane folded into
// float64 lanes. x = 0 and subnormal x give a finite log near −88 that the
// factor x sends to 0, as in log32. The result differs from the table
// version by the two logarithms' errors (each about 1e-7 relative per
// term) and the float32 partial sums: below 1e-6·max(1, H) nats, tested
// against a float64 reference in TestEntropyVectorMatchesGo.
func entropyVec(p []float32) float64 {
	bc := archsimd.BroadcastFloat32x8
	p0, p1, p2, p3, p4 := bc(logP0), bc(logP1), bc(logP2), bc(logP3), bc(logP4)
	p5, p6, p7, p8 := bc(logP5), bc(logP6), bc(logP7), bc(logP8)
	q1, q2, one, mhalf := bc(logQ1), bc(logQ2), bc(1), bc(-0.5)
	sqh := archsimd.BroadcastInt32x8(int32(math.Float32bits(math.Sqrt2 / 2)))
	var zero archsimd.Float32x8
	var tot archsimd.Float64x4
	n := len(p) &^ 7
	i := 0
	for i < n {
		acc := zero
		end := min(n, i+8*entropyChunk)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(p[i : i+8])
			b := x.AsInt32x8()
			e := b.Sub(sqh).ShiftAllRight(23)
			f := b.Sub(e.ShiftAllLeft(23)).AsFloat32x8().Sub(one)
			ef := e.ConvertToFloat32()
			z := f.Mul(f)
			y := p0.MulAdd(f, p1).MulAdd(f, p2).MulAdd(f, p3).MulAdd(f, p4).MulAdd(f, p5).MulAdd(f, p6).MulAdd(f, p7).MulAdd(f, p8)
			y = y.Mul(f).Mul(z)
			y = ef.MulAdd(q1, y)
			y = z.MulAdd(mhalf, y)
			l := ef.MulAdd(q2, f.Add(y))
			acc = x.MulAdd(l, acc)
		}
		tot = tot.Add(acc.GetLo().ConvertToFloat64()).Add(acc.GetHi().ConvertToFloat64())
	}
	var t [4]float64
	tot.Store(&t)
	archsimd.ClearAVXUpperBits()
	h := (t[0] + t[1]) + (t[2] + t[3])
	for _, x := range p[n:] {
		h += plogp(x)
	}
	return -h
}

// The float32 exponential of package soft (soft/kernel.go, exp32): n =
// round(z·log2 e) by the 1.5·2²³ trick, r = z − n·ln 2, a degree-7 Taylor
// polynomial of e^r, scaled by 2^n built in the exponent bits; z below −87
// gives 0.
const (
	expCutoff = -87.0
	expMagic  = 12582912.0 + 127
	expLog2e  = 1.4426950408889634
)

// vlog is log x on 8 lanes (Cephes' logf, as in entropyVec).
type vlog struct {
	p0, p1, p2, p3, p4, p5, p6, p7, p8, q1, q2, one, mhalf archsimd.Float32x8
	sqh                                                    archsimd.Int32x8
}

func newVlog() vlog {
	bc := archsimd.BroadcastFloat32x8
	return vlog{bc(logP0), bc(logP1), bc(logP2), bc(logP3), bc(logP4), bc(logP5), bc(logP6), bc(logP7), bc(logP8),
		bc(logQ1), bc(logQ2), bc(1), bc(-0.5), archsimd.BroadcastInt32x8(int32(math.Float32bits(math.Sqrt2 / 2)))}
}

func (c *vlog) log(x archsimd.Float32x8) archsimd.Float32x8 {
	b := x.AsInt32x8()
	e := b.Sub(c.sqh).ShiftAllRight(23)
	f := b.Sub(e.ShiftAllLeft(23)).AsFloat32x8().Sub(c.one)
	ef := e.ConvertToFloat32()
	z := f.Mul(f)
	y := c.p0.MulAdd(f, c.p1).MulAdd(f, c.p2).MulAdd(f, c.p3).MulAdd(f, c.p4).MulAdd(f, c.p5).MulAdd(f, c.p6).MulAdd(f, c.p7).MulAdd(f, c.p8)
	y = y.Mul(f).Mul(z)
	y = ef.MulAdd(c.q1, y)
	y = z.MulAdd(c.mhalf, y)
	return ef.MulAdd(c.q2, f.Add(y))
}

// sharpenVec is Sharpen on 8 lanes, given mx, the largest entry of p; it
// returns the largest entry of dst. log x by the polynomial (vlog), z =
// (log x − log max)/T in float32, e^z by soft's float32 exponential, the
// normaliser in float32 partial sums over 16 terms per lane folded into
// float64, then dst scaled by float32(1/Σ). Entries below the smallest
// normal float32 and those with z < −87 become 0. Each entry differs from
// Sharpen's by the float32 rounding of z (relative error about
// |z|·1.2e-7 in e^z) and the two logarithms' errors: within 1e-5 relative
// for entries above 1e-30 (TestSharpenVectorMatches).
func sharpenVec(dst, p []float32, T float64, mx float32) float32 {
	n := len(p) &^ 7
	dst = dst[:len(p)]
	c := newVlog()
	bc := archsimd.BroadcastFloat32x8
	lo, magic, log2e, nLn2 := bc(expCutoff), bc(expMagic), bc(expLog2e), bc(-math.Ln2)
	e7, e6, e5, e4, e3, e2, one := bc(1.0/5040), bc(1.0/720), bc(1.0/120), bc(1.0/24), bc(1.0/6), bc(0.5), bc(1)
	tiny := bc(0x1p-126)
	inv := bc(float32(1 / T))
	lmax := c.log(bc(mx))
	var zero archsimd.Float32x8
	var tot archsimd.Float64x4
	i := 0
	var ztail float64
	if k := 1 / T; k == math.Trunc(k) && k >= 2 && k <= 16 && mx >= 0x1p-126 {
		// 1/T an integer k: e = (x·(1/mx))^k by repeated squaring
		i, ztail = sharpenPow(dst, p, int(k), mx, &tot)
	}
	for i < n {
		acc := zero
		end := min(n, i+8*entropyChunk)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(p[i : i+8])
			z := c.log(x).Sub(lmax).Mul(inv)
			zc := z.Max(lo)
			t := zc.MulAdd(log2e, magic)
			k := t.Sub(magic)
			r := k.MulAdd(nLn2, zc)
			q := e7.MulAdd(r, e6).MulAdd(r, e5).MulAdd(r, e4).MulAdd(r, e3).MulAdd(r, e2).MulAdd(r, one).MulAdd(r, one)
			two := t.AsInt32x8().ShiftAllLeft(23).AsFloat32x8()
			e := q.Mul(two).Masked(z.GreaterEqual(lo).And(x.GreaterEqual(tiny)))
			e.StoreSlice(dst[i : i+8])
			acc = acc.Add(e)
		}
		tot = tot.Add(acc.GetLo().ConvertToFloat64()).Add(acc.GetHi().ConvertToFloat64())
	}
	var t [4]float64
	tot.Store(&t)
	z := (t[0] + t[1]) + (t[2] + t[3]) + ztail
	lm := log32(mx)
	for ; i < len(p); i++ {
		x := p[i]
		if x < 0x1p-126 {
			dst[i] = 0
			continue
		}
		e := math.Exp((log32(x) - lm) / T)
		dst[i] = float32(e)
		z += e
	}
	s := bc(float32(1 / z))
	var vmx archsimd.Float32x8
	for j := 0; j < n; j += 8 {
		y := archsimd.LoadFloat32x8Slice(dst[j : j+8]).Mul(s)
		y.StoreSlice(dst[j : j+8])
		vmx = vmx.Max(y)
	}
	var a [8]float32
	vmx.Store(&a)
	archsimd.ClearAVXUpperBits()
	qmax := max(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
	for j := n; j < len(p); j++ {
		dst[j] *= float32(1 / z)
		qmax = max(qmax, dst[j])
	}
	return qmax
}

// sharpenPow is sharpenVec's first pass when 1/T is an integer k in
// [2, 16] (T = 0.5, 0.25, 0.2, 0.1, …): e = r^k with r = x·float32(1/mx),
// by repeated squaring in float32, in place of exp((log x − log mx)/T).
// r carries 2 float32 roundings and each of the at most 7 products one,
// so e is within (k + 8)·2⁻²⁴ ≤ 1.5e-6 relative of (x/mx)^k wherever
// the products stay normal; e below the smallest normal float32 (and x
// below it) gives 0, as sharpenVec's cutoff does for e < e⁻⁸⁷. The tail
// (len(p) mod 8 entries) takes the same float32 products one entry at a
// time (no fused operations: only products), so equal entries give equal
// results wherever they lie. It writes dst, adds the vector part's sum
// (float32 partial sums over 16 terms per lane) to tot and returns
// len(p) and the tail's float64 sum.
func sharpenPow(dst, p []float32, k int, mx float32, tot *archsimd.Float64x4) (int, float64) {
	n := len(p) &^ 7
	bc := archsimd.BroadcastFloat32x8
	ri := 1 / mx
	rinv, tiny, one := bc(ri), bc(0x1p-126), bc(1)
	var zero archsimd.Float32x8
	i := 0
	for i < n {
		acc := zero
		end := min(n, i+8*entropyChunk)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(p[i : i+8])
			b, e := x.Mul(rinv), one
			for j := k; ; {
				if j&1 != 0 {
					e = e.Mul(b)
				}
				if j >>= 1; j == 0 {
					break
				}
				b = b.Mul(b)
			}
			e = e.Masked(e.GreaterEqual(tiny).And(x.GreaterEqual(tiny)))
			e.StoreSlice(dst[i : i+8])
			acc = acc.Add(e)
		}
		*tot = tot.Add(acc.GetLo().ConvertToFloat64()).Add(acc.GetHi().ConvertToFloat64())
	}
	var z float64
	for ; i < len(p); i++ {
		x := p[i]
		b, e := x*ri, float32(1)
		for j := k; ; {
			if j&1 != 0 {
				e *= b
			}
			if j >>= 1; j == 0 {
				break
			}
			b *= b
		}
		if !(e >= 0x1p-126 && x >= 0x1p-126) {
			e = 0
		}
		dst[i] = e
		z += float64(e)
	}
	return i, z
}

// nucleusVec narrows Nucleus's selection: given the maximum M (one vector
// pass, maxVec, when the caller does not know it), a pass finds the total mass and the masses of the entries ≥ M·2^−6k,
// k = 1..4 (float32 partial sums over 16 terms per lane folded into
// float64, relative error below 1e-6). The largest such threshold t whose
// mass certainly exceeds topP bounds θ from below (θ < t would give
// mass(q > θ) ≥ mass(q ≥ t) > topP), so only the entries ≥ t, compacted
// into scratch, go to the quickselect, with the same budget. ok is false
// when the total is not clearly above topP or no threshold qualifies: the
// caller then runs the full selection. The partition sums run over fewer
// entries than the full selection's, so θ can differ from it only where a
// mass comparison is within float64 rounding.
func nucleusVec(q []float32, mx float32, topP float64, scratch []float32) (theta float32, budget float64, ok bool) {
	n := len(q) &^ 7
	if !(mx > 0) {
		return 0, 0, false
	}
	bc := archsimd.BroadcastFloat32x8
	t1, t2, t3, t4 := mx*0x1p-6, mx*0x1p-12, mx*0x1p-18, mx*0x1p-24
	v1, v2, v3, v4 := bc(t1), bc(t2), bc(t3), bc(t4)
	var zero archsimd.Float32x8
	var tot [5]archsimd.Float64x4
	i := 0
	for i < n {
		s0, s1, s2, s3, s4 := zero, zero, zero, zero, zero
		end := min(n, i+8*entropyChunk)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(q[i : i+8])
			s0 = s0.Add(x)
			s1 = s1.Add(x.Masked(x.GreaterEqual(v1)))
			s2 = s2.Add(x.Masked(x.GreaterEqual(v2)))
			s3 = s3.Add(x.Masked(x.GreaterEqual(v3)))
			s4 = s4.Add(x.Masked(x.GreaterEqual(v4)))
		}
		for k, s := range [5]archsimd.Float32x8{s0, s1, s2, s3, s4} {
			tot[k] = tot[k].Add(s.GetLo().ConvertToFloat64()).Add(s.GetHi().ConvertToFloat64())
		}
	}
	var m [5]float64
	for k := range tot {
		var t [4]float64
		tot[k].Store(&t)
		m[k] = (t[0] + t[1]) + (t[2] + t[3])
	}
	archsimd.ClearAVXUpperBits()
	ts := [5]float32{0, t1, t2, t3, t4}
	for _, x := range q[n:] {
		for k, t := range ts {
			if x >= t {
				m[k] += float64(x)
			}
		}
	}
	const slack = 1 - 2e-6 // covers the float32 partial sums' relative error
	if !(m[0]*slack > topP) {
		return 0, 0, false
	}
	k := 1
	for k < 5 && !(m[k]*slack > topP) {
		k++
	}
	if k == 5 {
		return 0, 0, false
	}
	// θ ∈ [ts[k], hi): split the band into 8 geometric sub-bands and find
	// the one holding θ in a second vector pass.
	hi := float32(math.Inf(1))
	if k > 1 {
		hi = ts[k-1]
	}
	lo := subBand(q, ts[k], topP)
	if lo > ts[k] {
		// the sub-band's upper edge: the next threshold, or hi
		up := min(lo*subRatio, hi)
		if th, b, ok := nucleusBand(q, lo, up, topP, scratch); ok {
			return th, b, true
		}
	}
	w := scratch[:len(q)]
	c := 0
	t := ts[k]
	for _, x := range q {
		w[c] = x
		if x >= t {
			c++
		}
	}
	theta, budget = nucleusSelect(w[:c], topP)
	return theta, budget, true
}

// subRatio is the ratio of consecutive sub-band edges: 2^(6/8).
const subRatio = 1.6817928305074290

// subBand returns the largest edge t·subRatio^j, j = 0..7, whose mass
// (entries ≥ it, float32 partial sums folded into float64) certainly
// exceeds topP (the mass of t itself is known to).
func subBand(q []float32, t float32, topP float64) float32 {
	n := len(q) &^ 7
	var e [8]float32
	e[0] = t
	for j := 1; j < 8; j++ {
		e[j] = e[j-1] * subRatio
	}
	bc := archsimd.BroadcastFloat32x8
	v1, v2, v3, v4, v5, v6, v7 := bc(e[1]), bc(e[2]), bc(e[3]), bc(e[4]), bc(e[5]), bc(e[6]), bc(e[7])
	var zero archsimd.Float32x8
	var tot [8]archsimd.Float64x4
	i := 0
	for i < n {
		s1, s2, s3, s4, s5, s6, s7 := zero, zero, zero, zero, zero, zero, zero
		end := min(n, i+8*entropyChunk)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(q[i : i+8])
			s1 = s1.Add(x.Masked(x.GreaterEqual(v1)))
			s2 = s2.Add(x.Masked(x.GreaterEqual(v2)))
			s3 = s3.Add(x.Masked(x.GreaterEqual(v3)))
			s4 = s4.Add(x.Masked(x.GreaterEqual(v4)))
			s5 = s5.Add(x.Masked(x.GreaterEqual(v5)))
			s6 = s6.Add(x.Masked(x.GreaterEqual(v6)))
			s7 = s7.Add(x.Masked(x.GreaterEqual(v7)))
		}
		for k, s := range [7]archsimd.Float32x8{s1, s2, s3, s4, s5, s6, s7} {
			tot[k+1] = tot[k+1].Add(s.GetLo().ConvertToFloat64()).Add(s.GetHi().ConvertToFloat64())
		}
	}
	var m [8]float64
	for k := 1; k < 8; k++ {
		var t [4]float64
		tot[k].Store(&t)
		m[k] = (t[0] + t[1]) + (t[2] + t[3])
	}
	archsimd.ClearAVXUpperBits()
	for _, x := range q[n:] {
		for k := 1; k < 8; k++ {
			if x >= e[k] {
				m[k] += float64(x)
			}
		}
	}
	const slack = 1 - 2e-6
	best := t
	for k := 1; k < 8; k++ {
		if m[k]*slack > topP {
			best = e[k]
		}
	}
	return best
}

// nucleusBand runs the selection on the entries in [lo, up) with the
// budget left after the entries ≥ up (summed exactly in float64 here); ok
// is false unless that mass is ≤ topP (so θ < up) and the mass ≥ lo exceeds
// topP (so θ ≥ lo).
func nucleusBand(q []float32, lo, up float32, topP float64, scratch []float32) (float32, float64, bool) {
	if haveCompress {
		return nucleusBandVec(q, lo, up, topP, scratch)
	}
	w := scratch[:len(q)]
	c := 0
	var above, band float64
	for _, x := range q {
		if x >= up {
			above += float64(x)
		} else if x >= lo {
			w[c] = x
			c++
			band += float64(x)
		}
	}
	if !(above <= topP) || !(above+band > topP) {
		return 0, 0, false
	}
	theta, budget := nucleusSelect(w[:c], topP-above)
	return theta, budget, true
}

// maxVec returns the largest entry of p (non-negative, finite entries), or
// 0 for an empty p.
func maxVec(p []float32) float32 {
	n := len(p) &^ 7
	vmx := archsimd.BroadcastFloat32x8(0)
	for i := 0; i < n; i += 8 {
		vmx = vmx.Max(archsimd.LoadFloat32x8Slice(p[i : i+8]))
	}
	var a [8]float32
	vmx.Store(&a)
	archsimd.ClearAVXUpperBits()
	mx := max(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
	for _, x := range p[n:] {
		mx = max(mx, x)
	}
	return mx
}
