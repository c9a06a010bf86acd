package decode

import (
	"errors"
	"fmt"

	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/soft"
)

// DreamAlg is Dream's rule for which positions to unmask.
type DreamAlg int

const (
	// DreamEntropy ranks positions by negative entropy −H (Dream's default).
	DreamEntropy DreamAlg = iota
	// DreamMaskGitPlus ranks by the probability of the drawn token.
	DreamMaskGitPlus
	// DreamTopKMargin ranks by the gap between the two largest probabilities.
	DreamTopKMargin
	// DreamOrigin unmasks each position independently with probability 1 − s/t.
	DreamOrigin
)

// String returns Dream's name of the rule ("entropy", "maskgit_plus",
// "topk_margin", "origin"), or "DreamAlg(n)" for another value.
func (a DreamAlg) String() string {
	switch a {
	case DreamEntropy:
		return "entropy"
	case DreamMaskGitPlus:
		return "maskgit_plus"
	case DreamTopKMargin:
		return "topk_margin"
	case DreamOrigin:
		return "origin"
	}
	return fmt.Sprintf("DreamAlg(%d)", int(a))
}

// Dream is the sampler of Dream 7B (Ye et al. 2025, arXiv 2508.15487;
// generation_utils.py). Time grid from 1 to Eps (linspace(1, Eps, Steps+1)
// by default). Each masked position gets a token from its belief after
// temperature (p^(1/T)), top-p (smallest prefix of the sorted distribution
// whose mass before the token is at most TopP) and top-k filtering, argmax
// when Temperature is 0; its confidence is computed on that filtered
// distribution. DreamOrigin unmasks each masked position with probability
// 1 − s/t (1 on the last step); the confidence algorithms commit
// k = ⌊M·(1 − s/t)⌋ of the M masked positions (all on the last step): the k
// most confident (ties to the smaller position), or, when AlgTemp > 0, k
// drawn without replacement from softmax(confidence/AlgTemp) (drawn here by
// the Gumbel-top-k trick, which has that law). Positions are visited in
// increasing order.
//
// Options: Steps is the number of grid steps (= denoiser calls); BlockLen
// is not used; NoEntropy drops the per-step entropy statistic (DreamEntropy
// computes entropies anyway).
//
// The zero value is greedy (Temperature 0) entropy ordering with no
// filtering; DreamDefaults returns Dream's published defaults.
type Dream struct {
	Alg DreamAlg
	// Temperature is ≥ 0: 0 means argmax; +Inf draws uniformly from the
	// belief's support (p^(1/T) = 1 there).
	Temperature float64
	TopP        float64 // ≥ 0: in (0, 1) to filter; 0 or ≥ 1 (+Inf included): none
	TopK        int     // ≥ 0: in (0, K) to filter (K the vocabulary size, MASK included); 0 or ≥ K: none
	// AlgTemp is ≥ 0: 0 means the most confident; +Inf a uniformly random
	// set (the key confidence/AlgTemp + Gumbel is the Gumbel alone).
	AlgTemp float64
	Eps     float64 // final time of the grid, in [0, 1); 0 means 1e-3
	// Grid places the steps on diffusion time from 1 to Eps; nil means
	// GridUniform.
	Grid Grid
}

// DreamDefaults returns Dream's published defaults: entropy ordering,
// temperature 0.2, top-p 0.95 (steps 512 is Options.Steps).
func DreamDefaults() Dream { return Dream{Alg: DreamEntropy, Temperature: 0.2, TopP: 0.95} }

// Name implements Algorithm.
func (m Dream) Name() string { return "Dream-" + m.Alg.String() }

type dreamRun struct {
	Dream
	r    *Run
	t    []float64
	idx  []int
	key  []float64
	cand []int32
	q    []float32 // filtered distribution of one row
	ord  []int32   // top-p scratch: ids
	oval []float32 // top-p scratch: values
	kids []int32
	kval []float32
}

// Start implements Algorithm.
func (m Dream) Start(r *Run) (Stepper, error) {
	if m.Alg < DreamEntropy || m.Alg > DreamOrigin {
		return nil, fmt.Errorf("unknown Dream algorithm %v", m.Alg)
	}
	// Each field on its own (NaN fails every comparison); +Inf is accepted
	// where the type's doc gives it a meaning.
	if !(m.Temperature >= 0) || !(m.AlgTemp >= 0) || !(m.TopP >= 0) || m.TopK < 0 || !(m.Eps >= 0 && m.Eps < 1) {
		return nil, errors.New("negative or NaN Temperature, AlgTemp, TopP or TopK, or Eps outside [0, 1)")
	}
	if m.Eps == 0 {
		m.Eps = 1e-3
	}
	if m.Alg == DreamEntropy {
		r.NeedEntropy() // the plain path reads the check's entropies
	}
	t, err := times(m.Grid, r.Steps(), 1, m.Eps)
	if err != nil {
		return nil, err
	}
	L, K := r.Len(), r.Vocab().Size()
	d := &dreamRun{Dream: m, r: r, t: t, idx: make([]int, 0, L), key: make([]float64, L), cand: make([]int32, L), q: make([]float32, K)}
	if m.TopP > 0 && m.TopP < 1 {
		d.ord = make([]int32, K)
		d.oval = make([]float32, K)
	}
	if m.TopK > 0 && m.TopK < K {
		d.kids = make([]int32, m.TopK)
		d.kval = make([]float32, m.TopK)
	}
	return d, nil
}

