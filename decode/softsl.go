package decode

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/hybrid"
	"github.com/softdiff/softdiff/soft"
)

// Rate decides how the step Δ is shared among positions.
type Rate int

const (
	// RateUniform: every uncommitted position gets Δ.
	RateUniform Rate = iota
	// RateEntropy: Δ_i = Δ·w_i, w_i ∝ 1 + β(1 − H(m_i)/log V) normalised to
	// mean 1 over uncommitted positions: low-entropy positions localise first.
	RateEntropy
	// RateConfidence: w_i ∝ 1 + β·max_v m_i(v), normalised to mean 1.
	RateConfidence
)

// String returns "uniform", "entropy", "confidence", or "Rate(n)".
func (r Rate) String() string {
	switch r {
	case RateUniform:
		return "uniform"
	case RateEntropy:
		return "entropy"
	case RateConfidence:
		return "confidence"
	}
	return fmt.Sprintf("Rate(%d)", int(r))
}

// CommitPolicy decides when evidence becomes identity.
type CommitPolicy int

const (
	// CommitNever commits nothing until the final decode.
	CommitNever CommitPolicy = iota
	// CommitEntropy commits a position once its belief entropy falls below
	// CommitThreshold (nats).
	CommitEntropy
	// CommitLocalised commits a position once its evidence alone is
	// localised: max_v softmax(λ_i)(v) ≥ 1 − CommitThreshold.
	CommitLocalised
)

// String returns "never", "entropy", "localised", or "CommitPolicy(n)".
func (c CommitPolicy) String() string {
	switch c {
	case CommitNever:
		return "never"
	case CommitEntropy:
		return "entropy"
	case CommitLocalised:
		return "localised"
	}
	return fmt.Sprintf("CommitPolicy(%d)", int(c))
}

// SoftSL is the stochastic-localisation sampler: the Gaussian-channel
// observation process of stochastic localisation (El Alaoui, Montanari &
// Sellke 2022, "Sampling from the Sherrington–Kirkpatrick Gibbs measure via
// algorithmic stochastic localization"; Montanari 2023, "Sampling,
// diffusions, and stochastic localization"), the same family as discrete
// Bayesian Flow Networks (Graves et al. 2023). Each position holds
// log-evidence λ_i (a hybrid.State); one step on the SNR grid τ_k → τ_{k+1},
// Δ = τ_{k+1} − τ_k, reads the beliefs m_i = E[onehot(x_i) | evidence] from
// the denoiser and updates every uncommitted position
//
//	λ_i ← λ_i + Δ_i·m_i + sqrt(Δ_i)·ε_i,   ε_i ~ N(0, I) over the tokens,
//
// which is exact observation y(τ) = τ·onehot(x) + W(τ) of a joint sample x
// in the limit Δ → 0: λ_i is the log-likelihood of x_i given y_i. The commit
// policy turns evidence into identity by drawing x_i from its belief m_i —
// also exact, since p(x_i | y)·p(x_−i | x_i, y) = p(x | y) — after which the
// position is hard evidence (positions in increasing order). After
// n = Options.Steps − 1 refinements, one more denoiser call gives the final
// beliefs and every uncommitted position is drawn from its belief in
// parallel (argmax with FinalArgmax; a joint decode with Options.Final).
// The noise of a refinement is drawn from per-block streams seeded from the
// run's stream, so it does not depend on Options.Workers.
//
// Options: Steps is the total number of denoiser calls (n + 1; Steps 1 is
// one fully parallel hard step); BlockLen is not used; NoEntropy has no
// effect (rates, commit policy and the information grid read entropies).
//
// Grid places the n refinements on SNR time from 0 to TMax; nil means
// GridUniform; GridInfo is recomputed from the first beliefs; a TimesGrid
// ends where its last point is. TMax 0 means 4·log(V) + 4 (V tokens): at
// SNR τ the log-odds between the true token and another is N(τ, 2τ), so
// τ ≫ 4 log V localises. RateStrength 0 means 1. TMax, RateStrength and
// CommitThreshold must be finite and ≥ 0 (NaN and +Inf are errors, so an
// infinite rate strength cannot turn the weights into NaN).
type SoftSL struct {
	Grid            Grid
	TMax            float64
	Rate            Rate
	RateStrength    float64
	Commit          CommitPolicy
	CommitThreshold float64
	FinalArgmax     bool
}

