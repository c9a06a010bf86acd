package draw

import (
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// EntropyTop returns the entropy in nats of the distribution a top-k row
// stands for (soft.TopRow: the listed probabilities, Share() at each of the
// Rest() other tokens, 0 at MASK) with Entropy's table logarithm, in O(k):
// Entropy of the expanded row up to the order of the float64 additions
// (relative difference of order 1e-15).
func EntropyTop(r soft.TopRow) float64 {
	var h float64
	for j, id := range r.IDs {
		if id >= 0 {
			h += plogp(r.Probs[j])
		}
	}
	if n := r.Rest(); n > 0 {
		h += float64(n) * plogp(r.Share())
	}
	return -h
}

// EntropyList returns the entropy in nats of a distribution over K states
// given as a list: the tokens ids (increasing, each in [0, K)) with
// probabilities vals, every other state 0.
//
// In the default build it is Entropy of the expanded row, bit for bit: the
// term of token v goes to the accumulator Entropy gives index v (v mod 4
// below 4·⌊K/4⌋, the first beyond), in increasing order, and the zeros
// Entropy adds (x·log x = −0) leave a float64 sum unchanged. In the
// GOEXPERIMENT=simd build on an AVX2+FMA CPU Entropy's vector kernel
// (entropyVec) serves lists of 8 or more entries, as it serves Entropy's
// rows: the same terms in other lanes, so EntropyList and Entropy of the
// expanded row each lie within that kernel's 1e-6·max(1, H) nats of the
// table version. It costs O(len(ids)).
func EntropyList(ids []int32, vals []float32, K int) float64 {
	vals = vals[:len(ids)]
	if haveFMA && len(vals) >= 8 {
		return entropyVec(vals)
	}
	var h [4]float64
	m := int32(K &^ 3)
	for j, id := range ids {
		a := int32(0)
		if id < m {
			a = id & 3
		}
		h[a] += plogp(vals[j])
	}
	return -((h[0] + h[1]) + (h[2] + h[3]))
}

// SampleList draws an index into vals (non-negative, with a positive
// entry) with probability proportional to its entry: soft.Sample(rng,
// vals), bit for bit — the same variate, the same index — in either
// build. In the GOEXPERIMENT=simd build on an AVX2+FMA CPU it runs in
// vector passes where every float64 partial sum of vals is exact (entries
// 0 or ≥ 2⁻²⁹, total below 2: true of a normalised filtered distribution
// unless it keeps an entry below 2⁻²⁹), so the order of the additions
// cannot change a bit (sampleListVec); otherwise it calls soft.Sample.
func SampleList(rng *rand.Rand, vals []float32) int {
	if haveFMA && len(vals) >= 64 {
		if j, ok := sampleListVec(rng, vals); ok {
			return j
		}
	}
	return int(soft.Sample(rng, vals))
}
