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
	lid  []int32   // filteredList: kept tokens, increasing
	lval []float32 // filteredList: their filtered probabilities
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
		d.lid = make([]int32, K)
		d.lval = make([]float32, K)
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

// temper writes p^(1/T) (draw.Sharpen) into d.q, or p itself for
// Temperature 0 or 1; pmax is the largest entry of p, and it returns the
// largest entry of d.q (draw.SharpenMax: the same row as Sharpen).
func (d *dreamRun) temper(p []float32, pmax float32) float32 {
	if d.Temperature > 0 && d.Temperature != 1 {
		return draw.SharpenMax(d.q, p, d.Temperature, pmax)
	}
	copy(d.q, p)
	return pmax
}

// top16 is the first step of top-p on d.q, whose largest entry is qmax: the
// 16 largest entries (ties to
// the smaller index, soft.TopK) into d.ord/d.oval, and keep, the number of
// them that the rule keeps (a token is kept while the mass before it is
// ≤ TopP), or −1 when the mass of all of them before the last is ≤ TopP
// (the nucleus may extend past them). It returns the selection's length
// min(16, K).
func (d *dreamRun) top16(qmax float32) (keep, k int) {
	q := d.q
	k = min(16, len(q))
	// The walk below keeps fewer than k tokens only if the mass of the
	// first k − 1 ≤ 15 of them exceeds TopP; that mass is at most 15·max q
	// (times 1 + 15·2⁻⁵³ for the float64 rounding of 15 additions), so when
	// 15·max q·(1 + 1e-13) ≤ TopP the walk would return −1 and the
	// selection can be skipped.
	if k == 16 && 15*float64(qmax)*(1+1e-13) <= d.TopP {
		return -1, k
	}
	ids, vals := d.ord[:k], d.oval[:k]
	soft.TopK(ids, vals, q)
	var c float64
	keep = -1
	for j, x := range vals {
		if c > d.TopP {
			keep = j
			break
		}
		c += float64(x)
	}
	return keep, k
}

// filtered writes Dream's filtered distribution of p into d.q.
func (d *dreamRun) filtered(p []float32) {
	q := d.q
	qmax := d.temper(p, p[soft.Argmax(p)])
	changed := false
	if d.ord != nil {
		// Top-p: keep tokens in decreasing order while the mass before them
		// is ≤ TopP. The kept set is found by a top-16 selection when the
		// nucleus is small, else by a weighted selection in O(K).
		keep, k := d.top16(qmax)
		switch {
		case keep >= 0: // the nucleus lies within the top 16
			clear(q)
			for j, v := range d.ord[:keep] {
				q[v] = d.oval[j]
			}
			changed = true
		case k < len(q): // a larger nucleus: weighted selection, O(K)
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

// filteredList is filtered for top-p without top-k (pmax the largest entry
// of p), returning the filtered
// distribution as a list: it writes the kept tokens in increasing order to
// d.lid[:n] and their filtered probabilities to d.lval[:n] and returns n;
// or, when top-p zeroes nothing (so filtered would not renormalise either),
// it returns −1 and leaves the row in d.q, as filtered does.
//
// The list holds exactly the nonzero entries of filtered's row (and, in
// the top-16 case, possibly kept zeros), with the same float32 values:
//
//   - the kept set is filtered's: the same tempered row d.q, the same
//     top-16 selection and walk (top16), or draw.NucleusList, which keeps
//     draw.Nucleus's set (the same threshold and cut rule);
//   - the normaliser is the float64 sum of the kept values in increasing
//     index order, which is filtered's sum over the whole row in index
//     order, since filtered's other entries are +0 and adding +0 leaves a
//     float64 sum unchanged; so inv, and each value·inv, are the same bits.
//
// Hence soft.Sample on the list draws the same token from the same variate
// (its total and running sums add the same positive values in the same
// order; zeros are skipped by both), and so does draw.SampleList, and draw.EntropyList gives the same
// bits as draw.Entropy on the whole row in the default build, and the
// same value within entropyVec's tolerance in the simd build
// (TestDreamListMatches).
// It saves the passes over the K − n zeros: the clear, the normaliser and
// scaling passes, Sample's two passes and the entropy pass.
func (d *dreamRun) filteredList(p []float32, pmax float32) int {
	q := d.q
	qmax := d.temper(p, pmax)
	ids, vals := d.lid, d.lval
	var n int
	var sum float64
	switch keep, k := d.top16(qmax); {
	case keep >= 0:
		n = keep
		copy(ids, d.ord[:n])
		copy(vals, d.oval[:n])
		// insertion sort by token (n ≤ 16)
		for a := 1; a < n; a++ {
			for b := a; b > 0 && ids[b] < ids[b-1]; b-- {
				ids[b], ids[b-1] = ids[b-1], ids[b]
				vals[b], vals[b-1] = vals[b-1], vals[b]
			}
		}
		for _, x := range vals[:n] {
			sum += float64(x)
		}
	case k < len(q):
		var changed bool
		if n, sum, changed = draw.NucleusList(q, qmax, d.TopP, d.oval, ids, vals); !changed {
			return -1
		}
	default:
		return -1
	}
	inv := float32(1 / sum)
	for j := range vals[:n] {
		vals[j] *= inv
	}
	return n
}

// listable reports whether Step may use filteredList: top-p filtering, no
// top-k, a positive temperature, and a rule that needs no more of the row
// than the drawn token's probability (not DreamTopKMargin).
func (d *dreamRun) listable() bool {
	return d.ord != nil && d.kids == nil && d.Temperature > 0 && d.Alg != DreamTopKMargin
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
	list := s.listable()
	for _, i := range idx {
		if list {
			p := r.BeliefRow(i)
			if n := s.filteredList(p, p[r.Argmax(i)]); n >= 0 {
				// the same token, probability and entropy as the row path
				// below (see filteredList)
				j := draw.SampleList(rng, s.lval[:n])
				s.cand[i] = s.lid[j]
				switch s.Alg {
				case DreamMaskGitPlus:
					s.key[i] = float64(s.lval[j])
				case DreamEntropy:
					s.key[i] = -draw.EntropyList(s.lid[:n], s.lval[:n], len(s.q))
				}
				continue
			}
		}
		var q []float32 // the whole row, when the rule needs it (nil: read through r)
		switch {
		case list: // filteredList left the tempered row in s.q
			q = s.q
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
