package decode

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/decode/draw"
)

// EB is the entropy-bounded sampler (Ben-Hamu et al. 2025, "Accelerated
// Sampling from Masked Diffusion Models via Entropy Bounded Unmasking",
// arXiv 2505.24857). Each step sorts the masked positions by belief entropy,
// ascending (ties to the smaller position), and commits the largest prefix
// whose entropies satisfy ΣH − max H ≤ Gamma (at least one position), each
// with its argmax token, or a sample at Temperature > 0 (in the sorted
// order). The entropies are Run.Entropy's: a GOEXPERIMENT=simd build's
// order can differ from the default build's only between positions whose
// entropies agree to within about 2e-6·max(1, H) nats.
//
// Options: Steps is not used (each step commits at least one token);
// BlockLen is not used; NoEntropy has no effect (the rule reads entropies,
// and StepInfo.MeanEntropy is their mean over the masked positions).
//
// Gamma and Temperature must be finite and ≥ 0; NaN and +Inf are errors.
// For no entropy bound use Gamma = math.MaxFloat64: the first step then
// commits every masked position.
type EB struct {
	Gamma       float64
	Temperature float64
}

// Name implements Algorithm.
func (m EB) Name() string { return "EB" }

type ebRun struct {
	EB
	r   *Run
	idx []int
	key []float64
}

// Start implements Algorithm.
func (m EB) Start(r *Run) (Stepper, error) {
	if !(m.Gamma >= 0 && m.Temperature >= 0) || math.IsInf(m.Gamma, 1) || math.IsInf(m.Temperature, 1) {
		return nil, fmt.Errorf("bad EB setting: gamma %v, temperature %v", m.Gamma, m.Temperature)
	}
	r.NeedEntropy() // the rule orders by entropy
	return &ebRun{EB: m, r: r, idx: make([]int, 0, r.Len()), key: make([]float64, r.Len())}, nil
}

func (s *ebRun) Step(k int) (bool, error) {
	r := s.r
	s.idx = maskedIn(s.idx, r, 0, len(r.Free()))
	idx := s.idx
	if err := r.Denoise(float64(len(idx)) / float64(len(r.Free()))); err != nil {
		return false, err
	}
	var hs float64
	for _, i := range idx {
		h := r.Entropy(i)
		s.key[i] = -h // draw.Sort puts the largest key first
		hs += h
	}
	r.SetMeanEntropy(hs / float64(len(idx)))
	draw.Sort(idx, s.key)
	// Sorted ascending, the prefix idx[:n+1] has max H = H(idx[n]), so
	// ΣH − max H over it is the sum over idx[:n].
	n, sum := 1, -s.key[idx[0]]
	for n < len(idx) && sum <= s.Gamma {
		sum += -s.key[idx[n]]
		n++
	}
	for _, i := range idx[:n] {
		r.SetToken(i, r.Candidate(i, s.Temperature))
	}
	return n == len(idx), nil
}
