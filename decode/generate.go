package decode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// Algorithm is one sampling method with its configuration: MDLM, LLaDA,
// Dream, FastDLLM, ReMDM, EB (hard), SoftSL, LRD (soft) and Hybrid. Each is a
// small struct whose zero value is a documented default; pass it to Generate.
type Algorithm interface {
	// Name returns a short name of the method and its main setting.
	Name() string
	// start validates the configuration and returns the per-run stepper,
	// allocating every buffer the run needs.
	start(r *run) (stepper, error)
}

// stepper advances one run by one step (usually one NFE); it returns done
// when the sequence is complete.
type stepper interface {
	step(k int) (done bool, err error)
}

// Options are the settings shared by every algorithm. The zero value is a
// safe default.
type Options struct {
	// Steps is the number of sampling steps (denoiser calls, before caching
	// and early stops); 0 means L. Algorithms that stop on their own rule
	// (Fast-dLLM, EB, LRD) read it as a cap on the steps per block or run.
	Steps int
	// BlockLen is the semi-autoregressive block length over the free
	// positions (LLaDA, Fast-dLLM); 0 means one block of all free positions.
	BlockLen int
	// Rand is the random source; if nil, a PCG seeded by (Seed, 0) is used.
	Rand *rand.Rand
	// Seed seeds the default source when Rand is nil.
	Seed uint64
	// Progress, if set, is called after every step with its statistics.
	Progress func(StepInfo)
	// MaxNFE stops a run with ErrNFEBudget once it would exceed this many
	// denoiser calls; 0 means no limit.
	MaxNFE int
	// Record keeps the token trajectory (a copy of the tokens after every
	// step, MASK where masked) in Result.Trajectory.
	Record bool
	// Fixed, if non-nil, has length L: entries other than soft.NoToken are
	// fixed tokens (a prompt), hard evidence that no sampler changes.
	Fixed []int32
	// Workers bounds the goroutines of row-parallel work; ≤ 0 means
	// GOMAXPROCS. Output does not depend on it.
	Workers int
	// CompleteOnError changes what happens when the denoiser rejects the
	// evidence (an exact oracle does once a parallel step has committed a
	// combination of probability zero: the marginal trap): instead of
	// returning the error, the run commits every remaining position by
	// sampling from the last beliefs it received, records the error in
	// Result.Err and returns a nil error. Without beliefs yet, the error is
	// returned as usual.
	CompleteOnError bool
	// NoEntropy skips the per-step mean-entropy statistic for samplers that
	// do not need entropies for their own rule (MDLM, LLaDA, Fast-dLLM,
	// ReMDM, Dream other than entropy ordering): StepInfo.MeanEntropy is
	// then NaN, and a step saves one transcendental pass over the beliefs.
	NoEntropy bool
}

// StepInfo holds the statistics of one step.
type StepInfo struct {
	Step int     // step index, from 0
	NFE  int     // denoiser calls so far
	T    float64 // diffusion time handed to the denoiser (1 → 0 over a run)
	// Tau is the SNR time τ_k of the stochastic-localisation grid at the
	// step's denoiser call (SoftSL and Hybrid; 0 for other samplers).
	Tau float64
	// MeanEntropy is the mean entropy (nats) of the beliefs at the positions
	// that were uncommitted when the step began (0 if none).
	MeanEntropy float64
	Committed   int // positions with an identity after the step (fixed ones included)
	Changed     int // positions whose identity changed in the step (commits, re-masks, jumps)
}

// Result is the outcome of one run.
type Result struct {
	Tokens []int32 // the generated sequence, length L, no MASK
	NFE    int     // denoiser calls used
	Steps  []StepInfo
	// Trajectory holds the tokens after every step when Options.Record is
	// set (the MASK id where uncommitted).
	Trajectory [][]int32
	// Beliefs are the beliefs of the last denoiser call (L×K), the soft
	// state a final joint decoder (NewLattice, Beam, MAP,
	// ImportanceResample) starts from. For hard samplers that call is made
	// at the start of the last step, so these are the beliefs given the
	// state before the last step's commits (for Steps 1: the prior
	// marginals); for SoftSL they are the final beliefs the last parallel
	// draw used. Rows of positions committed before that call are one-hot
	// as the denoiser returned them (fixed positions are not checked).
	Beliefs *soft.Dense
	// JointEvals counts joint-scorer calls of a joint final decode
	// (SoftSL.Joint), kept apart from the NFE.
	JointEvals int
	// Err is the denoiser error that ended the run early under
	// Options.CompleteOnError, or nil.
	Err error
}

