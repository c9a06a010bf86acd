package soft

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Errors returned by the row functions on logits. They are sentinels, so
// the hot path does not allocate; callers wrap them with the row's place.
var (
	// ErrNonFinite: a logit is NaN or +Inf.
	ErrNonFinite = errors.New("logit is NaN or +Inf")
	// ErrNoSupport: every logit is -Inf, so no token has positive probability.
	ErrNoSupport = errors.New("every logit is -Inf")
)

func mustLen(op string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("soft: %s: length mismatch %d vs %d", op, a, b))
	}
}

// logSumExp returns max and log Σ exp(l − max) of logits in float64, or an
// error for NaN/+Inf logits or an all −Inf row. Finite logits of any size
// (±1e30 included) are exact up to rounding because of the max subtraction.
func logSumExp(logits []float32) (mx float64, lse float64, err error) {
	m := math.Inf(-1)
	for _, x := range logits {
		if x != x || x > math.MaxFloat32 {
			return 0, 0, ErrNonFinite
		}
		if float64(x) > m {
			m = float64(x)
		}
	}
	if math.IsInf(m, -1) {
		return 0, 0, ErrNoSupport
	}
	var s float64
	for _, x := range logits {
		s += math.Exp(float64(x) - m)
	}
	return m, math.Log(s), nil
}

// Softmax writes dst = softmax(logits) and returns log Σ_v exp(logits_v).
// The maximum is subtracted first, so logits of ±1e30 are handled; −Inf
// logits, and logits more than 87 below the maximum (e^−87 < 1.7e-38), get
// probability exactly 0. exp is a float32 polynomial (relative error a few
// float32 ulps, see docs/soft.md) and the normaliser accumulates in float64.
// NaN or +Inf logits return ErrNonFinite and a row of only −Inf returns
// ErrNoSupport; dst is then left unspecified. It panics if the lengths
// differ. dst may alias logits.
func Softmax(dst, logits []float32) (float64, error) {
	mustLen("Softmax", len(dst), len(logits))
	lse, m, _, err := softmaxRow(dst, logits)
	if err != nil {
		return 0, err
	}
	return m + lse, nil
}

// LogSoftmax writes dst = log softmax(logits) (−Inf where the logit is −Inf)
// and returns the log normaliser. Errors and aliasing as for Softmax.
func LogSoftmax(dst, logits []float32) (float64, error) {
	mustLen("LogSoftmax", len(dst), len(logits))
	m, lse, err := logSumExp(logits)
	if err != nil {
		return 0, err
	}
	for i, x := range logits {
		dst[i] = float32(float64(x) - m - lse)
	}
	return m + lse, nil
}

// SoftmaxEntropy writes dst = softmax(logits) and returns its Shannon
// entropy in nats, fused with the softmax passes: with z = logits − max and
// S = Σ e^z, H = log S − Σ p·z. Numerics, errors and aliasing as for
// Softmax. SoftmaxEntropyRows does the same for a whole state in parallel.
func SoftmaxEntropy(dst, logits []float32) (float64, error) {
	mustLen("SoftmaxEntropy", len(dst), len(logits))
	lse, _, pz, err := softmaxRow(dst, logits)
	if err != nil {
		return 0, err
	}
	return math.Max(lse-pz, 0), nil
}

// Entropy returns −Σ p log p in nats, with 0 log 0 = 0. It assumes p is a
// distribution; the result lies in [0, log len(p)] up to rounding.
func Entropy(p []float32) float64 {
	var h float64
	for _, x := range p {
		if x > 0 {
			h -= float64(x) * math.Log(float64(x))
		}
	}
	if h < 0 {
		return 0
	}
	return h
}

// KL returns Σ p log(p/q) in nats: +Inf if some p_v > 0 has q_v = 0, and
// never negative. It panics if the lengths differ.
//
// In the GOEXPERIMENT=simd build on an AVX2+FMA CPU a vector kernel
// (klVec: a float64 polynomial logarithm of the ratio, the one of
// math.Log) serves rows of 8 or more entries, within
// 1e-14·Σ_v p_v·|log(p_v/q_v)| + 1e-15·Σ_v p_v of this loop; the default
// build runs the loop.
func KL(p, q []float32) float64 {
	mustLen("KL", len(p), len(q))
	if haveKLVec && len(p) >= 8 {
		return klVec(p, q)
	}
	var s float64
	for i, x := range p {
		if x > 0 {
			if q[i] <= 0 {
				return math.Inf(1)
			}
			s += float64(x) * math.Log(float64(x)/float64(q[i]))
		}
	}
	if s < 0 {
		return 0
	}
	return s
}