// Name implements Algorithm: "SL-" and the grid's name, then "-entropyrate"
// or "-confrate" for a non-uniform rate and "-entropycommit" or
// "-localcommit" for a commit policy.
func (m SoftSL) Name() string {
	n := "SL-" + gridName(m.Grid)
	switch m.Rate {
	case RateUniform:
	case RateEntropy:
		n += "-entropyrate"
	case RateConfidence:
		n += "-confrate"
	default:
		n += "-" + m.Rate.String()
	}
	switch m.Commit {
	case CommitNever:
	case CommitEntropy:
		n += "-entropycommit"
	case CommitLocalised:
		n += "-localcommit"
	default:
		n += "-" + m.Commit.String()
	}
	return n
}

// slBlock is the number of rows per parallel block of the SL update.
const slBlock = 16

type slRun struct {
	SoftSL
	r     *Run
	st    *hybrid.State
	n     int       // refinement steps
	grid  []float64 // τ_0..τ_n
	tdif  []float64 // diffusion time handed to the denoiser, 1 → 0
	w     []float64 // per-position rate weights
	pcg   []*rand.PCG
	noise [][]float32 // per block: the Gaussian draws of one row
	seed  uint64
	delta float64
	ntok  int
	upd   func(b, lo, hi int) // bound once: no allocation per step
	evFn  func(b, lo, hi int)
	errs  []error // per block
	info  *infoCurve
}

func (m SoftSL) validate(K int) (SoftSL, error) {
	if m.Rate < RateUniform || m.Rate > RateConfidence || m.Commit < CommitNever || m.Commit > CommitLocalised {
		return m, fmt.Errorf("unknown rate %v or commit policy %v", m.Rate, m.Commit)
	}
	// Each setting on its own: a sum of them would hide an infinite value
	// (+Inf + x is not NaN) or overflow for finite ones.
	if !(m.TMax >= 0 && m.RateStrength >= 0 && m.CommitThreshold >= 0) ||
		math.IsInf(m.TMax, 1) || math.IsInf(m.RateStrength, 1) || math.IsInf(m.CommitThreshold, 1) {
		return m, errors.New("negative, infinite or NaN TMax, RateStrength or CommitThreshold")
	}
	if m.TMax == 0 {
		m.TMax = 4*math.Log(float64(K-1)) + 4
	}
	if m.RateStrength == 0 {
		m.RateStrength = 1
	}
	if m.Commit != CommitNever && m.CommitThreshold == 0 {
		return m, errors.New("a commit policy needs CommitThreshold > 0")
	}
	return m, nil
}

// Start implements Algorithm.
func (m SoftSL) Start(r *Run) (Stepper, error) { return m.newRun(r) }

func (m SoftSL) newRun(r *Run) (*slRun, error) {
	K := r.Vocab().Size()
	m, err := m.validate(K)
	if err != nil {
		return nil, err
	}
	r.NeedEntropy() // rates, commit policy and the information grid read entropies
	L := r.Len()
	st := hybrid.New(L, K, r.Mask())
	s := &slRun{SoftSL: m, r: r, st: st, n: r.Steps() - 1, w: make([]float64, L), ntok: K - 1}
	for i := 0; i < L; i++ {
		if r.IsFixed(i) {
			st.Commit(i, r.Token(i))
		}
	}
	if s.grid, err = times(m.Grid, s.n, 0, m.TMax); err != nil {
		return nil, err
	}
	s.TMax = s.grid[s.n]
	if s.tdif, err = times(GridUniform, s.n, 1, 0); err != nil {
		return nil, err
	}
	nb := soft.Blocks(L, slBlock)
	for b := 0; b < nb; b++ {
		s.pcg = append(s.pcg, rand.NewPCG(0, 0))
		s.noise = append(s.noise, make([]float32, K-1))
	}
	s.upd, s.evFn = s.updateBlock, s.evidenceBlock
	s.errs = make([]error, nb)
	if _, ok := m.Grid.(InfoGrid); ok {
		c := newInfoCurve(K)
		s.info = &c
	}
	return s, nil
}

