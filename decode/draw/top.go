package draw

import "github.com/softdiff/softdiff/soft"

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
