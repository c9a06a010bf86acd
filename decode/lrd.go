package decode

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/soft"
)

// LRD is latent refinement decoding (Zhu et al. 2025, "Latent Refinement
// Decoding: Enhancing Diffusion-Based Language Models by Refining Belief
// States", arXiv 2510.11052), in softdiff's evidence language. LRD's soft
// input for an undecided position is ẽ_i = (1 − α_i)·e_MASK + α_i·Σ_{v ∈
// top-p} p̄_i(v)·e_v with α_i = r_f·(1 − H(p_i)/log V): here the evidence row
// with MASK mass 1 − α_i and token mass α_i·p̄_i(v) (p̄_i the belief
// renormalised on its top-p nucleus, draw.Nucleus), i.e. the
// virtual-evidence likelihood α_i·p̄_i(v) + 1 − α_i.
//
// Note that this feeds beliefs back as inputs, not evidence: the belief
// p_i already contains the prior and every other position's evidence, so
// read as evidence it counts them twice. Under an exact oracle LRD therefore
// sharpens towards modes rather than sampling the joint; that is the
// published rule, kept as is.
//
// Phase 1 refines the soft inputs of all undecided positions until the mean
// KL(p_k ‖ p_{k+1}) between successive beliefs falls below Tol (at most
// MaxRefine calls). Phase 2 commits, each step, the lowest-entropy undecided
// position (the smaller position on ties; argmax, or a sample at
// Temperature), refreshes the others' soft inputs, and once the mean KL
// falls below Tol, or the NFE reaches Options.Steps, commits all remaining
// positions at once (in increasing order). Zero values mean RF 0.5, TopP
// 0.9, Tol 1e-3, MaxRefine Steps/4 (at least 1). RF and TopP lie in
// [0, 1], Tol and Temperature are finite and ≥ 0, MaxRefine ≥ 0.
//
// Options: Steps is the NFE at which phase 2 commits everything left (a
// cap; a run may stop earlier on the KL rule) and sets MaxRefine's default;
// BlockLen is not used; NoEntropy has no effect (the rule reads entropies).
type LRD struct {
	RF, TopP, Tol float64
	MaxRefine     int
	Temperature   float64
}

// Name implements Algorithm.
func (m LRD) Name() string { return "LRD" }

type lrdRun struct {
	LRD
	r       *Run
	phase1  int // refinement calls done
	prev    *soft.Dense
	have    bool
	scratch []float32
	rows    []int // meanKL: the undecided positions
	done1   bool
}

// Start implements Algorithm.
func (m LRD) Start(r *Run) (Stepper, error) {
	if !(m.RF >= 0 && m.RF <= 1 && m.TopP >= 0 && m.TopP <= 1 && m.Tol >= 0 && m.Temperature >= 0) || m.MaxRefine < 0 || math.IsInf(m.Tol, 1) || math.IsInf(m.Temperature, 1) {
		return nil, fmt.Errorf("bad LRD setting %+v", m)
	}
	if m.RF == 0 {
		m.RF = 0.5
	}
	if m.TopP == 0 {
		m.TopP = 0.9
	}
	if m.Tol == 0 {
		m.Tol = 1e-3
	}
	if m.MaxRefine == 0 {
		m.MaxRefine = max(1, r.Steps()/4)
	}
	r.NeedEntropy() // LRD commits the lowest-entropy position
	K := r.Vocab().Size()
	return &lrdRun{LRD: m, r: r, prev: soft.NewDense(r.Len(), K), scratch: make([]float32, K)}, nil
}

// softInput writes LRD's soft input for undecided position i from belief p.
func (s *lrdRun) softInput(i int, p []float32) {
	r := s.r
	row := r.Evidence(i)
	h := r.Entropy(i) // computed with the belief check
	alpha := s.RF * max(0, 1-h/math.Log(float64(r.Vocab().Size()-1)))
	// nucleus: in decreasing order, tokens while the mass before them is
	// ≤ TopP (the rule of Dream's top-p; the boundary token is kept);
	// draw.NucleusWeights writes alpha·p_v/c on it and 0 elsewhere, c the
	// nucleus's mass: in the default build the bits of copying p, cutting
	// it with draw.Nucleus, summing the row in index order and scaling it.
	draw.NucleusWeights(row, p, p[r.Argmax(i)], s.TopP, alpha, s.scratch)
	row[r.Mask()] += float32(1 - alpha)
}

// meanKL returns the mean KL(prev ‖ bel) over undecided positions, or an
// upper bound on it below Tol (meanKLBelow).
func (s *lrdRun) meanKL() float64 {
	r := s.r
	s.rows = s.rows[:0]
	for _, i := range r.Free() {
		if r.Masked(i) {
			s.rows = append(s.rows, i)
		}
	}
	return meanKLBelow(s.prev, r.Beliefs(), s.rows, s.Tol)
}

// meanKLBelow returns the mean over rows of KL(prev row ‖ bel row), or,
// where that mean is certainly below tol, an upper bound on it that is
// below tol: LRD only compares it with Tol, so the comparison, and the
// run, are the same as with the mean itself.
//
// The bound: soft.KLBound bounds each row's KL as soft.KL computes it
// (B_i ≥ KL_i), in a pass with no logarithm (a few times cheaper). The sum
// of n non-negative float64 terms is within n·2⁻⁵³ relative of the exact
// one, so fl(Σ KL_i) ≤ fl(Σ B_i)·(1 + 3n·2⁻⁵³); when fl(Σ B_i)·(1 + 1e-9)
// < tol·n (n < 10⁶ rows, so that 3n·2⁻⁵³ and the roundings of the two
// products are far below 1e-9) the computed mean fl(fl(Σ KL_i)/n) is
// below tol. Otherwise the KLs are computed (TestMeanKLBelow).
func meanKLBelow(prev, bel *soft.Dense, rows []int, tol float64) float64 {
	if len(rows) == 0 {
		return 0
	}
	n := float64(len(rows))
	var ub float64
	for _, i := range rows {
		ub += soft.KLBound(prev.Row(i), bel.Row(i))
	}
	if ub*(1+1e-9) < tol*n {
		return ub / n
	}
	var sum float64
	for _, i := range rows {
		sum += soft.KL(prev.Row(i), bel.Row(i))
	}
	return sum / n
}

func (s *lrdRun) Step(k int) (bool, error) {
	r := s.r
	if err := r.Denoise(float64(r.NumMasked()) / float64(len(r.Free()))); err != nil {
		return false, err
	}
	r.MeanEntropy()
	kl := math.Inf(1)
	if s.have {
		kl = s.meanKL()
	}
	s.prev.CopyFrom(r.Beliefs())
	s.have = true
	if !s.done1 {
		s.phase1++
		if kl < s.Tol || s.phase1 >= s.MaxRefine {
			s.done1 = true
		}
	} else {
		if kl < s.Tol || r.NFE() >= r.Steps() {
			for _, i := range r.Free() {
				if r.Masked(i) {
					r.SetToken(i, r.Candidate(i, s.Temperature))
				}
			}
			return true, nil
		}
		best, bh := -1, math.Inf(1)
		for _, i := range r.Free() {
			if r.Masked(i) {
				if h := r.Entropy(i); h < bh {
					best, bh = i, h
				}
			}
		}
		r.SetToken(best, r.Candidate(best, s.Temperature))
	}
	bel := r.Beliefs()
	for _, i := range r.Free() {
		if r.Masked(i) {
			s.softInput(i, bel.Row(i))
		}
	}
	return r.NumCommitted() == r.Len(), nil
}