// writeEvidence writes the evidence row of every uncommitted free position.
func (s *slRun) writeEvidence() error {
	soft.ForBlocks(s.r.Len(), slBlock, s.r.Options().Workers, s.evFn)
	for _, err := range s.errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// evidenceBlock writes the evidence rows of the uncommitted free positions
// in [lo, hi), recording the first error of the block.
func (s *slRun) evidenceBlock(b, lo, hi int) {
	r := s.r
	s.errs[b] = nil
	for i := lo; i < hi; i++ {
		if !r.IsFixed(i) && r.Masked(i) {
			if err := s.st.EvidenceRow(r.Evidence(i), i); err != nil {
				s.errs[b] = err
				return
			}
		}
	}
}

// commit gives position i the identity v (a token drawn from its belief).
func (s *slRun) commit(i int, v int32) {
	s.st.Commit(i, v)
	s.r.SetToken(i, v)
}

// beliefsStep writes the evidence, calls the denoiser and records the
// step's mean entropy.
func (s *slRun) beliefsStep(t float64) error {
	r := s.r
	if err := s.writeEvidence(); err != nil {
		return err
	}
	if err := r.Denoise(t); err != nil {
		return err
	}
	r.MeanEntropy()
	return nil
}

// applyCommitPolicy commits the positions the policy selects.
func (s *slRun) applyCommitPolicy() {
	r := s.r
	rng, bel := r.Rand(), r.Beliefs()
	switch s.Commit {
	case CommitEntropy:
		for _, i := range r.Free() {
			if r.Masked(i) && r.Entropy(i) < s.CommitThreshold {
				s.commit(i, soft.Sample(rng, bel.Row(i)))
			}
		}
	case CommitLocalised:
		for _, i := range r.Free() {
			if r.Masked(i) && s.st.HasEvidence(i) && s.st.Localisation(i) >= 1-s.CommitThreshold {
				s.commit(i, soft.Sample(rng, bel.Row(i)))
			}
		}
	}
}

// rates fills s.w for the uncommitted positions.
func (s *slRun) rates() {
	r := s.r
	var sum float64
	n := 0
	logV := math.Log(float64(s.ntok))
	bel := r.Beliefs()
	for _, i := range r.Free() {
		if !r.Masked(i) {
			continue
		}
		w := 1.0
		switch s.Rate {
		case RateEntropy:
			w = 1 + s.RateStrength*max(0, 1-r.Entropy(i)/logV)
		case RateConfidence:
			p := bel.Row(i)
			w = 1 + s.RateStrength*float64(p[soft.Argmax(p)])
		}
		s.w[i] = w
		sum += w
		n++
	}
	if n == 0 {
		return
	}
	mean := sum / float64(n)
	for _, i := range r.Free() {
		if r.Masked(i) {
			s.w[i] /= mean
		}
	}
}

// updateBlock applies the SL update to the uncommitted free rows in [lo, hi).
// The K−1 Gaussian draws of a row (its token columns in order, MASK
// skipped) come from the block's stream by draw.Normals, row after row; the
// update is in float32: λ_v += float32(Δ_i)·m_v + float32(√Δ_i)·ε_v.
func (s *slRun) updateBlock(b, lo, hi int) {
	r := s.r
	src := s.pcg[b]
	src.Seed(soft.StreamSeed(s.seed, b))
	z := s.noise[b]
	mask := int(r.Mask())
	bel := r.Beliefs()
	for i := lo; i < hi; i++ {
		if r.IsFixed(i) || !r.Masked(i) {
			continue
		}
		d := s.delta * s.w[i]
		draw.Normals(z, src)
		lam, m := s.st.Row(i), bel.Row(i)
		d32, sd32 := float32(d), float32(math.Sqrt(d))
		draw.AddScaled2(lam[:mask], m[:mask], z[:mask], d32, sd32)
		draw.AddScaled2(lam[mask+1:], m[mask+1:], z[mask:], d32, sd32)
	}
}

func (s *slRun) refine(k int) {
	r := s.r
	s.rates()
	s.delta = s.grid[k+1] - s.grid[k]
	s.seed = r.Rand().Uint64()
	soft.ForBlocks(r.Len(), slBlock, r.Options().Workers, s.upd)
	for _, i := range r.Free() {
		if r.Masked(i) {
			s.st.MarkEvidence(i)
		}
	}
}

func (s *slRun) Step(k int) (bool, error) {
	r := s.r
	r.SetTau(s.grid[min(k, s.n)])
	if err := s.beliefsStep(s.tdif[min(k, s.n)]); err != nil {
		return false, err
	}
	if k >= s.n { // final parallel draw
		rng, bel := r.Rand(), r.Beliefs()
		for _, i := range r.Free() {
			if r.Masked(i) {
				p := bel.Row(i)
				if s.FinalArgmax {
					s.commit(i, soft.Argmax(p))
				} else {
					s.commit(i, soft.Sample(rng, p))
				}
			}
		}
		return true, nil
	}
	if k == 0 && s.info != nil {
		s.info.grid(s.grid, s.TMax, r, r.Rand().Uint64())
	}
	s.applyCommitPolicy()
	s.refine(k)
	return r.NumCommitted() == r.Len(), nil
}
