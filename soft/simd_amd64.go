//go:build goexperiment.simd && amd64

package soft

import (
	"math"
	"math/bits"
	"simd/archsimd"
)

// The AVX2+FMA kernels: 8 float32 lanes, the same algorithm as the Go
// kernels in kernel.go (see there). Tails shorter than 8 use the Go code.

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		kern = avx2Kernels
	}
}

var avx2Kernels = kernels{
	name:         "avx2",
	maxLogit:     maxLogitAVX2,
	expSum:       expSumAVX2,
	expSumMax:    expSumMaxAVX2,
	scale:        scaleAVX2,
	mix:          mixAVX2,
	nextAbove:    nextAboveAVX2,
	sumMinArgmax: sumMinArgmaxAVX2,
}

// sumMinArgmaxAVX2 is sumMinArgmaxGo with 8 lanes: float32 partial sums
// over chunks of chunkVecs vectors folded into float64 (fold), lane minima
// and maxima reduced at the end, then the first index of the maximum found
// by nextAboveAVX2 (the first entry above the next float below the
// maximum). A NaN entry reaches the sum (NaN), while the lane min/max may
// drop it (VMINPS/VMAXPS return an operand).
func sumMinArgmaxAVX2(p []float32) (float64, float32, int) {
	n := len(p)
	var zero archsimd.Float32x8
	var tot archsimd.Float64x4
	vmn := archsimd.BroadcastFloat32x8(float32(math.Inf(1)))
	vmx := archsimd.BroadcastFloat32x8(float32(math.Inf(-1)))
	i := 0
	for i+8 <= n {
		acc := zero
		end := min(n&^7, i+8*chunkVecs)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(p[i : i+8])
			acc = acc.Add(x)
			vmn = vmn.Min(x)
			vmx = vmx.Max(x)
		}
		tot = fold(acc, tot)
	}
	var t [4]float64
	var a, b [8]float32
	tot.Store(&t)
	vmn.Store(&a)
	vmx.Store(&b)
	archsimd.ClearAVXUpperBits()
	s := (t[0] + t[1]) + (t[2] + t[3])
	mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
	for j := range a {
		mn = min(mn, a[j])
		mx = max(mx, b[j])
	}
	for ; i < n; i++ {
		x := p[i]
		s += float64(x)
		mn = min(mn, x)
		mx = max(mx, x)
	}
	return s, mn, nextAboveAVX2(p, 0, math.Nextafter32(mx, float32(math.Inf(-1))))
}

func maxLogitAVX2(logits []float32) (float32, error) {
	n := len(logits)
	ninf := float32(math.Inf(-1))
	m0 := archsimd.BroadcastFloat32x8(ninf)
	m1 := m0
	// NaN lanes are flagged as all-ones int32 lanes, OR-ed together (a
	// vector OR: mask-register forms would need AVX-512).
	var bad archsimd.Int32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		x0 := archsimd.LoadFloat32x8Slice(logits[i : i+8])
		x1 := archsimd.LoadFloat32x8Slice(logits[i+8 : i+16])
		m0 = m0.Max(x0)
		m1 = m1.Max(x1)
		bad = bad.Or(x0.NotEqual(x0).ToInt32x8()).Or(x1.NotEqual(x1).ToInt32x8())
	}
	for ; i+8 <= n; i += 8 {
		x0 := archsimd.LoadFloat32x8Slice(logits[i : i+8])
		m0 = m0.Max(x0)
		bad = bad.Or(x0.NotEqual(x0).ToInt32x8())
	}
	return finishMax(m0.Max(m1), bad, logits[i:])
}

