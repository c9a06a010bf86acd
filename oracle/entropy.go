package oracle

import (
	"errors"
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

// EntropyOptions controls EntropyOf. The zero value is usable.
type EntropyOptions struct {
	// MaxEnum is the largest number of sequences (D^L, D data tokens)
	// enumerated exactly; above it the entropy is estimated by Monte Carlo.
	// 0 means 1<<16.
	MaxEnum int
	// Samples is the number of Monte-Carlo samples; 0 means 4096.
	Samples int
	// Seed seeds the Monte-Carlo samples (block b of 256 samples draws from
	// soft.BlockRand(Seed, b)), so the estimate does not depend on Workers.
	Seed uint64
	// Workers is the number of goroutines; ≤ 0 means GOMAXPROCS.
	Workers int
}

// Estimate is an entropy in nats. Exact estimates have StdErr 0 and N equal
// to the number of sequences enumerated; Monte-Carlo estimates are the mean
// of −log p(x) over N exact samples x, with StdErr the sample standard
// deviation over √N.
type Estimate struct {
	Nats   float64
	StdErr float64
	Exact  bool
	N      int
}

// String formats the estimate with its kind and size.
func (e Estimate) String() string {
	if e.Exact {
		return fmt.Sprintf("%.6f nats (exact, %d sequences)", e.Nats, e.N)
	}
	return fmt.Sprintf("%.6f ± %.6f nats (Monte Carlo, %d samples)", e.Nats, e.StdErr, e.N)
}

// dataTokens lists the ids of a vocabulary other than MASK.
func dataTokens(v *soft.Vocab) []int32 {
	var ids []int32
	for id := int32(0); int(id) < v.Size(); id++ {
		if id != v.Mask() {
			ids = append(ids, id)
		}
	}
	return ids
}

// EntropyOf returns the entropy H(X_1..X_L) of a model's distribution over
// length-L sequences. When D^L ≤ opt.MaxEnum (D the number of non-MASK
// tokens) it enumerates every sequence and sums −p log p exactly (to float64
// rounding); otherwise it draws opt.Samples exact samples and returns the
// mean of −log p(x) with its standard error.
func EntropyOf(m Model, opt EntropyOptions) (Estimate, error) {
	if m == nil {
		return Estimate{}, errors.New("oracle: EntropyOf: nil model")
	}
	if opt.MaxEnum <= 0 {
		opt.MaxEnum = 1 << 16
	}
	if opt.Samples <= 0 {
		opt.Samples = 4096
	}
	L := m.Len()
	toks := dataTokens(m.Vocab())
	D := len(toks)
	if D == 0 {
		return Estimate{}, errors.New("oracle: EntropyOf: vocabulary has no data tokens")
	}
	count := 1.0
	for i := 0; i < L; i++ {
		count *= float64(D)
	}
	if count <= float64(opt.MaxEnum) {
		n := int(count)
		x := make([]int32, L)
		h, tot := 0.0, 0.0
		for k := 0; k < n; k++ {
			r := k
			for i := L - 1; i >= 0; i-- {
				x[i] = toks[r%D]
				r /= D
			}
			lp, err := m.LogProb(x)
			if err != nil {
				return Estimate{}, err
			}
			if math.IsInf(lp, -1) {
				continue
			}
			p := math.Exp(lp)
			h -= p * lp
			tot += p
		}
		if !(math.Abs(tot-1) <= 1e-6) {
			return Estimate{}, fmt.Errorf("oracle: EntropyOf: enumerated probabilities sum to %v, not 1", tot)
		}
		return Estimate{Nats: h, Exact: true, N: n}, nil
	}
	const block = 256
	nb := soft.Blocks(opt.Samples, block)
	sum := make([]float64, nb)
	sum2 := make([]float64, nb)
	errs := make([]error, nb)
	soft.ForBlocks(opt.Samples, block, opt.Workers, func(b, lo, hi int) {
		rng := soft.BlockRand(opt.Seed, b)
		x := make([]int32, L)
		for k := lo; k < hi; k++ {
			m.Sample(x, rng)
			lp, err := m.LogProb(x)
			if err == nil && math.IsInf(lp, 0) {
				err = fmt.Errorf("oracle: EntropyOf: a sample has log p = %v", lp)
			}
			if err != nil {
				errs[b] = err
				return
			}
			sum[b] -= lp
			sum2[b] += lp * lp
		}
	})
	s, s2 := 0.0, 0.0
	for b := range sum {
		if errs[b] != nil {
			return Estimate{}, errs[b]
		}
		s += sum[b]
		s2 += sum2[b]
	}
	n := float64(opt.Samples)
	mean := s / n
	vr := (s2 - n*mean*mean) / math.Max(n-1, 1)
	if vr < 0 {
		vr = 0
	}
	return Estimate{Nats: mean, StdErr: math.Sqrt(vr / n), N: opt.Samples}, nil
}
