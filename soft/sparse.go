package soft

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/chewxy/math32"
)

// Sparse is an L×K state kept as its top k entries per row: for row i the
// token ids IDs[i*k:(i+1)*k] (distinct, in decreasing order of probability,
// ties by smaller id), their probabilities Probs[i*k:(i+1)*k], and Resid[i],
// the probability mass of the K−k tokens that are not listed.
//
// The residual is read as spread uniformly over the non-listed tokens: token
// v not listed in row i has probability Resid[i]/(K−k). Every statistic on a
// Sparse row (Prob, Entropy, KL, TV, Argmax, Margin, Sample) and the
// conversion to Dense use that reading, so they are exact for the
// distribution the Sparse row stands for, not for the Dense row it was cut
// from. SparseTopK followed by SparseToDense changes each row by at most its
// residual mass in total variation.
//
// With L = 4096, K = 126464 and k = 64 the buffers take 2 MiB + 16 KiB
// (Bytes reports it); K only enters through the ids' range.
//
// It is the form in which a large-vocabulary model can hand over beliefs,
// and the candidate lattice of package decode's final decoders is built
// from it (SparseTopK of the end state's beliefs, decode.NewLattice).
type Sparse struct {
	L, K, Top int // Top is k, the number of listed tokens per row
	IDs       []int32
	Probs     []float32
	Resid     []float32
}

// NewSparse returns an L×K sparse state with k listed tokens per row, all
// zero: a destination buffer for SparseTopK. It panics unless L ≥ 0,
// K ≥ 1, 0 ≤ k ≤ K and K fits in an int32.
func NewSparse(L, K, k int) *Sparse {
	if err := checkSparseShape(L, K, k); err != nil {
		panic(err.Error())
	}
	return &Sparse{L: L, K: K, Top: k,
		IDs: make([]int32, L*k), Probs: make([]float32, L*k), Resid: make([]float32, L)}
}

func checkSparseShape(L, K, k int) error {
	if L < 0 || K < 1 || k < 0 || k > K || K > math.MaxInt32 {
		return fmt.Errorf("soft: sparse shape L=%d K=%d k=%d: need L ≥ 0, 1 ≤ K ≤ 2³¹−1, 0 ≤ k ≤ K", L, K, k)
	}
	return nil
}