// ErrNFEBudget is returned (wrapped) when a run reaches Options.MaxNFE.
var ErrNFEBudget = errors.New("decode: NFE budget exhausted")

// run is the per-run state shared by all algorithms.
type run struct {
	ctx   context.Context
	den   Denoiser
	vocab *soft.Vocab
	L, K  int
	mask  int32
	opts  Options
	steps int
	rng   *rand.Rand

	x     []int32 // current tokens; mask where uncommitted
	fixed []bool
	free  []int // free (non-fixed) positions in order
	ev    *soft.Dense
	bel   *soft.Dense // last good beliefs
	spare *soft.Dense // the buffer the next denoiser call writes
	nfe   int
	res   *Result

	ent      []float64 // belief entropies of uncommitted free positions (last call)
	amax     []int32   // their argmax
	needEnt  bool      // compute entropies in the belief check
	checkErr []error   // per block of the belief check
	checkFn  func(b, lo, hi int)

	// per-step counters filled by steppers
	info           StepInfo
	denoiserFailed bool
}

// Generate samples one sequence of length L from den with alg. den's beliefs
// must be over v's K = v.Size() states, and v must have a MASK token. The
// run stops when every position is committed, with an error if ctx is
// cancelled, the denoiser fails, or Options.MaxNFE is reached.
//
// Runs are deterministic given the random source: the same seed gives the
// same tokens at any GOMAXPROCS and any Options.Workers (a concurrent
// denoiser must itself be deterministic).
func Generate(ctx context.Context, den Denoiser, v *soft.Vocab, L int, alg Algorithm, opts Options) (*Result, error) {
	if den == nil || v == nil || alg == nil {
		return nil, errors.New("decode.Generate: nil denoiser, vocabulary or algorithm")
	}
	if L < 1 {
		return nil, fmt.Errorf("decode.Generate: length %d < 1", L)
	}
	if v.Mask() == soft.NoToken {
		return nil, errors.New("decode.Generate: vocabulary has no MASK token")
	}
	if opts.Steps < 0 || opts.BlockLen < 0 || opts.MaxNFE < 0 {
		return nil, fmt.Errorf("decode.Generate: negative Steps (%d), BlockLen (%d) or MaxNFE (%d)", opts.Steps, opts.BlockLen, opts.MaxNFE)
	}
	r := &run{ctx: ctx, den: den, vocab: v, L: L, K: v.Size(), mask: v.Mask(), opts: opts}
	r.rng = opts.Rand
	if r.rng == nil {
		r.rng = rand.New(rand.NewPCG(opts.Seed, 0))
	}
	r.x = make([]int32, L)
	r.fixed = make([]bool, L)
	r.ev = soft.AllMask(L, r.K, r.mask)
	r.bel = soft.NewDense(L, r.K)
	r.spare = soft.NewDense(L, r.K)
	r.ent = make([]float64, L)
	r.amax = make([]int32, L)
	r.checkErr = make([]error, soft.Blocks(L, checkBlock))
	r.checkFn = r.checkRows
	for i := range r.x {
		r.x[i] = r.mask
	}
	if opts.Fixed != nil {
		if len(opts.Fixed) != L {
			return nil, fmt.Errorf("decode.Generate: len(Fixed)=%d, want L=%d", len(opts.Fixed), L)
		}
		for i, id := range opts.Fixed {
			if id == soft.NoToken {
				continue
			}
			if id < 0 || int(id) >= r.K || id == r.mask {
				return nil, fmt.Errorf("decode.Generate: Fixed[%d]=%d is not a token id", i, id)
			}
			r.fixed[i] = true
			r.setTok(i, id)
		}
	}
	for i := range r.x {
		if !r.fixed[i] {
			r.free = append(r.free, i)
		}
	}
	r.steps = opts.Steps
	if r.steps == 0 {
		r.steps = max(len(r.free), 1)
	}
	// room for every step of every algorithm (fixed-step ones use r.steps,
	// rule-stopped ones at most one step per free position, plus a final one)
	r.res = &Result{Steps: make([]StepInfo, 0, r.steps+len(r.free)+1)}
	r.needEnt = !opts.NoEntropy
	st, err := alg.start(r)
	if err != nil {
		return nil, fmt.Errorf("decode.Generate %s: %w", alg.Name(), err)
	}
	for k := 0; len(r.free) > 0; k++ {
		if err := ctx.Err(); err != nil {
			return r.res, err
		}
		r.info = StepInfo{Step: k, T: math.NaN()}
		done, err := st.step(k)
		if err != nil {
			err = fmt.Errorf("decode.Generate %s step %d: %w", alg.Name(), k, err)
			if !opts.CompleteOnError || r.nfe == 0 || !r.denoiserFailed || errors.Is(err, ErrNFEBudget) {
				r.res.Beliefs = r.bel
				return r.res, err
			}
			r.res.Err = err
			for _, i := range r.free {
				if r.x[i] == r.mask {
					r.setTok(i, soft.Sample(r.rng, r.bel.Row(i)))
				}
			}
			done = true
		}
		r.info.NFE = r.nfe
		r.info.Committed = r.numCommitted()
		r.res.Steps = append(r.res.Steps, r.info)
		if opts.Record {
			r.res.Trajectory = append(r.res.Trajectory, append([]int32(nil), r.x...))
		}
		if opts.Progress != nil {
			opts.Progress(r.info)
		}
		if done {
			break
		}
	}
	for i, id := range r.x {
		if id == r.mask {
			return r.res, fmt.Errorf("decode.Generate %s: position %d left uncommitted", alg.Name(), i)
		}
	}
	r.res.Tokens = r.x
	r.res.NFE = r.nfe
	r.res.Beliefs = r.bel
	return r.res, nil
}

