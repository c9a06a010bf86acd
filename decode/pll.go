package decode

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/softdiff/softdiff/soft"
)

// PLL is a JointScorer built from any Denoiser: the pseudo-log-likelihood
// Σ_i log p(x_i | x_−i), where p(x_i | x_−i) is the belief at i when every
// other position is hard evidence and position i is masked. One LogProb is
// L denoiser calls, run in parallel on up to Workers goroutines (≤ 0 means
// GOMAXPROCS) and summed in position order, so the result does not depend
// on Workers. It counts its own denoiser calls (NFE). Safe for concurrent
// use when the denoiser is.
type PLL struct {
	den     Denoiser
	K       int
	mask    int32
	Workers int
	nfe     atomic.Int64
	pool    sync.Pool
}

type pllScratch struct {
	ev, bel *soft.Dense
}

// NewPLL returns the pseudo-log-likelihood scorer of den over v (which must
// have a MASK token); a nil denoiser or vocabulary is an error.
func NewPLL(den Denoiser, v *soft.Vocab) (*PLL, error) {
	if den == nil || v == nil {
		return nil, errors.New("decode.NewPLL: nil denoiser or vocabulary")
	}
	if v.Mask() == soft.NoToken {
		return nil, errors.New("decode.NewPLL: vocabulary has no MASK token")
	}
	return &PLL{den: den, K: v.Size(), mask: v.Mask()}, nil
}

// NFE returns the number of denoiser calls made so far.
func (p *PLL) NFE() int64 { return p.nfe.Load() }

// LogProb implements JointScorer with the pseudo-log-likelihood; −Inf if
// some x_i has belief 0.
func (p *PLL) LogProb(x []int32) (float64, error) {
	L := len(x)
	for i, v := range x {
		if v < 0 || int(v) >= p.K || v == p.mask {
			return 0, fmt.Errorf("decode.PLL: token %d at position %d is not a token id", v, i)
		}
	}
	terms := make([]float64, L)
	errs := make([]error, L)
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, L) {
		wg.Go(func() {
			sc, _ := p.pool.Get().(*pllScratch)
			if sc == nil || sc.ev.L != L {
				sc = &pllScratch{ev: soft.NewDense(L, p.K), bel: soft.NewDense(L, p.K)}
			}
			defer p.pool.Put(sc)
			for {
				i := int(next.Add(1) - 1)
				if i >= L {
					return
				}
				clear(sc.ev.Data)
				for j, v := range x {
					if j == i {
						sc.ev.Data[j*p.K+int(p.mask)] = 1
					} else {
						sc.ev.Data[j*p.K+int(v)] = 1
					}
				}
				p.nfe.Add(1)
				if err := p.den.Denoise(sc.bel, sc.ev, 0); err != nil {
					errs[i] = err
					continue
				}
				terms[i] = math.Log(float64(sc.bel.Row(i)[x[i]]))
			}
		})
	}
	wg.Wait()
	var s float64
	for i, t := range terms {
		if err := errs[i]; err != nil {
			// The Denoiser contract: zero-probability evidence is an error
			// beginning "contradictory evidence": x_−i itself is impossible.
			if strings.Contains(err.Error(), "contradictory evidence") {
				return math.Inf(-1), nil
			}
			return 0, fmt.Errorf("decode.PLL position %d: %w", i, err)
		}
		s += t
	}
	return s, nil
}
