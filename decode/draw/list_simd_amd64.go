//go:build goexperiment.simd && amd64

package draw

import (
	"math/bits"
	"math/rand/v2"
	"simd/archsimd"
)

// haveCompress: the AVX-512 compaction kernels (VCOMPRESSPS/VPCOMPRESSD on
// 8 lanes) run on this CPU.
var haveCompress = haveFMA && archsimd.X86.AVX512()

var lane8 = [8]int32{0, 1, 2, 3, 4, 5, 6, 7}

// sumVec returns the float64 sum of p, accumulated in two float64x4
// lanes (each float32 entry converted exactly): within 1e-15 relative of
// the sum in index order for non-negative entries (len(p)·2⁻⁵³ at most).
func sumVec(p []float32) float64 {
	n := len(p) &^ 7
	var a0, a1 archsimd.Float64x4
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat32x8Slice(p[i : i+8])
		a0 = a0.Add(x.GetLo().ConvertToFloat64())
		a1 = a1.Add(x.GetHi().ConvertToFloat64())
	}
	var t [4]float64
	a0.Add(a1).Store(&t)
	archsimd.ClearAVXUpperBits()
	s := (t[0] + t[1]) + (t[2] + t[3])
	for _, x := range p[n:] {
		s += float64(x)
	}
	return s
}

// nucleusListVec is NucleusList's cut on 8 lanes: the entries > θ of each
// block of 8 are compacted (with their indices) by VCOMPRESSPS and stored
// at the list's end, their mass summed in float64 lanes; a block holding
// an entry equal to θ runs the scalar rule (the first r entries equal to θ
// are kept, in index order). The list is NucleusList's; the sum differs
// from its index-order sum by the summation order only (relative 1e-15).
func nucleusListVec(q []float32, theta float32, r int, ids []int32, vals []float32) (n int, sum float64, changed bool) {
	m := len(q) &^ 7
	th := archsimd.BroadcastFloat32x8(theta)
	var zero archsimd.Float32x8
	step := archsimd.BroadcastInt32x8(8)
	idx := archsimd.LoadInt32x8Slice(lane8[:])
	var a0, a1 archsimd.Float64x4
	drop := uint8(0)
	var tail float64
	for i := 0; i < m; i += 8 {
		x := archsimd.LoadFloat32x8Slice(q[i : i+8])
		if x.Equal(th).ToBits() != 0 {
			for v := i; v < i+8; v++ {
				y := q[v]
				eq := b2i(y == theta && r > 0)
				r -= eq
				k := b2i(y > theta) | eq
				ids[n], vals[n] = int32(v), y
				if k != 0 {
					tail += float64(y)
				}
				n += k
				drop |= uint8(b2i(y != 0) &^ k)
			}
			idx = idx.Add(step)
			continue
		}
		keep := x.Greater(th)
		kb := keep.ToBits()
		drop |= x.NotEqual(zero).ToBits() &^ kb
		x.Compress(keep).StoreSlice(vals[n : n+8])
		idx.Compress(keep).StoreSlice(ids[n : n+8])
		xk := x.Masked(keep)
		a0 = a0.Add(xk.GetLo().ConvertToFloat64())
		a1 = a1.Add(xk.GetHi().ConvertToFloat64())
		n += bits.OnesCount8(kb)
		idx = idx.Add(step)
	}
	var t [4]float64
	a0.Add(a1).Store(&t)
	archsimd.ClearAVXUpperBits()
	sum = (t[0] + t[1]) + (t[2] + t[3]) + tail
	for v := m; v < len(q); v++ {
		y := q[v]
		eq := b2i(y == theta && r > 0)
		r -= eq
		k := b2i(y > theta) | eq
		ids[n], vals[n] = int32(v), y
		if k != 0 {
			sum += float64(y)
		}
		n += k
		drop |= uint8(b2i(y != 0) &^ k)
	}
	return n, sum, drop != 0
}