// KLBound returns an upper bound on KL(p‖q) as KL computes it, in this
// build, for a caller that only compares KL with a threshold: where the
// bound is below it, so is KL, and KL need not be computed. It is +Inf
// where some p_v > 0 has q_v ≤ 0 (where KL is +Inf), NaN for NaN or
// infinite entries, and never negative. It panics if the lengths differ.
//
// The bound: log x ≤ x − 1 gives p·log(p/q) ≤ (p − q)²/q + (p − q) for p, q
// > 0, so with χ = Σ_{p_v>0} (p_v − q_v)²/q_v and D = Σ_{p_v>0} (p_v − q_v)
// the true KL is at most max(0, χ + D). KL's computed value differs from
// the true one by its rounding: each term p·log(p/q) within a few ulps of
// itself plus p·2⁻⁵³ (the ratio's rounding), summed over n entries, so by
// at most n·2⁻⁵⁰·(Σ|terms| + Σp); and Σ|terms| ≤ χ + M with M = Σ (p + q)
// (for p ≥ q, p·log(p/q) ≤ (p − q)²/q + (p − q); for p < q, p·log(q/p) ≤
// q − p). The simd kernel's error (1e-14·Σ|terms| + 1e-15·Σp) is within
// that. So KL ≤ max(0, χ(1 + ρ) + D + e·(M + 1)) + e·(χ + 2M + 1) with e =
// (n + 4)·2⁻⁵⁰ covering the float64 rounding of D, M and KL, and ρ the
// relative error of the computed χ: e for the float64 loop here, 1e-5
// for the simd kernel's float32 terms (below 3e-7 each, float32 partial
// sums of 16 terms below 1e-6). Entries with p or q below 2⁻⁶⁰ or above
// 2⁶⁰ run the float64 loop in the kernel, so (p − q)² neither underflows
// nor overflows in float32.
func KLBound(p, q []float32) float64 {
	mustLen("KLBound", len(p), len(q))
	if haveKLVec && len(p) >= 8 {
		return klBoundVec(p, q)
	}
	chi, d, m, bad := klBoundSums(p, q, 0, 0, 0)
	if bad != 0 {
		return bad
	}
	eps := float64(len(p)+4) * 0x1p-50
	return klBoundFinish(chi, d, m, eps, eps)
}

// klBoundSums adds to chi, d and m KLBound's terms (p − q)²/q, p − q and
// p + q of the entries with p > 0, in index order. bad is the bound's value
// at the first such entry whose q is not positive (+Inf for q ≤ 0, −0
// included; NaN for a NaN q), else 0.
func klBoundSums(p, q []float32, chi, d, m float64) (float64, float64, float64, float64) {
	for i, x := range p {
		if x > 0 {
			a, b := float64(x), float64(q[i])
			if !(b > 0) {
				if b <= 0 {
					return 0, 0, 0, math.Inf(1)
				}
				return 0, 0, 0, math.NaN()
			}
			e := a - b
			chi += e * e / b
			d += e
			m += a + b
		}
	}
	return chi, d, m, 0
}

// klBoundFinish is KLBound's bound from χ, D and M (see there), ρ the
// relative error of χ and e the float64 margin.
func klBoundFinish(chi, d, m, rho, e float64) float64 {
	u := chi*(1+rho) + d + e*(m+1)
	if u < 0 {
		u = 0
	}
	return u + e*(chi+2*m+1)
}

// JS returns the Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2,
// in nats; it lies in [0, log 2].
func JS(p, q []float32) float64 {
	mustLen("JS", len(p), len(q))
	var s float64
	for i := range p {
		a, b := float64(p[i]), float64(q[i])
		m := 0.5 * (a + b)
		if a > 0 {
			s += 0.5 * a * math.Log(a/m)
		}
		if b > 0 {
			s += 0.5 * b * math.Log(b/m)
		}
	}
	return math.Min(math.Max(s, 0), math.Ln2)
}

// TV returns the total variation distance ½ Σ |p − q|, in [0, 1].
func TV(p, q []float32) float64 {
	mustLen("TV", len(p), len(q))
	var s float64
	for i := range p {
		s += math.Abs(float64(p[i]) - float64(q[i]))
	}
	return math.Min(0.5*s, 1)
}

// Sharpen writes dst ∝ p^(1/temperature): temperature < 1 sharpens, > 1
// flattens, 1 copies. Zeros stay zero. It panics if temperature is not a
// positive finite number or the lengths differ. dst may alias p.
func Sharpen(dst, p []float32, temperature float64) {
	mustLen("Sharpen", len(dst), len(p))
	if !(temperature > 0) || math.IsInf(temperature, 1) {
		panic(fmt.Sprintf("soft: Sharpen: temperature %g is not positive and finite", temperature))
	}
	inv := 1 / temperature
	// Work in log space relative to the maximum so small temperatures do
	// not underflow every entry.
	var mx float64 = math.Inf(-1)
	for _, x := range p {
		if x > 0 {
			mx = math.Max(mx, math.Log(float64(x)))
		}
	}
	var s float64
	for _, x := range p {
		if x > 0 {
			s += math.Exp((math.Log(float64(x)) - mx) * inv)
		}
	}
	for i, x := range p {
		if x > 0 {
			dst[i] = float32(math.Exp((math.Log(float64(x))-mx)*inv) / s)
		} else {
			dst[i] = 0
		}
	}
}