// denoise calls the denoiser on r.ev into r.bel at time t, counting the NFE
// and enforcing the budget. It records t in the step info.
func (r *run) denoise(t float64) error {
	if r.opts.MaxNFE > 0 && r.nfe >= r.opts.MaxNFE {
		return fmt.Errorf("%w after %d calls", ErrNFEBudget, r.nfe)
	}
	r.nfe++
	r.info.T = t
	if err := r.den.Denoise(r.spare, r.ev, t); err != nil {
		r.denoiserFailed = true
		return err
	}
	// Beliefs are outside data: the rows the samplers read (free positions
	// uncommitted when the call was made) are checked to be distributions
	// without MASK mass, in the same pass that computes their entropies,
	// so a faulty denoiser gives an error naming the call and position
	// rather than a panic or NaN downstream.
	soft.ForBlocks(r.L, checkBlock, r.opts.Workers, r.checkFn)
	for _, err := range r.checkErr {
		if err != nil {
			return fmt.Errorf("denoiser call %d: %w", r.nfe, err)
		}
	}
	r.bel, r.spare = r.spare, r.bel
	return nil
}

// setTok sets position i to token id (or the mask id) and its evidence row
// to the matching one-hot.
func (r *run) setTok(i int, id int32) {
	if r.x[i] != id {
		r.info.Changed++
	}
	r.x[i] = id
	row := r.ev.Row(i)
	clear(row)
	row[id] = 1
}

func (r *run) numCommitted() int {
	n := 0
	for _, id := range r.x {
		if id != r.mask {
			n++
		}
	}
	return n
}

// checkBlock is the number of rows per block of the belief check.
const checkBlock = 16

// checkRows validates the beliefs in r.spare of the uncommitted free rows in
// [lo, hi) and stores their entropies in r.ent.
func (r *run) checkRows(b, lo, hi int) {
	r.checkErr[b] = nil
	for i := lo; i < hi; i++ {
		if r.fixed[i] || r.x[i] != r.mask {
			continue
		}
		h, am, err := checkEntropy(r.spare.Row(i), r.mask, r.needEnt)
		if err != nil {
			r.checkErr[b] = fmt.Errorf("invalid belief at position %d: %w", i, err)
			return
		}
		r.ent[i], r.amax[i] = h, am
	}
}

