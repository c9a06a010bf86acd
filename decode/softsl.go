package decode

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/hybrid"
	"github.com/softdiff/softdiff/soft"
)

// Grid is the SNR-time grid of the stochastic-localisation sampler.
type Grid int

const (
	// GridUniform: τ_k = TMax·k/n.
	GridUniform Grid = iota
	// GridGeometric: τ_0 = 0, τ_k = TMin·(TMax/TMin)^((k−1)/(n−1)) for k ≥ 1.
	GridGeometric
	// GridInfo (information-equalising): τ_k chosen so that the mutual
	// information I(x_i; y_i(τ)) of a single position's Gaussian channel,
	// under its first belief as prior, rises by equal amounts per step
	// (estimated once per run by Monte Carlo over a few positions and their
	// top-32 tokens, after the first denoiser call).
	GridInfo
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

// SoftSL is the stochastic-localisation sampler of DESIGN.md ("The core
// idea"): the Gaussian-channel observation process of stochastic
// localisation (El Alaoui, Montanari & Sellke 2022, "Sampling from the
// Sherrington–Kirkpatrick Gibbs measure via algorithmic stochastic
// localization"; Montanari 2023, "Sampling, diffusions, and stochastic
// localization"), the same family as discrete Bayesian Flow Networks (Graves
// et al. 2023). Each position holds log-evidence λ_i (package hybrid); one
// step on the SNR grid τ_k → τ_{k+1}, Δ = τ_{k+1} − τ_k, reads the beliefs
// m_i = E[onehot(x_i) | evidence] from the denoiser and updates every
// uncommitted position
//
//	λ_i ← λ_i + Δ_i·m_i + sqrt(Δ_i)·ε_i,   ε_i ~ N(0, I) over the tokens,
//
// which is exact observation y(τ) = τ·onehot(x) + W(τ) of a joint sample x
// in the limit Δ → 0: λ_i is the log-likelihood of x_i given y_i. The commit
// policy turns evidence into identity by drawing x_i from its belief m_i —
// also exact, since p(x_i | y)·p(x_−i | x_i, y) = p(x | y) — after which the
// position is hard evidence. After n = Options.Steps − 1 refinements, one
// more denoiser call gives the final beliefs and every uncommitted position
// is drawn from its belief in parallel (argmax with FinalArgmax; a joint
// importance-resampled draw with Joint). So
// Options.Steps is the total NFE; Steps 1 is one fully parallel hard step.
//
// TMax 0 means 4·log(V) + 4 (V tokens): at SNR τ the log-odds between the
// true token and another is N(τ, 2τ), so τ ≫ 4 log V localises. TMin 0
// means TMax/100. RateStrength 0 means 1.
type SoftSL struct {
	Grid Grid
	// Times, if set, is an explicit grid τ_1 < … < τ_n (n = Options.Steps −
	// 1) overriding Grid, e.g. from InfoGrid; TMax is then τ_n.
	Times           []float64
	TMax, TMin      float64
	Rate            Rate
	RateStrength    float64
	Commit          CommitPolicy
	CommitThreshold float64
	FinalArgmax     bool
	// Joint, if set, makes the final decode joint: JointN (0: 8) whole
	// candidates are drawn from the final beliefs and one is importance-
	// resampled by Joint (see ImportanceResample); its scorer calls are
	// counted in Result.JointEvals, not in the NFE.
	Joint  JointScorer
	JointN int
}

// Name implements Algorithm.
func (m SoftSL) Name() string {
	return "soft-sl" + [...]string{"", "-geo", "-info"}[m.Grid] + [...]string{"", "-hrate", "-crate"}[m.Rate] +
		[...]string{"", "-hcommit", "-lcommit"}[m.Commit]
}

// slBlock is the number of rows per parallel block of the SL update.
const slBlock = 16

type slRun struct {
	SoftSL
	r     *run
	st    *hybrid.State
	n     int       // refinement steps
	grid  []float64 // τ_0..τ_n
	w     []float64 // per-position rate weights
	pcg   []*rand.PCG
	rngs  []*rand.Rand
	seed  uint64
	delta float64
	ntok  int
	upd   func(b, lo, hi int) // bound once: no allocation per step
	evFn  func(b, lo, hi int)
	errs  []error // per block
	info  infoCurve
}

func (m SoftSL) validate(K int) (SoftSL, error) {
	if m.Grid < GridUniform || m.Grid > GridInfo || m.Rate < RateUniform || m.Rate > RateConfidence ||
		m.Commit < CommitNever || m.Commit > CommitLocalised {
		return m, errors.New("unknown grid, rate or commit policy")
	}
	if m.TMax < 0 || m.TMin < 0 || m.RateStrength < 0 || m.CommitThreshold < 0 || math.IsNaN(m.TMax+m.TMin+m.RateStrength+m.CommitThreshold) {
		return m, errors.New("negative or NaN TMax, TMin, RateStrength or CommitThreshold")
	}
	if m.TMax == 0 {
		m.TMax = 4*math.Log(float64(K-1)) + 4
	}
	if m.TMin == 0 {
		m.TMin = m.TMax / 100
	}
	if m.TMin > m.TMax {
		return m, fmt.Errorf("TMin %v > TMax %v", m.TMin, m.TMax)
	}
	if m.RateStrength == 0 {
		m.RateStrength = 1
	}
	if m.Commit != CommitNever && m.CommitThreshold == 0 {
		return m, errors.New("a commit policy needs CommitThreshold > 0")
	}
	return m, nil
}

func (m SoftSL) start(r *run) (stepper, error) { return m.newRun(r) }

func (m SoftSL) newRun(r *run) (*slRun, error) {
	m, err := m.validate(r.K)
	if err != nil {
		return nil, err
	}
	r.needEnt = true // rates, commit policy and the information grid read entropies
	s := &slRun{SoftSL: m, r: r, st: hybrid.New(r.L, r.K, r.mask), n: r.steps - 1,
		w: make([]float64, r.L), ntok: r.K - 1}
	for i, f := range r.fixed {
		if f {
			s.st.Commit(i, r.x[i])
		}
	}
	s.grid = make([]float64, s.n+1)
	if m.Times != nil {
		if len(m.Times) != s.n {
			return nil, fmt.Errorf("len(Times)=%d, want Steps−1 = %d", len(m.Times), s.n)
		}
		for k, tau := range m.Times {
			if !(tau > s.grid[k]) || math.IsInf(tau, 1) {
				return nil, fmt.Errorf("Times[%d]=%v is not above the previous time %v", k, tau, s.grid[k])
			}
			s.grid[k+1] = tau
		}
		s.TMax = s.grid[s.n]
	}
	for k := range s.grid {
		if m.Times != nil {
			break
		}
		switch m.Grid {
		case GridGeometric:
			switch {
			case k == 0:
			case s.n == 1:
				s.grid[k] = m.TMax
			default:
				s.grid[k] = m.TMin * math.Pow(m.TMax/m.TMin, float64(k-1)/float64(s.n-1))
			}
		default: // uniform, and the provisional grid of GridInfo
			s.grid[k] = m.TMax * float64(k) / float64(max(s.n, 1))
		}
	}
	nb := soft.Blocks(r.L, slBlock)
	for b := 0; b < nb; b++ {
		p := rand.NewPCG(0, 0)
		s.pcg = append(s.pcg, p)
		s.rngs = append(s.rngs, rand.New(p))
	}
	s.upd, s.evFn = s.updateBlock, s.evidenceBlock
	s.errs = make([]error, nb)
	if m.Grid == GridInfo {
		s.info = newInfoCurve(r.K)
	}
	return s, nil
}

// writeEvidence writes the evidence row of every uncommitted free position.
func (s *slRun) writeEvidence() error {
	soft.ForBlocks(s.r.L, slBlock, s.r.opts.Workers, s.evFn)
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
		if !r.fixed[i] && r.x[i] == r.mask {
			if err := s.st.EvidenceRow(r.ev.Row(i), i); err != nil {
				s.errs[b] = err
				return
			}
		}
	}
}

