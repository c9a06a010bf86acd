package decode

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// hardScratch holds the per-run buffers of the hard samplers.
type hardScratch struct {
	idx  []int     // masked positions of the current step
	key  []float64 // per-position key (confidence), indexed by position
	cand []int32   // per-position candidate token, indexed by position
}

func newHardScratch(L int) hardScratch {
	return hardScratch{idx: make([]int, 0, L), key: make([]float64, L), cand: make([]int32, L)}
}

// masked collects the masked free positions among r.free[lo:hi] into h.idx.
func (h *hardScratch) masked(r *run, lo, hi int) []int {
	h.idx = h.idx[:0]
	for _, i := range r.free[lo:hi] {
		if r.x[i] == r.mask {
			h.idx = append(h.idx, i)
		}
	}
	return h.idx
}

// defaultSchedule is MDLM's log-linear schedule α(t) = 1 − (1−ε)t, ε = 1e-3.
func defaultSchedule(s kernels.Schedule) kernels.Schedule {
	if s == nil {
		return kernels.LogLinear{Eps: kernels.DefaultLogLinearEps}
	}
	return s
}

// ---------------------------------------------------------------- MDLM

// MDLM is ancestral sampling of a masked diffusion model (Sahoo et al. 2024,
// "Simple and Effective Masked Diffusion Language Models";
// kuleshov-group/mdlm). With the SUBS parameterisation a committed position
// is copied unchanged; on the grid t_k = 1 − k/N, a masked position moves
// from t to s < t to token v with probability p(v)·(α_s − α_t)/(1 − α_t) and
// stays masked with probability (1 − α_s)/(1 − α_t), p the denoiser's
// belief. The last step (s = 0) commits every remaining position by sampling
// (MDLM ends its grid at 1e-5 and takes an argmax "noise removal" pass; an
// exact oracle needs neither).
type MDLM struct {
	// Schedule is α(t); nil means the log-linear kernels.LogLinear{Eps: 1e-3}.
	Schedule kernels.Schedule
	// NoCache disables MDLM's cache: by default, when no token changed in a
	// step, the last beliefs are reused without a denoiser call (valid for
	// denoisers that ignore t, as MDLM assumes).
	NoCache bool
}

// Name implements Algorithm.
func (m MDLM) Name() string { return "mdlm" }

type mdlmRun struct {
	MDLM
	r     *run
	sched kernels.Schedule
	fresh bool    // r.bel matches r.ev
	lastH float64 // mean entropy of the last fresh beliefs
}

func (m MDLM) start(r *run) (stepper, error) {
	return &mdlmRun{MDLM: m, r: r, sched: defaultSchedule(m.Schedule)}, nil
}

func (s *mdlmRun) step(k int) (bool, error) {
	r := s.r
	N := r.steps
	t := 1 - float64(k)/float64(N)
	u := 1 - float64(k+1)/float64(N)
	last := k >= N-1
	if !s.fresh || s.NoCache {
		if err := r.denoise(t); err != nil {
			return false, err
		}
		s.lastH = r.meanEntropyMasked()
	} else {
		r.info.T = t
		r.info.MeanEntropy = s.lastH // cached beliefs, unchanged state
	}
	at, _ := s.sched.Alpha(t)
	as, _ := s.sched.Alpha(u)
	pu := 1.0
	if !last && at < 1 {
		pu = (as - at) / (1 - at)
	}
	for _, i := range r.free {
		if r.x[i] != r.mask {
			continue
		}
		if last || r.rng.Float64() < pu {
			r.setTok(i, soft.Sample(r.rng, r.bel.Row(i)))
		}
	}
	s.fresh = r.info.Changed == 0
	return last, nil
}

// ---------------------------------------------------------------- LLaDA

// Remasking is LLaDA's rule for which predicted tokens to keep each step.
type Remasking int

const (
	// LowConfidence keeps the tokens whose predicted probability is highest.
	LowConfidence Remasking = iota
	// RandomRemasking keeps uniformly random positions.
	RandomRemasking
)

