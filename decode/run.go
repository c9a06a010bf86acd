package decode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/soft"
)

// Run is one generation in progress, as a sampler sees it: the tokens
// (identities), the evidence handed to the denoiser, the beliefs it returned,
// the random stream and the counters. Generate and GenerateBatch create it
// and hand it to Algorithm.Start; the sampler's Stepper then advances it by
// calling these methods. The built-in samplers use nothing else, so a sampler
// written outside this package can do everything they do.
//
// The state, per position i of L:
//
//   - Token(i): the identity, a token id or Mask() where uncommitted. Fixed
//     positions (Options.Fixed) hold their token from the start, and no
//     sampler may change them.
//   - Evidence(i): the row of virtual evidence the next Denoise hands over
//     (see Denoiser). SetToken keeps it one-hot at the identity; a soft
//     sampler writes the rows of uncommitted positions itself.
//   - Beliefs(): the beliefs of the last successful Denoise. Of each free
//     position that was uncommitted at that call the run has checked the
//     row (a distribution without MASK mass) and keeps its argmax and, when
//     entropies are on, its entropy.
//
// A Run is not safe for concurrent use, except that distinct rows of
// Evidence and of Beliefs may be read and written by concurrent goroutines
// between calls (the row-parallel updates of a soft sampler). Methods taking
// a position panic if it is out of range; SetToken panics on a fixed
// position or an id outside the vocabulary: those are the sampler's own
// mistakes, not outside data.
type Run struct {
	ctx   context.Context
	call  func(dst, ev *soft.Dense, t float64) error
	vocab *soft.Vocab
	l, k  int
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
	step  int
	res   *Result

	ent      []float64 // belief entropies of uncommitted free positions (last call)
	amax     []int32   // their argmax
	needEnt  bool      // compute entropies in the belief check
	checkErr []error   // per block of the belief check
	checkFn  func(b, lo, hi int)

	// the state at the last successful call, kept for a final decoder
	keepFinal bool
	finEv     *soft.Dense
	finX      []int32

	info           StepInfo
	changes        []Change // under Options.Record: every change, in order
	haveBel        bool     // some denoiser call has succeeded
	denoiserFailed bool

	topState // the top-k belief path (top.go); zero on the dense path
}

// newRun validates the shared arguments and allocates the state of a run.
func newRun(ctx context.Context, call func(dst, ev *soft.Dense, t float64) error, v *soft.Vocab, L int, opts Options) (*Run, error) {
	return newRunTop(ctx, call, nil, v, L, opts)
}