// finishMax reduces the lane maxima and NaN flags of a max pass and folds
// in the scalar tail, with maxLogit's errors.
func finishMax(vmax archsimd.Float32x8, bad archsimd.Int32x8, tail []float32) (float32, error) {
	var flags [8]int32
	bad.Store(&flags)
	for _, f := range flags {
		if f != 0 {
			archsimd.ClearAVXUpperBits()
			return 0, ErrNonFinite
		}
	}
	var lanes [8]float32
	vmax.Store(&lanes)
	archsimd.ClearAVXUpperBits() // scalar code follows (see nextAboveAVX2)
	m := float32(math.Inf(-1))
	for _, x := range lanes {
		if x > m {
			m = x
		}
	}
	for _, x := range tail {
		if x != x {
			return 0, ErrNonFinite
		}
		if x > m {
			m = x
		}
	}
	if m > math.MaxFloat32 {
		return 0, ErrNonFinite
	}
	if math.IsInf(float64(m), -1) {
		return 0, ErrNoSupport
	}
	return m, nil
}

// expConsts holds the broadcast constants of the vector exp, built once
// per call outside the loops.
type expConsts struct {
	lo, log2e, magic, nLn2, c7, c6, c5, c4, c3, c2, one archsimd.Float32x8
}

func newExpConsts() expConsts {
	b := archsimd.BroadcastFloat32x8
	return expConsts{lo: b(expCutoff), log2e: b(log2e), magic: b(expMagic), nLn2: b(-math.Ln2),
		c7: b(expC7), c6: b(expC6), c5: b(expC5), c4: b(expC4), c3: b(expC3), c2: b(expC2), one: b(1)}
}

// exp8 is exp32 on 8 lanes of z ≤ 0 (or −Inf); it also returns
// zc = max(z, expCutoff). Small enough to be inlined into the loop.
func (c *expConsts) exp8(z archsimd.Float32x8) (e, zc archsimd.Float32x8) {
	zc = z.Max(c.lo)
	t := zc.MulAdd(c.log2e, c.magic)
	n := t.Sub(c.magic)
	r := n.MulAdd(c.nLn2, zc)
	p := c.c7.MulAdd(r, c.c6).MulAdd(r, c.c5).MulAdd(r, c.c4).MulAdd(r, c.c3).MulAdd(r, c.c2).MulAdd(r, c.one).MulAdd(r, c.one)
	two := t.AsInt32x8().ShiftAllLeft(23).AsFloat32x8()
	return p.Mul(two).Masked(z.GreaterEqual(c.lo)), zc
}

// chunkVecs is the number of 8-lane vectors summed in float32 before the
// partial sums are folded into float64: 16 terms per lane.
const chunkVecs = 16

func fold(acc archsimd.Float32x8, tot archsimd.Float64x4) archsimd.Float64x4 {
	return tot.Add(acc.GetLo().ConvertToFloat64()).Add(acc.GetHi().ConvertToFloat64())
}

func expSumAVX2(dst, logits []float32, m float32) (float64, float64) {
	n := len(logits)
	dst = dst[:n]
	vm := archsimd.BroadcastFloat32x8(m)
	c := newExpConsts()
	var zero archsimd.Float32x8
	var totS, totT archsimd.Float64x4
	i := 0
	for i+8 <= n {
		accS, accT := zero, zero
		end := min(n&^7, i+8*chunkVecs)
		for ; i < end; i += 8 {
			z := archsimd.LoadFloat32x8Slice(logits[i : i+8]).Sub(vm)
			e, zc := c.exp8(z)
			e.StoreSlice(dst[i : i+8])
			accS = accS.Add(e)
			accT = e.MulAdd(zc, accT)
		}
		totS = fold(accS, totS)
		totT = fold(accT, totT)
	}
	var a, b [4]float64
	totS.Store(&a)
	totT.Store(&b)
	archsimd.ClearAVXUpperBits()
	s := (a[0] + a[1]) + (a[2] + a[3])
	t := (b[0] + b[1]) + (b[2] + b[3])
	for ; i < n; i++ {
		z := logits[i] - m
		e := exp32(z)
		dst[i] = e
		if e > 0 {
			s += float64(e)
			t += float64(e) * float64(z)
		}
	}
	return s, t
}