// LLaDA is the sampler of LLaDA (Nie et al. 2025, "Large Language Diffusion
// Models"; reference generate.py). The free positions are split into blocks
// of Options.BlockLen, generated left to right (semi-autoregressive), with
// Options.Steps / #blocks steps per block; both divisions must be exact. In a
// block with M masked positions and S steps, step j commits ⌊M/S⌋ tokens plus
// one more in the first M mod S steps (LLaDA's get_num_transfer_tokens). Each
// masked position of the block gets a candidate x0 by the Gumbel-max rule at
// Temperature (argmax at 0; drawn here as the equivalent sample from
// p^(1/T)); its confidence is p(x0) under the untempered belief
// (LowConfidence) or a uniform variate (RandomRemasking), and the most
// confident are committed, never to be revisited. Positions of later blocks
// are not candidates. (LLaDA's EOS-suppression bug, ML-GSAI/LLaDA#137, has
// no counterpart: nothing is altered after x0 is drawn.)
type LLaDA struct {
	Remasking   Remasking
	Temperature float64
}

// Name implements Algorithm.
func (m LLaDA) Name() string {
	if m.Remasking == RandomRemasking {
		return "llada-random"
	}
	return "llada-lowconf"
}

type blocks struct {
	n, blen int // number of blocks, block length (over r.free)
}

func newBlocks(r *run, exact bool) (blocks, error) {
	nf := len(r.free)
	bl := r.opts.BlockLen
	if bl == 0 || bl > nf {
		bl = nf
	}
	if exact && nf%bl != 0 {
		return blocks{}, fmt.Errorf("%d free positions are not a multiple of BlockLen %d", nf, bl)
	}
	return blocks{n: (nf + bl - 1) / bl, blen: bl}, nil
}

func (b blocks) span(r *run, i int) (lo, hi int) {
	lo = i * b.blen
	return lo, min(lo+b.blen, len(r.free))
}

type lladaRun struct {
	LLaDA
	r      *run
	h      hardScratch
	b      blocks
	spb    int   // steps per block
	counts []int // tokens to commit at each step of the current block
}

func (m LLaDA) start(r *run) (stepper, error) {
	if m.Temperature < 0 || math.IsNaN(m.Temperature) {
		return nil, fmt.Errorf("temperature %v < 0", m.Temperature)
	}
	b, err := newBlocks(r, true)
	if err != nil {
		return nil, err
	}
	if r.steps%b.n != 0 {
		return nil, fmt.Errorf("steps %d are not a multiple of the %d blocks", r.steps, b.n)
	}
	spb := r.steps / b.n
	return &lladaRun{LLaDA: m, r: r, h: newHardScratch(r.L), b: b, spb: spb, counts: make([]int, spb)}, nil
}

// lladaCounts writes LLaDA's per-step commit counts for M masked positions
// over len(dst) steps.
func lladaCounts(dst []int, M int) {
	S := len(dst)
	for j := range dst {
		dst[j] = M / S
		if j < M%S {
			dst[j]++
		}
	}
}

func (s *lladaRun) step(k int) (bool, error) {
	r := s.r
	blk, j := k/s.spb, k%s.spb
	lo, hi := s.b.span(r, blk)
	idx := s.h.masked(r, lo, hi)
	if j == 0 {
		lladaCounts(s.counts, len(idx))
	}
	if err := r.denoise(1 - float64(k)/float64(r.steps)); err != nil {
		return false, err
	}
	r.meanEntropyMasked()
	for _, i := range idx {
		p := r.bel.Row(i)
		x0 := r.candidate(i, s.Temperature)
		s.h.cand[i] = x0
		if s.Remasking == RandomRemasking {
			s.h.key[i] = r.rng.Float64()
		} else {
			s.h.key[i] = float64(p[x0])
		}
	}
	n := s.counts[j]
	selectTopK(idx, s.h.key, n)
	for _, i := range idx[:min(n, len(idx))] {
		r.setTok(i, s.h.cand[i])
	}
	return k >= r.steps-1, nil
}

// ---------------------------------------------------------------- Dream

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