// checkEntropy checks that p is a distribution (finite, non-negative, sum
// within soft.RowSumTol of 1) with no mass on mask, and returns its entropy
// in nats (NaN unless withEntropy) and its argmax (smallest index on ties,
// as soft.Argmax).
func checkEntropy(p []float32, mask int32, withEntropy bool) (float64, int32, error) {
	am, err := soft.CheckArgmax(p) // one vectorised pass: finite, ≥ 0, sum, argmax
	if err != nil {
		var re *soft.RowError
		if errors.As(err, &re) && re.Col >= 0 {
			return 0, 0, fmt.Errorf("token %d has probability %v", re.Col, p[re.Col])
		}
		if errors.As(err, &re) {
			return 0, 0, fmt.Errorf("probabilities sum to %v", re.Value)
		}
		return 0, 0, err
	}
	if m := p[mask]; m != 0 {
		return 0, 0, fmt.Errorf("MASK has probability %v", m)
	}
	if !withEntropy {
		return math.NaN(), am, nil
	}
	return entropy(p), am, nil
}

// meanEntropyMasked returns the mean belief entropy over the free
// positions that are uncommitted (as computed by the last denoiser call's
// check), and records it in the step info (NaN under Options.NoEntropy).
func (r *run) meanEntropyMasked() float64 {
	if !r.needEnt {
		r.info.MeanEntropy = math.NaN()
		return r.info.MeanEntropy
	}
	var s float64
	n := 0
	for _, i := range r.free {
		if r.x[i] == r.mask {
			s += r.ent[i]
			n++
		}
	}
	if n > 0 {
		s /= float64(n)
	}
	r.info.MeanEntropy = s
	return s
}

// candidate returns the token of masked position i by sampleTempered at
// temperature T, using the argmax found by the belief check when T ≤ 0.
func (r *run) candidate(i int, T float64) int32 {
	if T <= 0 {
		return r.amax[i]
	}
	return sampleTempered(r.rng, r.bel.Row(i), T)
}

// sampleTempered draws a token from p^(1/T) (normalised) by inverting its
// float64 cumulative sum against one uniform variate: the distribution of
// the Gumbel-max rule argmax_v log p_v + T·g_v, g_v standard Gumbel, used by
// LLaDA (add_gumbel_noise), drawn with one variate instead of K. T ≤ 0 is
// the argmax.
func sampleTempered(rng *rand.Rand, p []float32, T float64) int32 {
	switch {
	case T <= 0:
		return soft.Argmax(p)
	case T == 1:
		return soft.Sample(rng, p)
	}
	inv := 1 / T
	// normalise by the maximum first so p^(1/T) does not underflow for small T.
	pm := float64(p[soft.Argmax(p)])
	var sum float64
	for _, x := range p {
		if x > 0 {
			sum += math.Pow(float64(x)/pm, inv)
		}
	}
	u := r01(rng) * sum
	var c float64
	last := int32(-1)
	for v, x := range p {
		if x > 0 {
			c += math.Pow(float64(x)/pm, inv)
			last = int32(v)
			if u < c {
				return int32(v)
			}
		}
	}
	return last
}

// r01 returns a uniform variate in [0, 1).
func r01(rng *rand.Rand) float64 { return rng.Float64() }

// gumbel returns a standard Gumbel variate −log(−log u), u ∈ (0, 1).
func gumbel(rng *rand.Rand) float64 {
	u := rng.Float64()
	for u == 0 {
		u = rng.Float64()
	}
	return -math.Log(-math.Log(u))
}

// selectTopK moves the k entries of idx with the largest key to the front
// of idx (in decreasing key order; ties to the smaller index), without
// allocating. key is indexed by the values stored in idx.
func selectTopK(idx []int, key []float64, k int) {
	if k > len(idx) {
		k = len(idx)
	}
	// partial selection sort: k is small relative to L in every sampler, and
	// for k close to len(idx) this is still O(L·k) ≤ O(L²) with L ≤ a few
	// thousand.
	for a := 0; a < k; a++ {
		best := a
		for b := a + 1; b < len(idx); b++ {
			kb, kbest := key[idx[b]], key[idx[best]]
			if kb > kbest || (kb == kbest && idx[b] < idx[best]) {
				best = b
			}
		}
		idx[a], idx[best] = idx[best], idx[a]
	}
}