// nucleusBandVec is nucleusBand with the band compacted by VCOMPRESSPS and
// the masses above up and in the band summed in float64 lanes (the same
// values, another summation order: relative 1e-15).
func nucleusBandVec(q []float32, lo, up float32, topP float64, scratch []float32) (float32, float64, bool) {
	w := scratch[:len(q)]
	m := len(q) &^ 7
	vlo, vup := archsimd.BroadcastFloat32x8(lo), archsimd.BroadcastFloat32x8(up)
	var a0, a1, b0, b1 archsimd.Float64x4
	c := 0
	for i := 0; i < m; i += 8 {
		x := archsimd.LoadFloat32x8Slice(q[i : i+8])
		hi := x.GreaterEqual(vup)
		in := x.GreaterEqual(vlo).And(x.Less(vup))
		x.Compress(in).StoreSlice(w[c : c+8])
		c += bits.OnesCount8(in.ToBits())
		xa, xb := x.Masked(hi), x.Masked(in)
		a0 = a0.Add(xa.GetLo().ConvertToFloat64())
		a1 = a1.Add(xa.GetHi().ConvertToFloat64())
		b0 = b0.Add(xb.GetLo().ConvertToFloat64())
		b1 = b1.Add(xb.GetHi().ConvertToFloat64())
	}
	var t, u [4]float64
	a0.Add(a1).Store(&t)
	b0.Add(b1).Store(&u)
	archsimd.ClearAVXUpperBits()
	above := (t[0] + t[1]) + (t[2] + t[3])
	band := (u[0] + u[1]) + (u[2] + u[3])
	for _, x := range q[m:] {
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

// sampleListVec is soft.Sample on vals, bit for bit, in two vector
// passes, where that can be proved: when every entry is 0 or at least
// 2⁻²⁹ and the total is below 2, every partial sum of the entries (in any
// order and grouping) is a multiple of the smallest entry's ulp, at least
// 2⁻⁵², and below 2, so it is exact in float64; then Sample's running
// sums, its total, and the sums of 8-entry blocks taken here are all
// exact, and the first index whose running sum exceeds u is found by
// adding block sums and scanning one block. ok is false (and no variate
// is drawn) when the condition fails.
func sampleListVec(rng *rand.Rand, vals []float32) (int, bool) {
	n := len(vals) &^ 7
	bc := archsimd.BroadcastFloat32x8
	zero, lo := bc(0), bc(0x1p-29)
	var a0, a1 archsimd.Float64x4
	bad := uint8(0)
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat32x8Slice(vals[i : i+8])
		bad |= x.Greater(zero).And(x.Less(lo)).Or(x.Less(zero)).ToBits()
		a0 = a0.Add(x.GetLo().ConvertToFloat64())
		a1 = a1.Add(x.GetHi().ConvertToFloat64())
	}
	var t [4]float64
	a0.Add(a1).Store(&t)
	archsimd.ClearAVXUpperBits()
	total := (t[0] + t[1]) + (t[2] + t[3])
	for _, x := range vals[n:] {
		if x < 0 || x > 0 && x < 0x1p-29 {
			bad = 1
		}
		total += float64(x)
	}
	if bad != 0 || !(total > 0 && total < 2) {
		return 0, false
	}
	u := rng.Float64() * total
	var c float64
	i := 0
	for ; i < n; i += 8 {
		x := archsimd.LoadFloat32x8Slice(vals[i : i+8])
		var s [4]float64
		x.GetLo().ConvertToFloat64().Add(x.GetHi().ConvertToFloat64()).Store(&s)
		b := (s[0] + s[1]) + (s[2] + s[3])
		if u < c+b {
			break
		}
		c += b
	}
	archsimd.ClearAVXUpperBits()
	for ; i < len(vals); i++ {
		if x := vals[i]; x > 0 {
			c += float64(x)
			if u < c {
				return i, true
			}
		}
	}
	// rounding left u ≥ total (u = total): Sample's last positive entry
	for j := len(vals) - 1; j >= 0; j-- {
		if vals[j] > 0 {
			return j, true
		}
	}
	return 0, false // unreachable: total > 0
}

// nucleusWeightsVec is NucleusWeights's two passes on 8 lanes given the
// cut (keep q > θ, and the first r entries equal to θ; θ = −1 keeps all):
// blocks holding an entry equal to θ take the scalar rule, in index order
// in both passes, so both see the same kept set.
func nucleusWeightsVec(dst, q []float32, theta float32, r int, a float64) float64 {
	m := len(q) &^ 7
	th := archsimd.BroadcastFloat32x8(theta)
	var a0, a1 archsimd.Float64x4
	var tail float64
	rr := r
	for i := 0; i < m; i += 8 {
		x := archsimd.LoadFloat32x8Slice(q[i : i+8])
		if x.Equal(th).ToBits() != 0 {
			for _, y := range q[i : i+8] {
				eq := b2i(y == theta && rr > 0)
				rr -= eq
				if y > theta || eq != 0 {
					tail += float64(y)
				}
			}
			continue
		}
		xk := x.Masked(x.Greater(th))
		a0 = a0.Add(xk.GetLo().ConvertToFloat64())
		a1 = a1.Add(xk.GetHi().ConvertToFloat64())
	}
	var t [4]float64
	a0.Add(a1).Store(&t)
	c := (t[0] + t[1]) + (t[2] + t[3]) + tail
	for _, y := range q[m:] {
		eq := b2i(y == theta && rr > 0)
		rr -= eq
		if y > theta || eq != 0 {
			c += float64(y)
		}
	}
	sc := a / c
	vs := archsimd.BroadcastFloat64x4(sc)
	for i := 0; i < m; i += 8 {
		x := archsimd.LoadFloat32x8Slice(q[i : i+8])
		if x.Equal(th).ToBits() != 0 {
			for v := i; v < i+8; v++ {
				y := q[v]
				eq := b2i(y == theta && r > 0)
				r -= eq
				dst[v] = 0
				if y > theta || eq != 0 {
					dst[v] = float32(float64(y) * sc)
				}
			}
			continue
		}
		lo := x.GetLo().ConvertToFloat64().Mul(vs).ConvertToFloat32()
		hi := x.GetHi().ConvertToFloat64().Mul(vs).ConvertToFloat32()
		var w archsimd.Float32x8
		w.SetLo(lo).SetHi(hi).Masked(x.Greater(th)).StoreSlice(dst[i : i+8])
	}
	archsimd.ClearAVXUpperBits()
	for v := m; v < len(q); v++ {
		y := q[v]
		eq := b2i(y == theta && r > 0)
		r -= eq
		dst[v] = 0
		if y > theta || eq != 0 {
			dst[v] = float32(float64(y) * sc)
		}
	}
	return c
}