// Mix writes the arithmetic mixture dst = (1−w)·a + w·b. It panics if w is
// outside [0, 1] or the lengths differ. dst may alias a or b.
func Mix(dst, a, b []float32, w float64) {
	mustLen("Mix", len(dst), len(a))
	mustLen("Mix", len(a), len(b))
	if !(w >= 0 && w <= 1) {
		panic(fmt.Sprintf("soft: Mix: weight %g outside [0,1]", w))
	}
	kern.mix(dst, a, b, float32(1-w), float32(w))
}

// ErrDisjoint: a geometric mixture of two rows with disjoint support.
var ErrDisjoint = errors.New("rows have disjoint support")

// GeoMix writes the normalised geometric mixture dst ∝ a^(1−w) · b^w
// (a product of experts). It returns ErrDisjoint, leaving dst unspecified, if
// no entry is positive in both rows (for 0 < w < 1). It panics if w is
// outside [0, 1] or the lengths differ. dst may alias a or b.
func GeoMix(dst, a, b []float32, w float64) error {
	mustLen("GeoMix", len(dst), len(a))
	mustLen("GeoMix", len(a), len(b))
	if !(w >= 0 && w <= 1) {
		panic(fmt.Sprintf("soft: GeoMix: weight %g outside [0,1]", w))
	}
	var s float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		var v float64
		switch {
		case w == 0:
			v = x
		case w == 1:
			v = y
		case x > 0 && y > 0:
			v = math.Exp((1-w)*math.Log(x) + w*math.Log(y))
		}
		dst[i] = float32(v)
		s += v
	}
	if !(s > 0) {
		return ErrDisjoint
	}
	inv := 1 / s
	for i := range dst {
		dst[i] = float32(float64(dst[i]) * inv)
	}
	return nil
}

// TopK writes the k = len(ids) largest entries of p, in decreasing order, to
// ids and vals; ties go to the smaller id. It panics if len(vals) != len(ids)
// or k > len(p). It does not allocate.
func TopK(ids []int32, vals []float32, p []float32) {
	mustLen("TopK", len(ids), len(vals))
	k := len(ids)
	if k > len(p) {
		panic(fmt.Sprintf("soft: TopK: k = %d > row length %d", k, len(p)))
	}
	if k == 0 {
		return
	}
	n := 0
	for j := 0; j < len(p); j++ {
		if n == k {
			// Skip, in vector steps where available, the entries that
			// cannot enter: not above the current k-th value.
			if j = kern.nextAbove(p, j, vals[k-1]); j == len(p) {
				break
			}
		}
		x := p[j]
		// Insert (j, x) after every kept value ≥ x, keeping earlier ids first.
		pos := n
		if n == k {
			pos = k - 1
		} else {
			n++
		}
		for pos > 0 && x > vals[pos-1] {
			vals[pos], ids[pos] = vals[pos-1], ids[pos-1]
			pos--
		}
		vals[pos], ids[pos] = x, int32(j)
	}
}

// Argmax returns the index of the largest entry (the smallest such index on
// ties). It panics on an empty row.
func Argmax(p []float32) int32 {
	if len(p) == 0 {
		panic("soft: Argmax of an empty row")
	}
	best := 0
	for j, x := range p {
		if x > p[best] {
			best = j
		}
	}
	return int32(best)
}

// Margin returns the argmax and top1 − top2, the gap between the two largest
// entries (0 for a row of one entry).
func Margin(p []float32) (int32, float32) {
	if len(p) == 0 {
		panic("soft: Margin of an empty row")
	}
	best, second := 0, -1
	for j := 1; j < len(p); j++ {
		switch {
		case p[j] > p[best]:
			second, best = best, j
		case second < 0 || p[j] > p[second]:
			second = j
		}
	}
	if second < 0 {
		return int32(best), 0
	}
	return int32(best), p[best] - p[second]
}