// newRunTop is newRun on the top-k belief path when top is not nil.
func newRunTop(ctx context.Context, call func(dst, ev *soft.Dense, t float64) error, top *topSource, v *soft.Vocab, L int, opts Options) (*Run, error) {
	if v == nil {
		return nil, errors.New("nil vocabulary")
	}
	if L < 1 {
		return nil, fmt.Errorf("length %d < 1", L)
	}
	if v.Mask() == soft.NoToken {
		return nil, errors.New("vocabulary has no MASK token")
	}
	if opts.Steps < 0 || opts.BlockLen < 0 || opts.MaxNFE < 0 {
		return nil, fmt.Errorf("negative Steps (%d), BlockLen (%d) or MaxNFE (%d)", opts.Steps, opts.BlockLen, opts.MaxNFE)
	}
	r := &Run{ctx: ctx, call: call, vocab: v, l: L, k: v.Size(), mask: v.Mask(), opts: opts}
	r.rng = opts.Rand
	if r.rng == nil {
		r.rng = rand.New(rand.NewPCG(opts.Seed, 0))
	}
	r.x = make([]int32, L)
	r.fixed = make([]bool, L)
	if top == nil {
		r.ev = soft.AllMask(L, r.k, r.mask)
		r.bel = soft.NewDense(L, r.k)
		r.spare = soft.NewDense(L, r.k)
	} else {
		r.initTop(top)
	}
	r.ent = make([]float64, L)
	r.amax = make([]int32, L)
	r.checkErr = make([]error, soft.Blocks(L, checkBlock))
	r.checkFn = r.checkRows
	for i := range r.x {
		r.x[i] = r.mask
	}
	if opts.Fixed != nil {
		if len(opts.Fixed) != L {
			return nil, fmt.Errorf("len(Fixed)=%d, want L=%d", len(opts.Fixed), L)
		}
		for i, id := range opts.Fixed {
			if id == soft.NoToken {
				continue
			}
			if id < 0 || int(id) >= r.k || id == r.mask {
				return nil, fmt.Errorf("Fixed[%d]=%d is not a token id", i, id)
			}
			r.fixed[i] = true
			r.x[i] = id
			if r.ev != nil {
				row := r.ev.Row(i)
				clear(row)
				row[id] = 1
			}
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
	r.keepFinal = opts.Final != nil || opts.Record
	if r.keepFinal {
		r.finEv = soft.NewDense(L, r.k)
		r.finX = make([]int32, L)
	}
	return r, nil
}

// Len returns the sequence length L.
func (r *Run) Len() int { return r.l }

// Vocab returns the vocabulary; its K = Size() states include MASK.
func (r *Run) Vocab() *soft.Vocab { return r.vocab }

// Mask returns the MASK id.
func (r *Run) Mask() int32 { return r.mask }

// Options returns the run's options as given to Generate.
func (r *Run) Options() Options { return r.opts }

// Steps returns Options.Steps, or the number of free positions (at least 1)
// when it is 0.
func (r *Run) Steps() int { return r.steps }

// Free returns the free (not fixed) positions in increasing order. The slice
// is the run's own: do not modify it.
func (r *Run) Free() []int { return r.free }

// IsFixed reports whether position i is fixed by Options.Fixed.
func (r *Run) IsFixed(i int) bool { return r.fixed[i] }

// Rand returns the run's random stream: every random choice of a sampler
// must come from it (or from streams seeded from it), so that a seed fixes
// the output.
func (r *Run) Rand() *rand.Rand { return r.rng }

// Context returns the run's context.
func (r *Run) Context() context.Context { return r.ctx }

// NFE returns the number of denoiser calls so far.
func (r *Run) NFE() int { return r.nfe }

// Step returns the index of the step in progress, from 0.
func (r *Run) Step() int { return r.step }

// NeedEntropy asks the belief check to compute entropies even under
// Options.NoEntropy: a sampler whose rule reads Entropy calls it in Start.
func (r *Run) NeedEntropy() { r.needEnt = true }

// Token returns the identity of position i: a token id, or Mask() where
// uncommitted.
func (r *Run) Token(i int) int32 { return r.x[i] }

// Masked reports whether position i is uncommitted.
func (r *Run) Masked(i int) bool { return r.x[i] == r.mask }

// Tokens returns the identities of all positions (Mask() where uncommitted).
// The slice is the run's own: read it, change it only through SetToken.
func (r *Run) Tokens() []int32 { return r.x }

// NumMasked returns the number of uncommitted free positions.
func (r *Run) NumMasked() int {
	n := 0
	for _, i := range r.free {
		if r.x[i] == r.mask {
			n++
		}
	}
	return n
}

// NumCommitted returns the number of positions with an identity, fixed ones
// included.
func (r *Run) NumCommitted() int {
	n := 0
	for _, id := range r.x {
		if id != r.mask {
			n++
		}
	}
	return n
}

// SetToken gives position i the identity id: a token commits or changes it,
// Mask() re-masks it. Its evidence row becomes one-hot at id (for Mask(): no
// evidence). The change is counted in the step's statistics and, under
// Options.Record, traced. It panics if i is fixed or id is outside [0, K).
func (r *Run) SetToken(i int, id int32) {
	if r.fixed[i] {
		panic(fmt.Sprintf("decode: SetToken on fixed position %d", i))
	}
	if id < 0 || int(id) >= r.k {
		panic(fmt.Sprintf("decode: SetToken(%d, %d): id outside [0, %d)", i, id, r.k))
	}
	r.setTok(i, id)
}

// setTok is SetToken without the checks, for the run's own callers.
func (r *Run) setTok(i int, id int32) {
	if from := r.x[i]; from != id {
		r.info.Changed++
		if r.opts.Record {
			r.changes = append(r.changes, Change{Pos: i, From: from, To: id})
		}
	}
	r.x[i] = id
	if r.ev == nil { // the top-k path keeps no dense evidence
		return
	}
	row := r.ev.Row(i)
	clear(row)
	row[id] = 1
}

// Evidence returns the evidence row of position i (K entries, a view) that
// the next Denoise hands over. A soft sampler writes the rows of uncommitted
// positions; the row of a committed position must be one-hot at its token
// whenever Denoise is called, except that a sampler may replace it for one
// call to read that position's leave-one-out belief (and must restore it).
// On the top-k belief path (see TopSampler) there is no dense evidence and
// Evidence returns nil.
func (r *Run) Evidence(i int) []float32 {
	if r.ev == nil {
		return nil
	}
	return r.ev.Row(i)
}

// Denoise calls the denoiser on the current evidence at diffusion time t
// (recorded in the step's statistics), counting one NFE and enforcing
// Options.MaxNFE (ErrNFEBudget). On success the beliefs are replaced and the
// rows of the free positions that are uncommitted are checked to be
// distributions without MASK mass, their argmax (and entropy) computed in
// the same pass; an invalid row is an error naming the call and the
// position. On error the previous beliefs are kept.
func (r *Run) Denoise(t float64) error {
	if r.opts.MaxNFE > 0 && r.nfe >= r.opts.MaxNFE {
		return fmt.Errorf("%w after %d calls", ErrNFEBudget, r.nfe)
	}
	r.nfe++
	r.info.T = t
	if r.top != nil {
		return r.denoiseTop(t)
	}
	if err := r.call(r.spare, r.ev, t); err != nil {
		r.denoiserFailed = true
		return err
	}
	// Beliefs are outside data: checked in the pass that computes their
	// entropies, so a faulty denoiser gives an error, not a panic or NaN.
	soft.ForBlocks(r.l, checkBlock, r.opts.Workers, r.checkFn)
	for _, err := range r.checkErr {
		if err != nil {
			return fmt.Errorf("denoiser call %d: %w", r.nfe, err)
		}
	}
	r.bel, r.spare = r.spare, r.bel
	r.haveBel = true
	if r.keepFinal {
		r.finEv.CopyFrom(r.ev)
		copy(r.finX, r.x)
	}
	return nil
}

// Beliefs returns the beliefs of the last successful Denoise (L×K). Rows of
// positions that were committed at that call are what the denoiser
// returned, unchecked. On the top-k belief path it returns nil: read
// TopBeliefs, or the accessors Prob, Margin and BeliefRow that serve both.
func (r *Run) Beliefs() *soft.Dense { return r.bel }

// Entropy returns the entropy (nats) of the belief of position i, computed
// by the last Denoise if i was free and uncommitted then; NaN under
// Options.NoEntropy unless the sampler called NeedEntropy. It is
// draw.Entropy of the row: in the default build the table logarithm, in a
// GOEXPERIMENT=simd build a vector kernel within 1e-6·max(1, H) nats of
// the exact entropy, so the two builds' orderings by entropy (DreamEntropy,
// EB, LRD) can differ only between positions whose entropies agree to
// within about 2e-6·max(1, H).
func (r *Run) Entropy(i int) float64 { return r.ent[i] }

// Argmax returns the most probable token of the belief of position i
// (smallest id on ties), computed by the last Denoise if i was free and
// uncommitted then.
func (r *Run) Argmax(i int) int32 { return r.amax[i] }

// CheckBelief checks the belief row of position i as Denoise checks the
// rows of uncommitted positions: for a sampler that reads the belief of a
// position Denoise did not check (a committed one).
func (r *Run) CheckBelief(i int) error {
	if r.top != nil {
		return r.checkTopBelief(i)
	}
	if _, _, err := checkEntropy(r.bel.Row(i), r.mask, false); err != nil {
		return fmt.Errorf("denoiser call %d: invalid belief at position %d: %w", r.nfe, i, err)
	}
	return nil
}

// Candidate returns a token for uncommitted position i drawn from its
// belief at temperature T (draw.Tempered), using the argmax found by the
// belief check when T ≤ 0.
func (r *Run) Candidate(i int, T float64) int32 {
	if T <= 0 {
		return r.amax[i]
	}
	return draw.Tempered(r.rng, r.BeliefRow(i), T)
}

// MeanEntropy returns the mean belief entropy over the free positions that
// are uncommitted (from the last Denoise's check) and records it as the
// step's StepInfo.MeanEntropy; NaN when entropies are off.
func (r *Run) MeanEntropy() float64 {
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

// SetMeanEntropy records h as the step's StepInfo.MeanEntropy (for a step
// that reuses earlier beliefs, or computes its own statistic).
func (r *Run) SetMeanEntropy(h float64) { r.info.MeanEntropy = h }

// SetTime records t as the step's StepInfo.T without a denoiser call (a
// step that reuses cached beliefs).
func (r *Run) SetTime(t float64) { r.info.T = t }

// SetTau records the SNR time of the step's denoiser call (StepInfo.Tau).
func (r *Run) SetTau(tau float64) { r.info.Tau = tau }

// checkBlock is the number of rows per block of the belief check.
const checkBlock = 16

// checkRows validates the beliefs in r.spare of the uncommitted free rows in
// [lo, hi) and stores their entropies and argmax.
func (r *Run) checkRows(b, lo, hi int) {
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
	return draw.Entropy(p), am, nil
}
