package soft

import (
	"fmt"
	"math"
)

// TopBeliefs holds L belief rows over K states in the form a model with a
// large vocabulary answers: for row i, up to Top listed tokens
// IDs[i*Top:(i+1)*Top] with their probabilities Probs[…], and Resid[i], the
// mass of the tokens not listed. An id of −1 marks an unused slot (its
// probability must be 0); the listed ids need not be sorted.
//
// The residual is read as the model defines it: spread uniformly over the
// tokens that are neither listed nor Mask (a belief never gives MASK mass;
// Mask = NoToken excludes nothing). Each such token has probability
// Share() = float32(Resid/Rest()) and Mask has 0. That is the dense row
// Expand writes, and every statistic of a TopRow (Prob, Argmax, Margin) is
// exactly the one of that dense row, bit for bit, in O(k): a sampler that
// reads beliefs through them gives the same output on TopBeliefs as on
// their expansion. It differs from Sparse, the engine's own top-k cut of a
// distribution (every slot used, sorted, residual over the K − k other
// states, MASK included).
//
// With L = 256, K = 126464 and k = 64 the buffers take 129 KiB against
// 126 MiB for the dense rows.
type TopBeliefs struct {
	L, K, Top int
	Mask      int32
	IDs       []int32
	Probs     []float32
	Resid     []float32
}

// NewTopBeliefs returns L rows of k unused slots over K states with the
// residual excluded from mask (NoToken: none). It panics unless L ≥ 0,
// 1 ≤ k ≤ K ≤ 2³¹−1 and mask is NoToken or in [0, K): the caller's own
// shapes.
func NewTopBeliefs(L, K, k int, mask int32) *TopBeliefs {
	if L < 0 || k < 1 || K < k || K > math.MaxInt32 || mask < NoToken || int(mask) >= K {
		panic(fmt.Sprintf("soft: NewTopBeliefs(L=%d, K=%d, k=%d, mask=%d): need L ≥ 0, 1 ≤ k ≤ K ≤ 2³¹−1, mask NoToken or in [0, K)", L, K, k, mask))
	}
	b := &TopBeliefs{L: L, K: K, Top: k, Mask: mask,
		IDs: make([]int32, L*k), Probs: make([]float32, L*k), Resid: make([]float32, L)}
	for j := range b.IDs {
		b.IDs[j] = -1
	}
	return b
}

// Row returns a view of row i (sharing the buffers). It panics if i is out
// of range.
func (b *TopBeliefs) Row(i int) TopRow {
	if i < 0 || i >= b.L {
		panic(fmt.Sprintf("soft: top-k row %d out of range [0,%d)", i, b.L))
	}
	k := b.Top
	return TopRow{K: b.K, Mask: b.Mask, IDs: b.IDs[i*k : (i+1)*k : (i+1)*k],
		Probs: b.Probs[i*k : (i+1)*k : (i+1)*k], Resid: b.Resid[i]}
}

// ToDense writes the expansion of every row into dst (see TopRow.Expand).
// It panics if dst is not L×K.
func (b *TopBeliefs) ToDense(dst *Dense) {
	if dst.L != b.L || dst.K != b.K {
		panic(fmt.Sprintf("soft: TopBeliefs.ToDense: dense %d×%d vs top-k %d×%d", dst.L, dst.K, b.L, b.K))
	}
	for i := 0; i < b.L; i++ {
		b.Row(i).Expand(dst.Row(i))
	}
}

// TopRow is one row of TopBeliefs.
type TopRow struct {
	K     int
	Mask  int32
	IDs   []int32 // −1: an unused slot
	Probs []float32
	Resid float32
}

// listed returns the number of used slots.
func (r TopRow) listed() int {
	n := 0
	for _, id := range r.IDs {
		if id >= 0 {
			n++
		}
	}
	return n
}

// Rest returns the number of tokens that share the residual: K minus the
// listed tokens minus Mask (when it is a state).
func (r TopRow) Rest() int {
	n := r.K - r.listed()
	if r.Mask >= 0 {
		n--
	}
	return max(n, 0)
}

// Share returns the probability of each token that is neither listed nor
// Mask: float32(Resid/Rest()) computed in float64, 0 when Rest() is 0.
func (r TopRow) Share() float32 {
	if n := r.Rest(); n > 0 {
		return float32(float64(r.Resid) / float64(n))
	}
	return 0
}

// Prob returns the probability of state v in the row's expansion.
func (r TopRow) Prob(v int32) float32 {
	for j, id := range r.IDs {
		if id == v {
			return r.Probs[j]
		}
	}
	if v == r.Mask {
		return 0
	}
	return r.Share()
}

// Expand writes the dense row the top-k row stands for into p (K entries):
// Share() at every token neither listed nor Mask, 0 at Mask, the listed
// probabilities at their ids. It panics if len(p) != K.
func (r TopRow) Expand(p []float32) {
	mustLen("TopRow.Expand", len(p), r.K)
	fill(p, r.Share())
	if r.Mask >= 0 {
		p[r.Mask] = 0
	}
	for j, id := range r.IDs {
		if id >= 0 {
			p[id] = r.Probs[j]
		}
	}
}

