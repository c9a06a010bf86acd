package soft

import (
	"fmt"
	"math"
	"sync/atomic"
)

// Whole-state operations. Each splits the rows into the fixed blocks of
// ForBlocks (BlockRows rows each) and runs them on up to workers goroutines
// (workers ≤ 0 means GOMAXPROCS). Every row is computed by the same code
// whatever the number of workers, so the output is bit-identical for any
// workers and GOMAXPROCS. They allocate a few small objects per call for
// the goroutines (none when one worker runs), nothing per row.

// firstBad records the smallest bad row index seen by concurrent blocks.
type firstBad struct{ row atomic.Int64 }

func (f *firstBad) init() { f.row.Store(math.MaxInt64) }

func (f *firstBad) see(i int) {
	for {
		cur := f.row.Load()
		if int64(i) >= cur || f.row.CompareAndSwap(cur, int64(i)) {
			return
		}
	}
}

// SoftmaxEntropyRows writes dst row i = softmax(logits row i) and, when ent
// is not nil, ent[i] = its entropy in nats: SoftmaxEntropy on every row,
// the headline fused operation. logits is row-major L×K with L, K = dst.L,
// dst.K; it may alias dst.Data. A NaN or +Inf logit or an all −Inf row is
// an error naming the first such row (wrapping ErrNonFinite or
// ErrNoSupport); the other rows are still written. It panics if len(logits)
// != L·K or ent is neither nil nor of length L.
func SoftmaxEntropyRows(dst *Dense, ent []float64, logits []float32, workers int) error {
	mustLen("SoftmaxEntropyRows logits", len(logits), dst.L*dst.K)
	if ent != nil {
		mustLen("SoftmaxEntropyRows ent", len(ent), dst.L)
	}
	var bad firstBad
	bad.init()
	K := dst.K
	ForBlocks(dst.L, BlockRows, workers, func(_, lo, hi int) {
		// Rows are pipelined: row i+1's max pass runs inside row i's
		// exponential pass (kernels.expSumMax).
		m, err := kern.maxLogit(logits[lo*K : (lo+1)*K])
		for i := lo; i < hi; i++ {
			var next []float32
			if i+1 < hi {
				next = logits[(i+1)*K : (i+2)*K]
			}
			if err != nil {
				bad.see(i)
				if next != nil {
					m, err = kern.maxLogit(next)
				}
				continue
			}
			row := dst.Data[i*K : (i+1)*K]
			var s, t float64
			if next != nil {
				var nm float32
				var nerr error
				s, t, nm, nerr = kern.expSumMax(row, logits[i*K:(i+1)*K], m, next)
				m, err = nm, nerr
			} else {
				s, t = kern.expSum(row, logits[i*K:(i+1)*K], m)
			}
			// s ≥ 1: the maximal logit contributes e^0 = 1 exactly.
			kern.scale(row, row, float32(1/s))
			if ent != nil {
				ent[i] = math.Max(math.Log(s)-t/s, 0)
			}
		}
	})
	if i := bad.row.Load(); i != math.MaxInt64 {
		_, err := kern.maxLogit(logits[int(i)*K : (int(i)+1)*K])
		return fmt.Errorf("soft: logits row %d: %w", i, err)
	}
	return nil
}

// MixRows writes dst = (1−w)·a + w·b for whole states (Mix on every row).
// It panics if the shapes differ or w is outside [0, 1]. dst may alias a or
// b.
func MixRows(dst, a, b *Dense, w float64, workers int) {
	mustSameShape("MixRows", dst, a)
	mustSameShape("MixRows", a, b)
	if !(w >= 0 && w <= 1) {
		panic(fmt.Sprintf("soft: MixRows: weight %g outside [0,1]", w))
	}
	u, v := float32(1-w), float32(w)
	K := dst.K
	ForBlocks(dst.L, BlockRows, workers, func(_, lo, hi int) {
		// Row by row, so every row is bit-identical to Mix's.
		for i := lo; i < hi; i++ {
			kern.mix(dst.Data[i*K:(i+1)*K], a.Data[i*K:(i+1)*K], b.Data[i*K:(i+1)*K], u, v)
		}
	})
}

// KLRows writes dst[i] = KL(p row i ‖ q row i) in nats (KL on every row).
// It panics if the shapes differ or len(dst) != p.L.
func KLRows(dst []float64, p, q *Dense, workers int) {
	mustSameShape("KLRows", p, q)
	mustLen("KLRows", len(dst), p.L)
	ForBlocks(p.L, BlockRows, workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = KL(p.Row(i), q.Row(i))
		}
	})
}

// EntropyRows writes dst[i] = Entropy(p row i) in nats. It panics if
// len(dst) != p.L.
func EntropyRows(dst []float64, p *Dense, workers int) {
	mustLen("EntropyRows", len(dst), p.L)
	ForBlocks(p.L, BlockRows, workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = Entropy(p.Row(i))
		}
	})
}