// expSumMaxAVX2 is expSumAVX2 on logits with maxLogitAVX2 on next (same
// length) in the same loop, so the next row streams in from memory while
// this row's exponentials are computed.
func expSumMaxAVX2(dst, logits []float32, m float32, next []float32) (float64, float64, float32, error) {
	n := len(logits)
	dst = dst[:n]
	next = next[:n]
	vm := archsimd.BroadcastFloat32x8(m)
	c := newExpConsts()
	var zero archsimd.Float32x8
	var totS, totT archsimd.Float64x4
	nmax := archsimd.BroadcastFloat32x8(float32(math.Inf(-1)))
	var bad archsimd.Int32x8
	i := 0
	for i+8 <= n {
		accS, accT := zero, zero
		end := min(n&^7, i+8*chunkVecs)
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat32x8Slice(next[i : i+8])
			nmax = nmax.Max(x)
			bad = bad.Or(x.NotEqual(x).ToInt32x8())
			z := archsimd.LoadFloat32x8Slice(logits[i : i+8]).Sub(vm)
			e, zc := c.exp8(z)
			e.StoreSlice(dst[i : i+8])
			accS = accS.Add(e)
			accT = e.MulAdd(zc, accT)
		}
		totS = fold(accS, totS)
		totT = fold(accT, totT)
	}
	var a, b [4]float64
	totS.Store(&a)
	totT.Store(&b)
	archsimd.ClearAVXUpperBits()
	s := (a[0] + a[1]) + (a[2] + a[3])
	t := (b[0] + b[1]) + (b[2] + b[3])
	nm, nerr := finishMax(nmax, bad, next[i:])
	for ; i < n; i++ {
		z := logits[i] - m
		e := exp32(z)
		dst[i] = e
		if e > 0 {
			s += float64(e)
			t += float64(e) * float64(z)
		}
	}
	return s, t, nm, nerr
}

func scaleAVX2(dst, src []float32, a float32) {
	n := len(src)
	dst = dst[:n]
	va := archsimd.BroadcastFloat32x8(a)
	i := 0
	for ; i+16 <= n; i += 16 {
		x0 := archsimd.LoadFloat32x8Slice(src[i : i+8])
		x1 := archsimd.LoadFloat32x8Slice(src[i+8 : i+16])
		x0.Mul(va).StoreSlice(dst[i : i+8])
		x1.Mul(va).StoreSlice(dst[i+8 : i+16])
	}
	archsimd.ClearAVXUpperBits()
	for ; i < n; i++ {
		dst[i] = a * src[i]
	}
}

func mixAVX2(dst, a, b []float32, u, v float32) {
	n := len(dst)
	a = a[:n]
	b = b[:n]
	vu := archsimd.BroadcastFloat32x8(u)
	vv := archsimd.BroadcastFloat32x8(v)
	i := 0
	for ; i+8 <= n; i += 8 {
		x := archsimd.LoadFloat32x8Slice(a[i : i+8])
		y := archsimd.LoadFloat32x8Slice(b[i : i+8])
		x.MulAdd(vu, y.Mul(vv)).StoreSlice(dst[i : i+8])
	}
	archsimd.ClearAVXUpperBits()
	for ; i < n; i++ {
		dst[i] = u*a[i] + v*b[i]
	}
}

func nextAboveAVX2(p []float32, j int, t float32) int {
	n := len(p)
	vt := archsimd.BroadcastFloat32x8(t)
	for ; j+16 <= n; j += 16 {
		m0 := archsimd.LoadFloat32x8Slice(p[j : j+8]).Greater(vt).ToBits()
		m1 := archsimd.LoadFloat32x8Slice(p[j+8 : j+16]).Greater(vt).ToBits()
		if m0|m1 != 0 {
			// The caller continues in scalar SSE code: clear the upper
			// halves (VZEROUPPER) to avoid the AVX–SSE transition cost.
			archsimd.ClearAVXUpperBits()
			if m0 != 0 {
				return j + bits.TrailingZeros8(m0)
			}
			return j + 8 + bits.TrailingZeros8(m1)
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; j < n; j++ {
		if p[j] > t {
			return j
		}
	}
	return n
}