// SparseFromData wraps ids, probs (L·k each) and resid (L) as an L×K sparse
// state with k listed tokens per row, without copying, after Validate.
func SparseFromData(L, K, k int, ids []int32, probs, resid []float32) (*Sparse, error) {
	if err := checkSparseShape(L, K, k); err != nil {
		return nil, err
	}
	if len(ids) != L*k || len(probs) != L*k || len(resid) != L {
		return nil, fmt.Errorf("soft: sparse L=%d k=%d needs %d ids, %d probs, %d residuals; got %d, %d, %d",
			L, k, L*k, L*k, L, len(ids), len(probs), len(resid))
	}
	s := &Sparse{L: L, K: K, Top: k, IDs: ids, Probs: probs, Resid: resid}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Bytes returns the size of the three buffers in bytes.
func (s *Sparse) Bytes() int {
	return 4*len(s.IDs) + 4*len(s.Probs) + 4*len(s.Resid)
}

// SparseRow is a view of one row of a Sparse.
type SparseRow struct {
	K     int
	IDs   []int32
	Probs []float32
	Resid float32
}

// Row returns a view of row i (the slices share the state's buffers). It
// panics if i is out of range.
func (s *Sparse) Row(i int) SparseRow {
	if i < 0 || i >= s.L {
		panic(fmt.Sprintf("soft: sparse row %d out of range [0,%d)", i, s.L))
	}
	k := s.Top
	return SparseRow{K: s.K, IDs: s.IDs[i*k : (i+1)*k : (i+1)*k],
		Probs: s.Probs[i*k : (i+1)*k : (i+1)*k], Resid: s.Resid[i]}
}

// SparseError describes the first invalid place of a Sparse state.
type SparseError struct {
	Row, Slot int // Slot is −1 for the residual or the row's sum
	What      string
}

func (e *SparseError) Error() string {
	if e.Slot < 0 {
		return fmt.Sprintf("soft: sparse row %d: %s", e.Row, e.What)
	}
	return fmt.Sprintf("soft: sparse row %d, slot %d: %s", e.Row, e.Slot, e.What)
}

// Validate reports the first bad place: shapes, an id outside [0, K) or
// repeated in its row, a NaN, infinite or negative probability or residual,
// probabilities not in decreasing order, a positive residual when k = K
// (no token left to hold it), or a row whose listed mass plus residual is
// off from 1 by more than RowSumTol. It never modifies s.
func (s *Sparse) Validate() error {
	if err := checkSparseShape(s.L, s.K, s.Top); err != nil {
		return err
	}
	if len(s.IDs) != s.L*s.Top || len(s.Probs) != s.L*s.Top || len(s.Resid) != s.L {
		return fmt.Errorf("soft: sparse L=%d k=%d: buffer lengths %d ids, %d probs, %d residuals",
			s.L, s.Top, len(s.IDs), len(s.Probs), len(s.Resid))
	}
	for i := 0; i < s.L; i++ {
		if err := s.Row(i).validate(); err != nil {
			err.Row = i
			return err
		}
	}
	return nil
}

func badValue(x float32) string {
	switch {
	case math32.IsNaN(x):
		return "NaN"
	case math32.IsInf(x, 0):
		return fmt.Sprintf("infinite (%g)", x)
	case x < 0:
		return fmt.Sprintf("negative (%g)", x)
	}
	return ""
}

func (r SparseRow) validate() *SparseError {
	var sum float64
	for j, id := range r.IDs {
		if id < 0 || int(id) >= r.K {
			return &SparseError{Slot: j, What: fmt.Sprintf("token id %d outside [0,%d)", id, r.K)}
		}
		for _, prev := range r.IDs[:j] {
			if prev == id {
				return &SparseError{Slot: j, What: fmt.Sprintf("token id %d listed twice", id)}
			}
		}
		p := r.Probs[j]
		if b := badValue(p); b != "" {
			return &SparseError{Slot: j, What: b + " probability"}
		}
		if j > 0 && p > r.Probs[j-1] {
			return &SparseError{Slot: j, What: fmt.Sprintf("probability %g above the previous slot's %g (need decreasing order)", p, r.Probs[j-1])}
		}
		sum += float64(p)
	}
	if b := badValue(r.Resid); b != "" {
		return &SparseError{Slot: -1, What: b + " residual"}
	}
	if len(r.IDs) == r.K && r.Resid != 0 {
		return &SparseError{Slot: -1, What: fmt.Sprintf("residual %g but every token is listed", r.Resid)}
	}
	sum += float64(r.Resid)
	if !(math.Abs(sum-1) <= RowSumTol) {
		return &SparseError{Slot: -1, What: fmt.Sprintf("listed mass plus residual is %.9g, not 1 (tolerance %g)", sum, RowSumTol)}
	}
	return nil
}

// Share returns the probability of each non-listed token, Resid/(K−k)
// (0 when k = K).
func (r SparseRow) Share() float64 {
	n := r.K - len(r.IDs)
	if n <= 0 {
		return 0
	}
	return float64(r.Resid) / float64(n)
}

// Prob returns the probability of token v: its listed probability, else
// Share().
func (r SparseRow) Prob(v int32) float64 {
	for j, id := range r.IDs {
		if id == v {
			return float64(r.Probs[j])
		}
	}
	return r.Share()
}

// listed reports whether v is among the row's ids (linear scan).
func (r SparseRow) listed(v int32) bool {
	for _, id := range r.IDs {
		if id == v {
			return true
		}
	}
	return false
}

// nthUnlisted returns the n-th smallest token id (from 0) that is not listed.
// It needs n < K−k. Cost O(k·(number of listed ids ≤ the answer)).
func (r SparseRow) nthUnlisted(n int) int32 {
	// The answer c satisfies c = n + #{listed ids ≤ c}; iterate to the fixed
	// point, which is reached from below.
	c := int64(n)
	for {
		var below int64
		for _, id := range r.IDs {
			if int64(id) <= c {
				below++
			}
		}
		next := int64(n) + below
		if next == c {
			return int32(c)
		}
		c = next
	}
}

// Entropy returns the Shannon entropy in nats of the distribution the row
// stands for: listed probabilities as given, and the residual spread
// uniformly over the K−k other tokens, which contributes
// −Resid·log(Resid/(K−k)). This is the largest entropy of any Dense row
// with these top-k entries, so it bounds the entropy of the row it was cut
// from from above.
func (r SparseRow) Entropy() float64 {
	var h float64
	for _, p := range r.Probs {
		if p > 0 {
			h -= float64(p) * math.Log(float64(p))
		}
	}
	if s := r.Share(); s > 0 {
		h -= float64(r.Resid) * math.Log(s)
	}
	return math.Max(h, 0)
}

// Argmax returns the most probable token: the first listed id, unless the
// uniform share of the residual is larger (or nothing is listed), in which
// case it is the smallest non-listed id.
func (r SparseRow) Argmax() int32 {
	id, _ := r.Margin()
	return id
}

// Margin returns the argmax (as Argmax) and the gap between the two largest
// probabilities of the row's distribution, counting each non-listed token
// at Share(). For K = 1 the gap is 0.
func (r SparseRow) Margin() (int32, float64) {
	s := r.Share()
	unlisted := r.K - len(r.IDs)
	var top1, top2 float64 = -1, -1
	id := int32(-1)
	if len(r.IDs) > 0 {
		top1, id = float64(r.Probs[0]), r.IDs[0]
		if len(r.IDs) > 1 {
			top2 = float64(r.Probs[1])
		}
	}
	if unlisted > 0 {
		first := r.nthUnlisted(0)
		switch {
		case s > top1 || (s == top1 && first < id):
			top2, top1, id = top1, s, first
			if unlisted > 1 {
				top2 = s
			}
		case s > top2:
			top2 = s
		}
	}
	if top2 < 0 {
		return id, 0
	}
	return id, top1 - top2
}

// Sample draws one token from the row's distribution with one or two
// variates of rng: a listed token with its probability, else a uniformly
// chosen non-listed one. It panics if the row has no positive mass.
func (r SparseRow) Sample(rng *rand.Rand) int32 {
	var total float64
	for _, p := range r.Probs {
		if p > 0 {
			total += float64(p)
		}
	}
	unlisted := r.K - len(r.IDs)
	resid := 0.0
	if unlisted > 0 && r.Resid > 0 {
		resid = float64(r.Resid)
	}
	if !(total+resid > 0) {
		panic("soft: Sample from a sparse row with no positive mass")
	}
	u := rng.Float64() * (total + resid)
	var c float64
	last := int32(-1)
	for j, p := range r.Probs {
		if p > 0 {
			c += float64(p)
			last = r.IDs[j]
			if u < c {
				return last
			}
		}
	}
	if resid > 0 {
		return r.nthUnlisted(rng.IntN(unlisted))
	}
	return last
}

// sparsePair walks the union of the listed ids of a and b and calls
// fn(pa, pb, n) for every group of n tokens that have probabilities pa in a
// and pb in b: each listed token once, then the tokens listed in neither
// row as one group. Cost O(k_a·k_b), no allocation.
func sparsePair(a, b SparseRow, fn func(pa, pb float64, n int)) {
	if a.K != b.K {
		panic(fmt.Sprintf("soft: sparse rows of width %d and %d", a.K, b.K))
	}
	sa, sb := a.Share(), b.Share()
	union := len(a.IDs)
	for j, id := range a.IDs {
		pb := sb
		for jj, id2 := range b.IDs {
			if id2 == id {
				pb = float64(b.Probs[jj])
				break
			}
		}
		fn(float64(a.Probs[j]), pb, 1)
	}
	for jj, id := range b.IDs {
		if !a.listed(id) {
			union++
			fn(sa, float64(b.Probs[jj]), 1)
		}
	}
	if n := a.K - union; n > 0 {
		fn(sa, sb, n)
	}
}

// SparseTV returns the total variation distance between the distributions
// two sparse rows stand for (residuals spread uniformly), exactly, in
// O(k_a·k_b). It panics if the widths differ.
func SparseTV(a, b SparseRow) float64 {
	var s float64
	sparsePair(a, b, func(pa, pb float64, n int) { s += float64(n) * math.Abs(pa-pb) })
	return math.Min(0.5*s, 1)
}

// SparseKL returns KL(a‖b) in nats between the distributions two sparse
// rows stand for (residuals spread uniformly), exactly, in O(k_a·k_b):
// +Inf if a gives mass to a token b gives none. It panics if the widths
// differ.
func SparseKL(a, b SparseRow) float64 {
	var s float64
	sparsePair(a, b, func(pa, pb float64, n int) {
		if pa > 0 {
			if pb <= 0 {
				s = math.Inf(1)
				return
			}
			s += float64(n) * pa * math.Log(pa/pb)
		}
	})
	return math.Max(s, 0)
}

// SparseTopK fills dst with the top dst.Top entries of every row of src
// (TopK order: decreasing probability, ties by smaller id) and the residual
// mass Σ(row) − Σ(listed), summed in float64 and clipped at 0, row blocks in
// parallel on up to workers goroutines. When dst.Top = K the residual is 0.
// It panics if dst.L, dst.K differ from src's.
func SparseTopK(dst *Sparse, src *Dense, workers int) {
	if dst.L != src.L || dst.K != src.K {
		panic(fmt.Sprintf("soft: SparseTopK: sparse %d×%d vs dense %d×%d", dst.L, dst.K, src.L, src.K))
	}
	k := dst.Top
	ForBlocks(src.L, BlockRows, workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			p := src.Row(i)
			ids, vals := dst.IDs[i*k:(i+1)*k], dst.Probs[i*k:(i+1)*k]
			TopK(ids, vals, p)
			if k == src.K {
				dst.Resid[i] = 0
				continue
			}
			var all, top float64
			for _, x := range p {
				all += float64(x)
			}
			for _, x := range vals {
				top += float64(x)
			}
			dst.Resid[i] = float32(math.Max(all-top, 0))
		}
	})
}