// Dream is the sampler of Dream 7B (Ye et al. 2025, arXiv 2508.15487;
// generation_utils.py). Time grid linspace(1, Eps, Steps+1). Each masked
// position gets a token from its belief after temperature (p^(1/T)), top-p
// (smallest prefix of the sorted distribution whose mass before the token is
// at most TopP) and top-k filtering, argmax when Temperature is 0; its
// confidence is computed on that filtered distribution. DreamOrigin unmasks
// each masked position with probability 1 − s/t (1 on the last step); the
// confidence algorithms commit k = ⌊M·(1 − s/t)⌋ of the M masked positions
// (all on the last step): the k most confident, or, when AlgTemp > 0, k drawn
// without replacement from softmax(confidence/AlgTemp) (drawn here by the
// Gumbel-top-k trick, which has that law).
//
// The zero value is greedy (Temperature 0) entropy ordering with no
// filtering; DreamDefaults returns Dream's published defaults.
type Dream struct {
	Alg         DreamAlg
	Temperature float64
	TopP        float64 // in (0, 1) to filter; 0 or ≥ 1: none
	TopK        int     // > 0 to filter
	AlgTemp     float64
	Eps         float64 // final time of the grid; 0 means 1e-3
}

// DreamDefaults returns Dream's published defaults: entropy ordering,
// temperature 0.2, top-p 0.95 (steps 512 is Options.Steps).
func DreamDefaults() Dream { return Dream{Alg: DreamEntropy, Temperature: 0.2, TopP: 0.95} }

// Name implements Algorithm.
func (m Dream) Name() string {
	switch m.Alg {
	case DreamMaskGitPlus:
		return "dream-maskgit_plus"
	case DreamTopKMargin:
		return "dream-topk_margin"
	case DreamOrigin:
		return "dream-origin"
	}
	return "dream-entropy"
}

type dreamRun struct {
	Dream
	r    *run
	h    hardScratch
	q    []float32 // filtered distribution of one row
	ord  []int32   // top-p scratch: ids
	oval []float32 // top-p scratch: values
	kids []int32
	kval []float32
}

func (m Dream) start(r *run) (stepper, error) {
	if m.Alg < DreamEntropy || m.Alg > DreamOrigin {
		return nil, fmt.Errorf("unknown Dream algorithm %d", m.Alg)
	}
	if m.Temperature < 0 || m.AlgTemp < 0 || m.TopP < 0 || m.TopK < 0 || m.Eps < 0 || m.Eps >= 1 {
		return nil, errors.New("negative Temperature, AlgTemp, TopP or TopK, or Eps outside [0, 1)")
	}
	if m.Eps == 0 {
		m.Eps = 1e-3
	}
	if m.Alg == DreamEntropy {
		r.needEnt = true // the plain path reads the check's entropies
	}
	d := &dreamRun{Dream: m, r: r, h: newHardScratch(r.L), q: make([]float32, r.K)}
	if m.TopP > 0 && m.TopP < 1 {
		d.ord = make([]int32, r.K)
		d.oval = make([]float32, r.K)
	}
	if m.TopK > 0 && m.TopK < r.K {
		d.kids = make([]int32, m.TopK)
		d.kval = make([]float32, m.TopK)
	}
	return d, nil
}

// filtered writes Dream's filtered distribution of p into d.q.
// plain reports whether the filter is the identity (temperature 0 or 1,
// no top-p, no top-k), so the belief row is used as it is.
func (d *dreamRun) plain() bool {
	return (d.Temperature == 0 || d.Temperature == 1) && d.ord == nil && d.kids == nil
}

