package decode

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/softdiff/softdiff/soft"
)

// ImportanceResample targets the posterior of the end state (see
// FinalState), π(x) ∝ p(x)·Π_i ℓ_i(x_i), p the joint scorer's law and ℓ_i
// the likelihood of the evidence the sampler holds (for a soft sampler its
// accumulated evidence; committed positions are hard evidence). It draws N
// whole sequences from the proposal q(x) = Π_i b_i(x_i) over the positions
// uncommitted at the end state (committed and fixed ones keep their token),
// weights each by
//
//	w(x) = p(x)·Π_i ℓ_i(x_i) / q(x)
//
// and returns one drawn in proportion to its weight: as N grows its law
// tends to π (for an exact denoiser the beliefs are π's marginals, so q is
// the product of π's marginals). This is EDLM's importance step (Xu et al.
// 2025, "Energy-Based Diffusion Language Models for Text Generation", arXiv
// 2410.21357: target q(x)·exp(−E(x)) with residual energy
// E(x) = log q(x) − log π(x), so the weight exp(−E) is π/q; EDLM's code is
// inconsistent about the sign, this is the sign that makes the resampled law
// tend to π), with the evidence likelihood that a run which has observed
// evidence must keep: without it the prior is counted twice and the output
// is pulled towards likely sequences. Score is log p(x) of the returned
// sequence; Evals = N. If every candidate has weight zero the first one is
// returned. N 0 means 8.
type ImportanceResample struct {
	N int
}

// Name implements FinalDecoder.
func (ImportanceResample) Name() string { return "IR" }

// Decode implements FinalDecoder.
func (m ImportanceResample) Decode(ctx context.Context, s *FinalState, sc JointScorer, rng *rand.Rand) (Decoded, error) {
	c, err := drawCandidates(ctx, s, sc, rng, m.N, "decode.ImportanceResample")
	if err != nil {
		return Decoded{}, err
	}
	if math.IsInf(c.max, -1) {
		return Decoded{Tokens: c.xs[0], Score: c.logp[0], Evals: len(c.xs)}, nil
	}
	var z float64
	for _, lw := range c.logw {
		z += math.Exp(lw - c.max)
	}
	u := rng.Float64() * z
	var acc float64
	pick := len(c.xs) - 1
	for j, lw := range c.logw {
		acc += math.Exp(lw - c.max)
		if u < acc {
			pick = j
			break
		}
	}
	return Decoded{Tokens: c.xs[pick], Score: c.logp[pick], Evals: len(c.xs)}, nil
}

// candidates are the draws of a sampling final decoder with their log
// weights and log-probabilities.
type candidates struct {
	xs         [][]int32
	logw, logp []float64
	max        float64 // largest log weight
}

// drawCandidates draws n (0: 8) sequences from the end state's proposal and
// weights them by π/q (see ImportanceResample).
func drawCandidates(ctx context.Context, s *FinalState, sc JointScorer, rng *rand.Rand, n int, who string) (candidates, error) {
	if n == 0 {
		n = 8
	}
	if n < 0 {
		return candidates{}, fmt.Errorf("%s: N=%d < 0", who, n)
	}
	if sc == nil || rng == nil {
		return candidates{}, fmt.Errorf("%s: nil scorer or random source", who)
	}
	if err := s.Validate(); err != nil {
		return candidates{}, fmt.Errorf("%s: %w", who, err)
	}
	bel := s.Beliefs
	for i := 0; i < bel.L; i++ {
		if !s.committed(i) {
			if err := soft.ValidateRow(bel.Row(i)); err != nil {
				return candidates{}, fmt.Errorf("%s: belief at position %d: %w", who, i, err)
			}
		}
	}
	c := candidates{xs: make([][]int32, n), logw: make([]float64, n), logp: make([]float64, n), max: math.Inf(-1)}
	for k := range c.xs {
		if err := ctx.Err(); err != nil {
			return candidates{}, err
		}
		x := make([]int32, bel.L)
		var lq float64
		for i := range x {
			if s.committed(i) {
				x[i] = s.Tokens[i]
				continue
			}
			row := bel.Row(i)
			x[i] = soft.Sample(rng, row)
			lq += math.Log(float64(row[x[i]]))
		}
		lp, err := sc.LogProb(x)
		if err != nil {
			return candidates{}, err
		}
		if err := checkLogProb(lp, fmt.Sprintf("candidate %d %v", k, x)); err != nil {
			return candidates{}, fmt.Errorf("%s: %w", who, err)
		}
		c.xs[k], c.logp[k] = x, lp
		c.logw[k] = lp + s.logLik(x) - lq
		if math.IsNaN(c.logw[k]) {
			c.logw[k] = math.Inf(-1)
		}
		c.max = max(c.max, c.logw[k])
	}
	return c, nil
}

// MBR is the minimum-Bayes-risk decode under Hamming loss for the posterior
// π of the end state: it draws N candidates and their importance weights
// π/q as ImportanceResample does and returns the candidate x_j maximising
// Σ_k w_k·(fraction of positions where x_j and x_k agree), the weights
// self-normalised (ties: the first candidate): as N grows, the candidate of
// least expected Hamming loss under π among those drawn. Score is that expected agreement, in [0, 1]; Evals = N. If
// every candidate has weight zero the weights are uniform. N 0 means 8.
type MBR struct {
	N int
}

// Name implements FinalDecoder.
func (MBR) Name() string { return "MBR" }

// Decode implements FinalDecoder.
func (m MBR) Decode(ctx context.Context, s *FinalState, sc JointScorer, rng *rand.Rand) (Decoded, error) {
	c, err := drawCandidates(ctx, s, sc, rng, m.N, "decode.MBR")
	if err != nil {
		return Decoded{}, err
	}
	w := make([]float64, len(c.xs))
	for k, lw := range c.logw {
		w[k] = 1
		if !math.IsInf(c.max, -1) {
			w[k] = math.Exp(lw - c.max)
		}
	}
	j, score := medoid(c.xs, w)
	return Decoded{Tokens: slices.Clone(c.xs[j]), Score: score, Evals: len(c.xs)}, nil
}

// medoid returns the index of the sample maximising the w-weighted mean
// Hamming agreement with all samples (the first on ties) and that
// agreement; the samples have equal length and the weights are
// non-negative with a positive sum.
func medoid(samples [][]int32, w []float64) (int, float64) {
	L := len(samples[0])
	var wsum float64
	for _, wk := range w {
		wsum += wk
	}
	best, bj := math.Inf(-1), 0
	for j, xj := range samples {
		var s float64
		for k, xk := range samples {
			agree := 0
			for i := range xj {
				if xj[i] == xk[i] {
					agree++
				}
			}
			s += w[k] * float64(agree) / float64(L)
		}
		s /= wsum
		if s > best {
			best, bj = s, j
		}
	}
	return bj, best
}