// Sample draws one index from the distribution p by inverting its float64
// cumulative sum against one uniform variate of rng. It never returns an
// index of zero probability. It panics if p has no positive entry.
//
// The cumulative sum is the one-entry-at-a-time float64 sum of the positive
// entries in index order. The first pass, which forms the total, also
// keeps the running total at the start of each of at most 64 stretches of
// the row; the inversion then starts from the stretch holding the variate
// with that saved value, so it adds the same numbers in the same order as
// a walk from index 0 and returns the same index, in a fraction of the
// second pass (TestSampleDefaultUnchanged).
//
// In a GOEXPERIMENT=simd build on an AVX2 CPU rows of 64 entries or more go
// to a vector walk (sampleVec) that adds the cumulative sum 32 entries at
// a time and walks only the block holding the variate one entry at a time:
// the same index except where the variate lies within float64 rounding of
// a cumulative boundary (the sums differ only in the order of additions).
func Sample(rng *rand.Rand, p []float32) int32 {
	if haveSampleVec && len(p) >= 64 {
		return sampleVec(rng, p)
	}
	return sampleScalar(rng, p)
}

// sampleScalar is Sample's scalar rule (the default build's, and the simd
// build's for rows under 64 entries).
func sampleScalar(rng *rand.Rand, p []float32) int32 {
	const stretches = 64
	var start [stretches]float64 // running total before stretch b
	w := max(64, (len(p)+stretches-1)/stretches)
	var total float64
	nb := 0
	for lo := 0; lo < len(p); lo += w {
		start[nb] = total
		nb++
		for _, x := range p[lo:min(len(p), lo+w)] {
			if x > 0 {
				total += float64(x)
			}
		}
	}
	if !(total > 0) {
		panic("soft: Sample from a row with no positive entry")
	}
	u := rng.Float64() * total
	// the first stretch whose end total exceeds u holds the index: every
	// positive entry before it has a running total ≤ its start total ≤ u
	b := 0
	for b < nb-1 && !(u < start[b+1]) {
		b++
	}
	c := start[b]
	last := int32(-1)
	for j := b * w; j < len(p); j++ {
		if x := p[j]; x > 0 {
			c += float64(x)
			last = int32(j)
			if u < c {
				return last
			}
		}
	}
	if last < 0 { // rounding left u ≥ c and the last stretch has no positive entry
		for last = int32(b*w) - 1; !(p[last] > 0); last-- {
		}
	}
	return last // rounding left u ≥ c: the last positive entry
}

// ExpectedEmbedding writes dst = Σ_v p_v · emb[v], with emb a K×D row-major
// matrix (K = len(p), D = len(dst)). It accumulates in float32: each output
// is a convex combination of one column of emb, so the absolute error stays
// below about K·2⁻²⁴ times that column's largest |entry|. It panics if
// len(emb) != len(p)·len(dst).
func ExpectedEmbedding(dst, p, emb []float32) {
	D := len(dst)
	mustLen("ExpectedEmbedding", len(emb), len(p)*D)
	for j := range dst {
		dst[j] = 0
	}
	for v, x := range p {
		if x == 0 {
			continue
		}
		e := emb[v*D : (v+1)*D : (v+1)*D]
		for j := range dst {
			dst[j] += x * e[j]
		}
	}
}

// ExpShift writes dst[i] = exp(src[i] − m) with the package's float32
// exponential (the AVX2 kernel in a GOEXPERIMENT=simd build; relative error
// about 1e-6, see docs/soft.md) and returns Σ dst in float64. It is the
// building block of a softmax over part of a row (for example every column
// but MASK): take m ≥ every src[i], call ExpShift on each part, then Scale
// by 1/sum. Entries with src[i] − m below about −87 give 0. It panics if the
// lengths differ. dst may alias src.
func ExpShift(dst, src []float32, m float32) float64 {
	mustLen("ExpShift", len(dst), len(src))
	s, _ := kern.expSum(dst, src, m)
	return s
}

// Scale writes dst[i] = a·src[i]. It panics if the lengths differ. dst may
// alias src.
func Scale(dst, src []float32, a float32) {
	mustLen("Scale", len(dst), len(src))
	kern.scale(dst, src, a)
}

// CheckArgmax checks that p is a probability row, as ValidateRow does
// (every entry finite and non-negative, sum within RowSumTol of 1; the fast
// sum folds float32 chunks into float64, so a row within about 1e-6 of the
// tolerance's edge may be accepted where ValidateRow would not), and
// returns its argmax (the smallest index on ties, as Argmax). It is the
// vectorised fast path for validating a denoiser's beliefs and reading their
// mode in one pass: on a bad row it returns ValidateRow's *RowError. It
// panics on an empty row.
func CheckArgmax(p []float32) (int32, error) {
	if len(p) == 0 {
		panic("soft: CheckArgmax of an empty row")
	}
	s, mn, am := kern.sumMinArgmax(p)
	if !(math.Abs(s-1) <= RowSumTol) || !(mn >= 0) || am >= len(p) || !(p[am] <= math.MaxFloat32) {
		// The exact check decides (a NaN reaches the sum even where the lane
		// min/max drop it; a sum at the edge of the tolerance is re-added in
		// float64).
		if err := ValidateRow(p); err != nil {
			return 0, err
		}
		return Argmax(p), nil
	}
	return int32(am), nil
}