func (d *dreamRun) filtered(p []float32) {
	q := d.q
	if d.Temperature > 0 && d.Temperature != 1 {
		sharpen(q, p, d.Temperature)
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
			changed = nucleus(q, d.TopP, d.oval)
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

func (s *dreamRun) step(k int) (bool, error) {
	r := s.r
	N := r.steps
	t := 1 - (1-s.Eps)*float64(k)/float64(N)
	u := 1 - (1-s.Eps)*float64(k+1)/float64(N)
	last := k >= N-1
	idx := s.h.masked(r, 0, len(r.free))
	if err := r.denoise(t); err != nil {
		return false, err
	}
	r.meanEntropyMasked()
	frac := 1 - u/t
	if last {
		frac = 1
	}
	for _, i := range idx {
		q := r.bel.Row(i)
		plain := s.plain()
		if !plain {
			s.filtered(q)
			q = s.q
		}
		var x0 int32
		if s.Temperature > 0 {
			x0 = soft.Sample(r.rng, q)
		} else {
			if plain {
				x0 = r.amax[i]
			} else {
				x0 = soft.Argmax(q)
			}
		}
		s.h.cand[i] = x0
		switch s.Alg {
		case DreamMaskGitPlus:
			s.h.key[i] = float64(q[x0])
		case DreamTopKMargin:
			_, gap := soft.Margin(q)
			s.h.key[i] = float64(gap)
		case DreamEntropy:
			if plain {
				s.h.key[i] = -r.ent[i] // computed with the belief check
			} else {
				s.h.key[i] = -entropy(q)
			}
		}
	}
	if s.Alg == DreamOrigin {
		for _, i := range idx {
			if last || r.rng.Float64() < frac {
				r.setTok(i, s.h.cand[i])
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
			s.h.key[i] = s.h.key[i]/s.AlgTemp + gumbel(r.rng)
		}
	}
	selectTopK(idx, s.h.key, n)
	for _, i := range idx[:n] {
		r.setTok(i, s.h.cand[i])
	}
	return last, nil
}

// ---------------------------------------------------------------- Fast-dLLM

// FastDLLM is the parallel decoding rule of Fast-dLLM (Wu et al. 2025,
// "Fast-dLLM: Training-free Acceleration of Diffusion LLM"; NVlabs/Fast-dLLM)
// inside LLaDA's semi-autoregressive blocks (Options.BlockLen). Each step,
// every masked position of the current block gets its candidate (argmax, or
// a sample at Temperature) with confidence c = p(candidate). Threshold rule
// (Factor = 0): commit every candidate with c ≥ Threshold (0 means 0.9), and
// always at least the most confident. Factor rule (Factor > 0): sort
// c(1) ≥ c(2) ≥ …, commit the longest prefix with (k+1)(1 − c(k)) < Factor
// (k from 1), the first always. A block is finished before the next starts;
// Options.Steps is not used (each step commits at least one token).
//
// The rule rests on the paper's Theorem 1: if every committed marginal
// exceeds 1 − ε and (n+1)ε ≤ 1, the product of marginals and the joint have
// the same argmax (tested in this package on random instances).
type FastDLLM struct {
	Threshold   float64
	Factor      float64
	Temperature float64
}

// Name implements Algorithm.
func (m FastDLLM) Name() string {
	if m.Factor > 0 {
		return "fastdllm-factor"
	}
	return "fastdllm-threshold"
}

type fastRun struct {
	FastDLLM
	r   *run
	h   hardScratch
	b   blocks
	blk int
}

func (m FastDLLM) start(r *run) (stepper, error) {
	if m.Threshold < 0 || m.Threshold > 1 || m.Factor < 0 || m.Temperature < 0 {
		return nil, fmt.Errorf("bad Fast-dLLM setting: threshold %v, factor %v, temperature %v", m.Threshold, m.Factor, m.Temperature)
	}
	if m.Threshold == 0 {
		m.Threshold = 0.9
	}
	b, err := newBlocks(r, false)
	if err != nil {
		return nil, err
	}
	return &fastRun{FastDLLM: m, r: r, h: newHardScratch(r.L), b: b}, nil
}

func (s *fastRun) step(k int) (bool, error) {
	r := s.r
	lo, hi := s.b.span(r, s.blk)
	idx := s.h.masked(r, lo, hi)
	for len(idx) == 0 { // a finished block (cannot happen at a block's start, kept for safety)
		if s.blk++; s.blk >= s.b.n {
			return true, nil
		}
		lo, hi = s.b.span(r, s.blk)
		idx = s.h.masked(r, lo, hi)
	}
	masked := 0
	for _, i := range r.free {
		if r.x[i] == r.mask {
			masked++
		}
	}
	if err := r.denoise(float64(masked) / float64(len(r.free))); err != nil {
		return false, err
	}
	r.meanEntropyMasked()
	for _, i := range idx {
		p := r.bel.Row(i)
		x0 := r.candidate(i, s.Temperature)
		s.h.cand[i] = x0
		s.h.key[i] = float64(p[x0])
	}
	var n int
	if s.Factor > 0 {
		n = fastFactorCount(idx, s.h.key, s.Factor)
	} else {
		selectTopK(idx, s.h.key, 1)
		n = 1
		for a := 1; a < len(idx); a++ {
			if s.h.key[idx[a]] >= s.Threshold {
				idx[n], idx[a] = idx[a], idx[n]
				n++
			}
		}
	}
	for _, i := range idx[:n] {
		r.setTok(i, s.h.cand[i])
	}
	if n == len(idx) {
		s.blk++
	}
	return s.blk >= s.b.n, nil
}

// fastFactorCount sorts idx by decreasing key and returns the length of the
// longest prefix with (k+1)(1 − c(k)) < f (k from 1), at least 1.
func fastFactorCount(idx []int, key []float64, f float64) int {
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case key[a] > key[b]:
			return -1
		case key[a] < key[b]:
			return 1
		}
		return a - b
	})
	n := 1
	for n < len(idx) && float64(n+2)*(1-key[idx[n]]) < f {
		n++
	}
	return n
}