// plain reports whether the filter is the identity (temperature 0 or 1,
// no top-p, no top-k), so the belief row is used as it is.
func (d *dreamRun) plain() bool {
	return (d.Temperature == 0 || d.Temperature == 1) && d.ord == nil && d.kids == nil
}

// filtered writes Dream's filtered distribution of p into d.q.
func (d *dreamRun) filtered(p []float32) {
	q := d.q
	if d.Temperature > 0 && d.Temperature != 1 {
		draw.Sharpen(q, p, d.Temperature)
	} else {
		copy(q, p)
	}
	changed := false
	if d.ord != nil {
		// Top-p: keep tokens in decreasing order while the mass before them
		// is ≤ TopP. The kept set is found by a top-16 selection when the
		// nucleus is small, else by a weighted selection in O(K).
		K := len(q)
		k := min(16, K)
		ids, vals := d.ord[:k], d.oval[:k]
		soft.TopK(ids, vals, q)
		var c float64
		keep := -1
		for j, x := range vals {
			if c > d.TopP {
				keep = j
				break
			}
			c += float64(x)
		}
		switch {
		case keep >= 0: // the nucleus lies within the top 16
			clear(q)
			for j, v := range ids[:keep] {
				q[v] = vals[j]
			}
			changed = true
		case k < K: // a larger nucleus: weighted selection, O(K)
			changed = draw.Nucleus(q, d.TopP, d.oval)
		}
	}
	if d.kids != nil {
		soft.TopK(d.kids, d.kval, q)
		clear(q)
		for a, v := range d.kids {
			q[v] = d.kval[a]
		}
		changed = true
	}
	if changed {
		var sum float64
		for _, x := range q {
			sum += float64(x)
		}
		inv := float32(1 / sum)
		for v := range q {
			q[v] *= inv
		}
	}
}

func (s *dreamRun) Step(k int) (bool, error) {
	r := s.r
	N := r.Steps()
	t, u := s.t[k], s.t[k+1]
	last := k >= N-1
	s.idx = maskedIn(s.idx, r, 0, len(r.Free()))
	idx := s.idx
	if err := r.Denoise(t); err != nil {
		return false, err
	}
	r.MeanEntropy()
	frac := 1 - u/t
	if last {
		frac = 1
	}
	rng := r.Rand()
	plain := s.plain()
	for _, i := range idx {
		var q []float32 // the whole row, when the rule needs it (nil: read through r)
		switch {
		case !plain:
			s.filtered(r.BeliefRow(i))
			q = s.q
		case s.Temperature > 0:
			q = r.BeliefRow(i)
		}
		var x0 int32
		switch {
		case s.Temperature > 0:
			x0 = soft.Sample(rng, q)
		case plain:
			x0 = r.Argmax(i)
		default:
			x0 = soft.Argmax(q)
		}
		s.cand[i] = x0
		switch s.Alg {
		case DreamMaskGitPlus:
			if q != nil {
				s.key[i] = float64(q[x0])
			} else {
				s.key[i] = r.Prob(i, x0)
			}
		case DreamTopKMargin:
			var gap float32
			if q != nil {
				_, gap = soft.Margin(q)
			} else {
				_, gap = r.Margin(i)
			}
			s.key[i] = float64(gap)
		case DreamEntropy:
			if plain {
				s.key[i] = -r.Entropy(i) // computed with the belief check
			} else {
				s.key[i] = -draw.Entropy(q)
			}
		}
	}
	if s.Alg == DreamOrigin {
		for _, i := range idx {
			if last || rng.Float64() < frac {
				r.SetToken(i, s.cand[i])
			}
		}
		return last, nil
	}
	n := int(float64(len(idx)) * frac)
	if last {
		n = len(idx)
	}
	if s.AlgTemp > 0 {
		for _, i := range idx {
			s.key[i] = s.key[i]/s.AlgTemp + draw.Gumbel(rng)
		}
	}
	draw.TopK(idx, s.key, n)
	for _, i := range idx[:n] {
		r.SetToken(i, s.cand[i])
	}
	return last, nil
}