// commit gives position i the identity v (a token drawn from its belief).
func (s *slRun) commit(i int, v int32) {
	s.st.Commit(i, v)
	s.r.setTok(i, v)
}

// beliefsStep writes the evidence, calls the denoiser and computes the
// entropies of the uncommitted beliefs (and the step's mean entropy).
func (s *slRun) beliefsStep(t float64) error {
	r := s.r
	if err := s.writeEvidence(); err != nil {
		return err
	}
	if err := r.denoise(t); err != nil {
		return err
	}
	r.meanEntropyMasked()
	return nil
}

// applyCommitPolicy commits the positions the policy selects.
func (s *slRun) applyCommitPolicy() {
	r := s.r
	switch s.Commit {
	case CommitEntropy:
		for _, i := range r.free {
			if r.x[i] == r.mask && r.ent[i] < s.CommitThreshold {
				s.commit(i, soft.Sample(r.rng, r.bel.Row(i)))
			}
		}
	case CommitLocalised:
		for _, i := range r.free {
			if r.x[i] == r.mask && s.st.HasEvidence(i) {
				// max softmax(λ_i) over tokens = 1 / Σ_v exp(λ_v − max λ).
				row := s.st.Row(i)
				mx := float32(math.Inf(-1))
				for v, x := range row {
					if int32(v) != r.mask && x > mx {
						mx = x
					}
				}
				var z float64
				for v, x := range row {
					if int32(v) != r.mask {
						z += math.Exp(float64(x - mx))
					}
				}
				if 1/z >= 1-s.CommitThreshold {
					s.commit(i, soft.Sample(r.rng, r.bel.Row(i)))
				}
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
	for _, i := range r.free {
		if r.x[i] != r.mask {
			continue
		}
		w := 1.0
		switch s.Rate {
		case RateEntropy:
			w = 1 + s.RateStrength*max(0, 1-r.ent[i]/logV)
		case RateConfidence:
			p := r.bel.Row(i)
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
	for _, i := range r.free {
		if r.x[i] == r.mask {
			s.w[i] /= mean
		}
	}
}

// updateBlock applies the SL update to the uncommitted free rows in [lo, hi).
func (s *slRun) updateBlock(b, lo, hi int) {
	r := s.r
	s.pcg[b].Seed(soft.StreamSeed(s.seed, b))
	rng := s.rngs[b]
	for i := lo; i < hi; i++ {
		if r.fixed[i] || r.x[i] != r.mask {
			continue
		}
		d := s.delta * s.w[i]
		sd := math.Sqrt(d)
		lam := s.st.Row(i)
		m := r.bel.Row(i)
		for v := range lam {
			if int32(v) == r.mask {
				continue
			}
			lam[v] += float32(d*float64(m[v]) + sd*rng.NormFloat64())
		}
	}
}

func (s *slRun) refine(k int) {
	r := s.r
	s.rates()
	s.delta = s.grid[k+1] - s.grid[k]
	s.seed = r.rng.Uint64()
	workers := r.opts.Workers
	soft.ForBlocks(r.L, slBlock, workers, s.upd)
	for _, i := range r.free {
		if r.x[i] == r.mask {
			s.st.MarkEvidence(i)
		}
	}
}

func (s *slRun) step(k int) (bool, error) {
	r := s.r
	t := 1.0
	if s.n > 0 {
		t = 1 - float64(k)/float64(s.n)
	}
	r.info.Tau = s.grid[min(k, s.n)]
	if err := s.beliefsStep(t); err != nil {
		return false, err
	}
	if k >= s.n { // final decode
		if s.Joint != nil {
			d, err := ImportanceResample(r.rng, s.Joint, r.bel, ResampleOptions{N: s.JointN})
			if err != nil {
				return false, err
			}
			r.res.JointEvals += d.Evals
			for _, i := range r.free {
				if r.x[i] == r.mask {
					s.commit(i, d.Tokens[i])
				}
			}
			return true, nil
		}
		for _, i := range r.free {
			if r.x[i] == r.mask {
				p := r.bel.Row(i)
				if s.FinalArgmax {
					s.commit(i, soft.Argmax(p))
				} else {
					s.commit(i, soft.Sample(r.rng, p))
				}
			}
		}
		return true, nil
	}
	if k == 0 && s.Grid == GridInfo && s.Times == nil {
		s.info.grid(s.grid, s.TMax, r, r.rng.Uint64())
	}
	s.applyCommitPolicy()
	s.refine(k)
	return r.numCommitted() == r.L, nil
}

// infoCurve estimates I(τ) = H(x) − E H(x | y(τ)) for one position's
// Gaussian channel y = τ·onehot(x) + sqrt(τ)·ε with prior p, averaged over a
// few positions' first beliefs, truncated to their top tokens. The draws of
// x and ε are shared by every τ (common random numbers), so the estimated
// curve is smooth in τ.
type infoCurve struct {
	ids   []int32
	vals  []float32
	logp  []float64
	prior []float64
	xs    []int     // infoDraws draws of x
	eps   []float64 // infoDraws × k normals
	tau   []float64
	I     []float64
}

const (
	infoTop   = 32 // tokens per prior
	infoPos   = 4  // positions sampled
	infoDraws = 32 // Monte Carlo draws per position
	infoGrid  = 32 // fine τ grid
)

func newInfoCurve(K int) infoCurve {
	k := min(infoTop, K-1)
	return infoCurve{ids: make([]int32, k), vals: make([]float32, k), logp: make([]float64, k), prior: make([]float64, k),
		xs: make([]int, infoDraws), eps: make([]float64, infoDraws*k), tau: make([]float64, infoGrid+1), I: make([]float64, infoGrid+1)}
}

// grid overwrites g (τ_0..τ_n, τ_n = tmax) with the information-equalising
// grid computed from r.bel.
func (c *infoCurve) grid(g []float64, tmax float64, r *run, seed uint64) {
	var rows [infoPos][]float32
	np := 0
	nm := 0 // spread the sampled positions over the masked free positions
	for _, i := range r.free {
		if r.x[i] == r.mask {
			nm++
		}
	}
	j := 0
	for _, i := range r.free {
		if r.x[i] != r.mask {
			continue
		}
		if np < infoPos && j*infoPos >= np*nm {
			rows[np] = r.bel.Row(i)
			np++
		}
		j++
	}
	c.gridFromRows(g, tmax, rows[:np], seed)
}

// InfoGrid returns the information-equalising SNR grid τ_1 < … < τ_n = tmax
// that GridInfo computes inside a run, from the beliefs bel (a few rows,
// evenly spaced, serve as priors). Pass it as SoftSL.Times to reuse one grid
// across runs that start from the same beliefs.
func InfoGrid(bel *soft.Dense, n int, tmax float64, seed uint64) []float64 {
	if n < 1 || !(tmax > 0) {
		panic(fmt.Sprintf("decode.InfoGrid: n=%d, tmax=%v", n, tmax))
	}
	c := newInfoCurve(bel.K)
	var rows [][]float32
	for j := 0; j < min(infoPos, bel.L); j++ {
		rows = append(rows, bel.Row(j*bel.L/min(infoPos, bel.L)))
	}
	g := make([]float64, n+1)
	for k := range g {
		g[k] = tmax * float64(k) / float64(n)
	}
	c.gridFromRows(g, tmax, rows, seed)
	return g[1:]
}

func (c *infoCurve) gridFromRows(g []float64, tmax float64, rows [][]float32, seed uint64) {
	np := len(rows)
	if np == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	k := len(c.prior)
	clear(c.I)
	for gi := range c.tau {
		c.tau[gi] = tmax * float64(gi) / infoGrid
	}
	for _, row := range rows {
		soft.TopK(c.ids, c.vals, row)
		var z float64
		for a, v := range c.vals {
			z += float64(v)
			c.prior[a] = float64(v)
		}
		var h0 float64
		for a := range c.prior {
			c.prior[a] /= z
			c.logp[a] = math.Inf(-1)
			if c.prior[a] > 0 {
				c.logp[a] = math.Log(c.prior[a])
				h0 -= c.prior[a] * c.logp[a]
			}
		}
		for d := range c.xs {
			c.xs[d] = sampleF64(rng, c.prior)
		}
		for e := range c.eps {
			c.eps[e] = rng.NormFloat64()
		}
		for gi := 1; gi <= infoGrid; gi++ {
			tau := c.tau[gi]
			sd := math.Sqrt(tau)
			var hsum float64
			for d, x := range c.xs {
				ep := c.eps[d*k : (d+1)*k]
				// log posterior up to a constant: log p_a + y_a, y_a = τ·[a=x] + sd·ε_a
				mx := math.Inf(-1)
				for a := range ep {
					mx = max(mx, c.logp[a]+sd*ep[a]+tau*b2f(a == x))
				}
				var zz, s float64
				for a := range ep {
					if math.IsInf(c.logp[a], -1) {
						continue
					}
					l := c.logp[a] + sd*ep[a] + tau*b2f(a == x) - mx
					e := math.Exp(l)
					zz += e
					s += e * l
				}
				hsum += math.Log(zz) - s/zz
			}
			c.I[gi] += (h0 - hsum/infoDraws) / float64(np)
		}
	}
	// make I non-decreasing, then invert it linearly.
	for gi := 1; gi <= infoGrid; gi++ {
		c.I[gi] = max(c.I[gi], c.I[gi-1])
	}
	n := len(g) - 1
	top := c.I[infoGrid]
	if !(top > 0) {
		return
	}
	gi := 0
	for k := 1; k < n; k++ {
		target := top * float64(k) / float64(n)
		for gi < infoGrid && c.I[gi+1] < target {
			gi++
		}
		lo, hi := c.I[gi], c.I[min(gi+1, infoGrid)]
		f := 0.0
		if hi > lo {
			f = (target - lo) / (hi - lo)
		}
		g[k] = c.tau[gi] + f*(c.tau[min(gi+1, infoGrid)]-c.tau[gi])
	}
	g[n] = tmax
	for k := 1; k <= n; k++ { // non-decreasing
		g[k] = max(g[k], g[k-1])
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sampleF64 draws an index from the normalised float64 distribution p.
func sampleF64(rng *rand.Rand, p []float64) int {
	u := rng.Float64()
	var c float64
	for a, x := range p {
		c += x
		if u < c {
			return a
		}
	}
	return len(p) - 1
}

// ---------------------------------------------------------------- LRD

// LRD is latent refinement decoding (Zhu et al. 2025, "Latent Refinement
// Decoding: Enhancing Diffusion-Based Language Models by Refining Belief
// States", arXiv 2510.11052), in softdiff's evidence language. LRD's soft
// input for an undecided position is ẽ_i = (1 − α_i)·e_MASK + α_i·Σ_{v ∈
// top-p} p̄_i(v)·e_v with α_i = r_f·(1 − H(p_i)/log V): here the evidence row
// with MASK mass 1 − α_i and token mass α_i·p̄_i(v) (p̄_i the belief
// renormalised on its top-p nucleus: in decreasing order, tokens while the
// mass before them is ≤ TopP), i.e. the virtual-evidence likelihood
// α_i·p̄_i(v) + 1 − α_i.
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
// position (argmax, or a sample at Temperature), refreshes the others' soft
// inputs, and once the mean KL falls below Tol commits all remaining
// positions at once. Zero values mean RF 0.5, TopP 0.9, Tol 1e-3, MaxRefine
// Options.Steps/4 (at least 1).
type LRD struct {
	RF, TopP, Tol float64
	MaxRefine     int
	Temperature   float64
}

// Name implements Algorithm.
func (m LRD) Name() string { return "lrd" }

type lrdRun struct {
	LRD
	r       *run
	phase1  int // refinement calls done
	prev    *soft.Dense
	have    bool
	scratch []float32
	done1   bool
}

func (m LRD) start(r *run) (stepper, error) {
	if m.RF < 0 || m.RF > 1 || m.TopP < 0 || m.TopP > 1 || m.Tol < 0 || m.MaxRefine < 0 || m.Temperature < 0 {
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
		m.MaxRefine = max(1, r.steps/4)
	}
	r.needEnt = true // LRD commits the lowest-entropy position
	return &lrdRun{LRD: m, r: r, prev: soft.NewDense(r.L, r.K), scratch: make([]float32, r.K)}, nil
}

// softInput writes LRD's soft input for undecided position i from belief p.
func (s *lrdRun) softInput(i int, p []float32) {
	r := s.r
	row := r.ev.Row(i)
	clear(row)
	h := r.ent[i] // computed with the belief check
	alpha := s.RF * max(0, 1-h/math.Log(float64(r.K-1)))
	// nucleus: in decreasing order, tokens while the mass before them is
	// ≤ TopP (the rule of Dream's top-p; the boundary token is kept).
	copy(row, p)
	nucleus(row, s.TopP, s.scratch)
	var c float64
	for _, x := range row {
		c += float64(x)
	}
	sc := alpha / c
	for v, x := range row {
		row[v] = float32(float64(x) * sc)
	}
	row[r.mask] += float32(1 - alpha)
}

// meanKL returns the mean KL(prev ‖ bel) over undecided positions.
func (s *lrdRun) meanKL() float64 {
	r := s.r
	var sum float64
	n := 0
	for _, i := range r.free {
		if r.x[i] == r.mask {
			sum += soft.KL(s.prev.Row(i), r.bel.Row(i))
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func (s *lrdRun) step(k int) (bool, error) {
	r := s.r
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
	kl := math.Inf(1)
	if s.have {
		kl = s.meanKL()
	}
	s.prev.CopyFrom(r.bel)
	s.have = true
	if !s.done1 {
		s.phase1++
		if kl < s.Tol || s.phase1 >= s.MaxRefine {
			s.done1 = true
		}
	} else {
		if kl < s.Tol || r.nfe >= r.steps {
			for _, i := range r.free {
				if r.x[i] == r.mask {
					r.setTok(i, r.candidate(i, s.Temperature))
				}
			}
			return true, nil
		}
		best, bh := -1, math.Inf(1)
		for _, i := range r.free {
			if r.x[i] == r.mask {
				if h := r.ent[i]; h < bh {
					best, bh = i, h
				}
			}
		}
		r.setTok(best, r.candidate(best, s.Temperature))
	}
	for _, i := range r.free {
		if r.x[i] == r.mask {
			s.softInput(i, r.bel.Row(i))
		}
	}
	return r.numCommitted() == r.L, nil
}