// ---------------------------------------------------------------- ReMDM

// ReMDMStrategy is ReMDM's remasking schedule σ_t.
type ReMDMStrategy int

const (
	// ReMDMCap: σ_t = min(η, σ_max), σ_max = min(1, (1 − α_s)/α_t).
	ReMDMCap ReMDMStrategy = iota
	// ReMDMRescale: σ_t = η·σ_max.
	ReMDMRescale
	// ReMDMConf: σ_t(i) = σ_max·softmax over decoded positions of −ψ_i, ψ_i
	// the belief in position i's token when it was decoded.
	ReMDMConf
	// ReMDMLoop: MDLM until α reaches AlphaOn at TOn, then α held at AlphaOn
	// with constant σ = η until TOff, then MDLM to α = 1.
	ReMDMLoop
)

// ReMDM is remasking diffusion sampling (Wang et al. 2025, "Remasking
// Discrete Diffusion Models with Inference-Time Scaling", arXiv 2503.00307;
// kuleshov-group/remdm). On the grid t_k = 1 − k/N, a decoded token is
// re-masked with probability σ_t; a masked position moves to token v with
// probability p(v)·(α_s − (1 − σ_t)α_t)/(1 − α_t) and stays masked with
// probability (1 − α_s − σ_t α_t)/(1 − α_t). Eta 0 means the published
// defaults: 0.008 (cap), 0.015 (rescale), 0.02 (loop). Loop: TOn 0.55, TOff
// 0.05, AlphaOn 0.9 by default, with α linear in t on each MDLM phase
// (α = AlphaOn·(1−t)/(1−TOn) above TOn, 1 − (1−AlphaOn)·t/TOff below TOff).
// For ReMDMConf a masked position has σ = 0 (its confidence counts as +∞).
// Fixed (prompt) positions are never re-masked.
type ReMDM struct {
	Strategy           ReMDMStrategy
	Eta                float64
	TOn, TOff, AlphaOn float64
	// Schedule is α(t) of cap, rescale and conf; nil means log-linear.
	Schedule kernels.Schedule
}

// Name implements Algorithm.
func (m ReMDM) Name() string {
	return [...]string{"remdm-cap", "remdm-rescale", "remdm-conf", "remdm-loop"}[m.Strategy]
}

type remdmRun struct {
	ReMDM
	r     *run
	sched kernels.Schedule
	psi   []float64 // confidence at decode, by position
}