// SparseToDense writes into dst the distributions src stands for: listed
// probabilities at their ids and Resid/(K−k) at every other token, row
// blocks in parallel on up to workers goroutines. It panics if the shapes
// differ.
func SparseToDense(dst *Dense, src *Sparse, workers int) {
	if dst.L != src.L || dst.K != src.K {
		panic(fmt.Sprintf("soft: SparseToDense: dense %d×%d vs sparse %d×%d", dst.L, dst.K, src.L, src.K))
	}
	ForBlocks(src.L, BlockRows, workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			r := src.Row(i)
			row := dst.Row(i)
			s := float32(r.Share())
			for j := range row {
				row[j] = s
			}
			for j, id := range r.IDs {
				row[id] = r.Probs[j]
			}
		}
	})
}

// SampleSparseRows draws one token per row of s into dst, with the block
// streams of SampleRows: the output depends on seed only, not on workers or
// GOMAXPROCS. It panics if len(dst) != s.L or a row has no positive mass.
func SampleSparseRows(dst []int32, s *Sparse, seed uint64, workers int) {
	mustLen("SampleSparseRows", len(dst), s.L)
	ForBlocks(s.L, BlockRows, workers, func(b, lo, hi int) {
		rng := BlockRand(seed, b)
		for i := lo; i < hi; i++ {
			dst[i] = s.Row(i).Sample(rng)
		}
	})
}
