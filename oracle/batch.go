package oracle

import (
	"fmt"

	"github.com/softdiff/softdiff/soft"
)

// DenoiseBatch runs Denoise on every sequence of a batch (dst[j], ev[j],
// t[j]) in parallel on up to GOMAXPROCS goroutines, one NFE per sequence:
// the batch form of a learned model (decode.BatchDenoiser). Results do not
// depend on the batch or on GOMAXPROCS. It returns the error of the
// lowest-numbered failing sequence, naming its index, or an error if the
// three slices differ in length or are empty.
func (h *HMM) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	return denoiseBatch(dst, ev, t, h.Denoise)
}

// DenoiseBatch is the batch form of Denoise; see HMM.DenoiseBatch.
func (c *Corpus) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	return denoiseBatch(dst, ev, t, c.Denoise)
}

// DenoiseBatch is the batch form of Denoise; see HMM.DenoiseBatch.
func (p *PCFG) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	return denoiseBatch(dst, ev, t, p.Denoise)
}

// denoiseBatch runs denoise on every sequence in parallel and reports the
// first failing one.
func denoiseBatch(dst, ev []*soft.Dense, t []float64, denoise func(dst, ev *soft.Dense, t float64) error) error {
	if len(ev) == 0 || len(dst) != len(ev) || len(t) != len(ev) {
		return fmt.Errorf("oracle: DenoiseBatch: %d destinations, %d evidence states, %d times", len(dst), len(ev), len(t))
	}
	errs := make([]error, len(ev))
	soft.ForBlocks(len(ev), 1, 0, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			if dst[j] == nil || ev[j] == nil {
				errs[j] = fmt.Errorf("oracle: nil destination or evidence")
				continue
			}
			errs[j] = denoise(dst[j], ev[j], t[j])
		}
	})
	for j, err := range errs {
		if err != nil {
			return fmt.Errorf("sequence %d: %w", j, err)
		}
	}
	return nil
}