func (m ReMDM) start(r *run) (stepper, error) {
	if m.Strategy < ReMDMCap || m.Strategy > ReMDMLoop {
		return nil, fmt.Errorf("unknown ReMDM strategy %d", m.Strategy)
	}
	if m.Eta == 0 {
		m.Eta = [...]float64{0.008, 0.015, 1, 0.02}[m.Strategy]
	}
	if m.TOn == 0 {
		m.TOn = 0.55
	}
	if m.TOff == 0 {
		m.TOff = 0.05
	}
	if m.AlphaOn == 0 {
		m.AlphaOn = 0.9
	}
	if m.Eta < 0 || !(m.TOff < m.TOn && m.TOn < 1) || m.AlphaOn <= 0 || m.AlphaOn >= 1 {
		return nil, fmt.Errorf("bad ReMDM setting: eta %v, t_on %v, t_off %v, alpha_on %v", m.Eta, m.TOn, m.TOff, m.AlphaOn)
	}
	if m.Strategy == ReMDMLoop && m.Eta > (1-m.AlphaOn)/m.AlphaOn {
		return nil, fmt.Errorf("ReMDM loop: eta %v exceeds (1−α_on)/α_on = %v", m.Eta, (1-m.AlphaOn)/m.AlphaOn)
	}
	return &remdmRun{ReMDM: m, r: r, sched: defaultSchedule(m.Schedule), psi: make([]float64, r.L)}, nil
}

func (s *remdmRun) alpha(t float64) float64 {
	if s.Strategy != ReMDMLoop {
		a, _ := s.sched.Alpha(t)
		return a
	}
	switch {
	case t >= s.TOn:
		return s.AlphaOn * (1 - t) / (1 - s.TOn)
	case t <= s.TOff:
		return 1 - (1-s.AlphaOn)*t/s.TOff
	}
	return s.AlphaOn
}

func (s *remdmRun) step(k int) (bool, error) {
	r := s.r
	N := r.steps
	t := 1 - float64(k)/float64(N)
	u := 1 - float64(k+1)/float64(N)
	last := k >= N-1
	if err := r.denoise(t); err != nil {
		return false, err
	}
	r.meanEntropyMasked()
	at, as := s.alpha(t), s.alpha(u)
	if last {
		as = 1
	}
	smax := 0.0
	if at > 0 {
		smax = min(1, max(0, (1-as)/at))
	}
	var sigma float64
	switch s.Strategy {
	case ReMDMCap:
		sigma = min(s.Eta, smax)
	case ReMDMRescale:
		sigma = s.Eta * smax
	case ReMDMLoop:
		if t <= s.TOn && u >= s.TOff && !last {
			sigma = s.Eta
		}
	}
	// ReMDM-conf: softmax of −ψ over decoded free positions.
	var zconf, mconf float64
	if s.Strategy == ReMDMConf {
		mconf = math.Inf(-1)
		for _, i := range r.free {
			if r.x[i] != r.mask {
				mconf = max(mconf, -s.psi[i])
			}
		}
		for _, i := range r.free {
			if r.x[i] != r.mask {
				zconf += math.Exp(-s.psi[i] - mconf)
			}
		}
	}
	for _, i := range r.free {
		if r.x[i] != r.mask {
			sg := sigma
			if s.Strategy == ReMDMConf {
				sg = smax * math.Exp(-s.psi[i]-mconf) / zconf
			}
			if sg > 0 && r.rng.Float64() < sg {
				r.setTok(i, r.mask)
			}
			continue
		}
		sg := sigma
		if s.Strategy == ReMDMConf {
			sg = 0
		}
		pu := 1.0
		if !last && at < 1 {
			pu = (as - (1-sg)*at) / (1 - at)
		}
		if r.rng.Float64() < pu {
			p := r.bel.Row(i)
			v := soft.Sample(r.rng, p)
			s.psi[i] = float64(p[v])
			r.setTok(i, v)
		}
	}
	return last, nil
}

// ---------------------------------------------------------------- EB

// EB is the entropy-bounded sampler (Ben-Hamu et al. 2025, "Accelerated
// Sampling from Masked Diffusion Models via Entropy Bounded Unmasking",
// arXiv 2505.24857). Each step sorts the masked positions by belief entropy,
// ascending, and commits the largest prefix whose entropies satisfy
// ΣH − max H ≤ Gamma (at least one position), each with its argmax token, or
// a sample at Temperature > 0. Options.Steps is not used.
type EB struct {
	Gamma       float64
	Temperature float64
}

// Name implements Algorithm.
func (m EB) Name() string { return "eb" }

type ebRun struct {
	EB
	r *run
	h hardScratch
}