// fill sets every entry of p to c with doubling copies (memory speed).
func fill(p []float32, c float32) {
	if c == 0 || len(p) == 0 {
		clear(p)
		return
	}
	p[0] = c
	for n := 1; n < len(p); n *= 2 {
		copy(p[n:], p[:n])
	}
}

// isListed reports whether v is a used slot's id.
func (r TopRow) isListed(v int32) bool {
	for _, id := range r.IDs {
		if id == v {
			return true
		}
	}
	return false
}

// firstShared returns the smallest token that is neither listed nor Mask;
// it needs Rest() > 0.
func (r TopRow) firstShared() int32 {
	for v := int32(0); ; v++ {
		if v != r.Mask && !r.isListed(v) {
			return v
		}
	}
}

// Argmax returns the most probable state of the expansion, the smallest id
// on ties: exactly Argmax(p) for p = Expand's row.
func (r TopRow) Argmax() int32 {
	id, _ := r.Margin()
	return id
}

// Margin returns Argmax() and the gap between the two largest entries of
// the expansion (a tie of the largest counts twice), exactly as
// Margin(p) of the expanded row: float32 values subtracted in float32. For
// K = 1 the gap is 0.
func (r TopRow) Margin() (int32, float32) {
	// The expansion's entries, as a multiset: the listed probabilities, the
	// share Rest() times, and 0 once for Mask.
	best, second := float32(math.Inf(-1)), float32(math.Inf(-1))
	bestID := int32(-1)
	see := func(x float32, id int32, n int) {
		switch {
		case x > best:
			second, best, bestID = best, x, id
			if n > 1 {
				second = x
			}
		case x == best:
			bestID = min(bestID, id)
			second = x
		case x > second:
			second = x
		}
	}
	for j, id := range r.IDs {
		if id >= 0 {
			see(r.Probs[j], id, 1)
		}
	}
	if n := r.Rest(); n > 0 {
		s := r.Share()
		if s >= best { // only then can a shared token be (tied for) the argmax
			see(s, r.firstShared(), n)
		} else {
			see(s, math.MaxInt32, n)
		}
	}
	if r.Mask >= 0 {
		see(0, r.Mask, 1)
	}
	if math.IsInf(float64(second), -1) {
		return bestID, 0
	}
	return bestID, best - second
}

// Check reports the first fault of the row as a belief: an id outside
// [0, K) other than −1, the Mask id, or an id listed twice; a probability
// or residual that is NaN, infinite, negative or above 1; an unused slot
// with a nonzero probability; a residual above RowSumTol with no token to
// hold it (a smaller one is rounding and is dropped, as Expand drops it); or a listed mass plus residual off from 1 by more than RowSumTol.
// seen, if non-nil, is a zeroed bitset of at least ⌈K/64⌉ words that makes
// the duplicate check O(k) (it is zero again on return); nil costs O(k²).
// The error is a *TopError.
func (r TopRow) Check(seen []uint64) error {
	var sum float64
	var err *TopError
	for j, id := range r.IDs {
		p := r.Probs[j]
		if !(p >= 0 && p <= 1) {
			err = &TopError{Slot: j, What: fmt.Sprintf("probability %v", p)}
			break
		}
		if id == -1 {
			if p != 0 {
				err = &TopError{Slot: j, What: fmt.Sprintf("unused slot has probability %v", p)}
				break
			}
			continue
		}
		if id < 0 || int(id) >= r.K || id == r.Mask {
			err = &TopError{Slot: j, What: fmt.Sprintf("id %d is not a token in [0, %d) other than MASK %d", id, r.K, r.Mask)}
			break
		}
		if seen != nil {
			w, bit := id>>6, uint64(1)<<(id&63)
			if seen[w]&bit != 0 {
				err = &TopError{Slot: j, What: fmt.Sprintf("token id %d listed twice", id)}
				break
			}
			seen[w] |= bit
		} else {
			for _, prev := range r.IDs[:j] {
				if prev == id {
					err = &TopError{Slot: j, What: fmt.Sprintf("token id %d listed twice", id)}
					break
				}
			}
			if err != nil {
				break
			}
		}
		sum += float64(p)
	}
	if seen != nil {
		for _, id := range r.IDs {
			if id >= 0 && int(id) < r.K {
				seen[id>>6] = 0
			}
		}
	}
	if err != nil {
		return err
	}
	if !(r.Resid >= 0 && r.Resid <= 1) {
		return &TopError{Slot: -1, What: fmt.Sprintf("residual %v", r.Resid)}
	}
	if r.Resid > RowSumTol && r.Rest() == 0 { // a rounding residual may have no token to go to
		return &TopError{Slot: -1, What: fmt.Sprintf("residual %v but no token is left to hold it", r.Resid)}
	}
	if sum += float64(r.Resid); !(math.Abs(sum-1) <= RowSumTol) {
		return &TopError{Slot: -1, What: fmt.Sprintf("listed mass plus residual is %.9g, not 1 (tolerance %g)", sum, RowSumTol)}
	}
	return nil
}

// TopError is the fault TopRow.Check reports.
type TopError struct {
	Slot int // −1 for the residual or the row's sum
	What string
}

func (e *TopError) Error() string {
	if e.Slot < 0 {
		return e.What
	}
	return fmt.Sprintf("slot %d: %s", e.Slot, e.What)
}