func (m EB) start(r *run) (stepper, error) {
	if m.Gamma < 0 || m.Temperature < 0 {
		return nil, fmt.Errorf("bad EB setting: gamma %v, temperature %v", m.Gamma, m.Temperature)
	}
	r.needEnt = true // the rule orders by entropy
	return &ebRun{EB: m, r: r, h: newHardScratch(r.L)}, nil
}

func (s *ebRun) step(k int) (bool, error) {
	r := s.r
	idx := s.h.masked(r, 0, len(r.free))
	if err := r.denoise(float64(len(idx)) / float64(len(r.free))); err != nil {
		return false, err
	}
	var hs float64
	for _, i := range idx {
		h := r.ent[i]
		s.h.key[i] = -h // selectTopK wants the largest key first
		hs += h
	}
	r.info.MeanEntropy = hs / float64(len(idx))
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case s.h.key[a] > s.h.key[b]:
			return -1
		case s.h.key[a] < s.h.key[b]:
			return 1
		}
		return a - b
	})
	// Sorted ascending, the prefix idx[:n+1] has max H = H(idx[n]), so
	// ΣH − max H over it is the sum over idx[:n].
	n, sum := 1, -s.h.key[idx[0]]
	for n < len(idx) && sum <= s.Gamma {
		sum += -s.h.key[idx[n]]
		n++
	}
	for _, i := range idx[:n] {
		r.setTok(i, r.candidate(i, s.Temperature))
	}
	return n == len(idx), nil
}

// sharpen writes dst ∝ p^(1/T), computed as exp((log p − log max p)/T) with
// the table logarithm (the same law as soft.Sharpen, several times cheaper
// than math.Pow per entry). Zeros stay zero.
func sharpen(dst, p []float32, T float64) {
	lmax := log32(p[soft.Argmax(p)])
	inv := 1 / T
	var z float64
	for v, x := range p {
		if x < 0x1p-126 {
			dst[v] = 0
			continue
		}
		e := math.Exp((log32(x) - lmax) * inv)
		dst[v] = float32(e)
		z += e
	}
	s := float32(1 / z)
	for v := range dst {
		dst[v] *= s
	}
}

// nucleus zeroes the entries of q outside its top-p nucleus: in the order
// of decreasing value (ties to the smaller index) a token is kept while the
// mass before it is ≤ topP. It reports whether anything was zeroed. scratch
// has len(q) entries. The threshold θ, the value of the last kept token, is
// the unique value with mass(q > θ) ≤ topP < mass(q ≥ θ); it is found by a
// weighted quickselect on a copy of the values (expected O(K)); then every
// token above θ is kept and, of the tokens equal to θ, the first r by index,
// r the fewest that carry the mass past topP.
func nucleus(q []float32, topP float64, scratch []float32) bool {
	var total float64
	for _, x := range q {
		total += float64(x)
	}
	if total <= topP {
		return false
	}
	w := scratch[:len(q)]
	copy(w, q)
	budget := topP // mass still allowed before θ
	var theta float32
	for len(w) > 0 {
		// median of three as pivot
		a, b, c := w[0], w[len(w)/2], w[len(w)-1]
		piv := max(min(a, b), min(max(a, b), c))
		// three-way partition: [> piv | == piv | < piv]
		lt, i, gt := 0, 0, len(w)
		for i < gt {
			switch x := w[i]; {
			case x > piv:
				w[lt], w[i] = w[i], w[lt]
				lt++
				i++
			case x < piv:
				gt--
				w[gt], w[i] = w[i], w[gt]
			default:
				i++
			}
		}
		var above, eq float64
		for _, x := range w[:lt] {
			above += float64(x)
		}
		eq = float64(piv) * float64(gt-lt)
		switch {
		case above > budget:
			w = w[:lt]
		case above+eq > budget:
			theta = piv
			budget -= above
			w = nil
		default:
			budget -= above + eq
			w = w[gt:]
		}
	}
	// keep q > θ, and the first r entries equal to θ with r·θ > budget
	// minimal (r ≥ 1)
	r := int(budget/float64(theta)) + 1
	changed := false
	for v, x := range q {
		switch {
		case x > theta:
		case x == theta && r > 0:
			r--
		default:
			if x != 0 {
				changed = true
			}
			q[v] = 0
		}
	}
	return changed
}
