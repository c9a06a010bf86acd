package decode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// Algorithm is a sampler with its configuration: a small struct whose zero
// value is a documented default, passed to Generate. Start validates the
// configuration against the run (an invalid setting is an error, never a
// panic), allocates every buffer the run needs, and returns the Stepper that
// advances it. Name returns the sampler's name as the experiments' tables
// print it; it must not panic, whatever the configuration.
//
// Any type can be an Algorithm: the built-in samplers use only the exported
// methods of Run.
type Algorithm interface {
	Name() string
	Start(r *Run) (Stepper, error)
}

// Stepper advances a run by one step, usually one denoiser call. Step(k) is
// called with k = 0, 1, … until it reports done or returns an error, or
// until no free position is left uncommitted. After done every position must
// have an identity. A step should not allocate: buffers belong in Start.
type Stepper interface {
	Step(k int) (done bool, err error)
}

// Options are the settings shared by every sampler; each sampler's doc says
// how it reads Steps, BlockLen and NoEntropy. The zero value is a safe
// default.
type Options struct {
	// Steps is the sampler's step budget; 0 means the number of free
	// positions.
	Steps int
	// BlockLen is the length of the semi-autoregressive blocks, counted in
	// free positions (fixed positions are skipped, not counted); 0 means one
	// block of all free positions. Only block samplers read it.
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
	// Record keeps the trace: the tokens after every step in
	// Result.Trajectory, every change of identity in Result.Changes (and per
	// step in StepInfo.Changes), and the end state in Result.Final.
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
	// NoEntropy skips the per-step mean-entropy statistic: StepInfo.MeanEntropy
	// is then NaN and a step saves one transcendental pass over the beliefs.
	// Samplers whose rule reads entropies compute them anyway.
	NoEntropy bool
	// Final, if set, replaces what the sampler committed after its last
	// denoiser call by a joint decode of the end state (see FinalDecoder),
	// scored by Scorer; its scorer calls are counted in Result.JointEvals,
	// not in the NFE. A run that CompleteOnError completed after a denoiser
	// error is left as CompleteOnError completed it (no final decode).
	Final FinalDecoder
	// Scorer is the joint scorer of Final.
	Scorer JointScorer
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
	// Changes lists the changes of the step in the order they were made,
	// under Options.Record (nil otherwise): a view into Result.Changes.
	Changes []Change
}

// Change is one change of identity: position Pos went from token From to
// token To, either of which may be the MASK id (From MASK: a commit; To
// MASK: a re-mask; neither: a change of committed token).
type Change struct {
	Pos      int
	From, To int32
}

// Result is the outcome of one run.
type Result struct {
	Tokens []int32 // the generated sequence, length L, no MASK
	NFE    int     // denoiser calls used
	Steps  []StepInfo
	// Trajectory holds the tokens after every step when Options.Record is
	// set (the MASK id where uncommitted).
	Trajectory [][]int32
	// Changes holds every change of identity in order, under Options.Record;
	// StepInfo.Changes are views into it. A final decode's changes are not
	// included (they belong to no step).
	Changes []Change
	// Beliefs are the beliefs of the last successful denoiser call (L×K).
	// For hard samplers that call is made at the start of the last step, so
	// these are the beliefs given the state before the last step's commits
	// (for Steps 1: the prior marginals); for SoftSL they are the final
	// beliefs the last parallel draw used. Rows of positions committed before
	// that call are as the denoiser returned them (unchecked).
	Beliefs *soft.Dense
	// TopBeliefs replaces Beliefs (then nil) on the top-k belief path (see
	// TopSampler): the same call's answer as top-k rows.
	TopBeliefs *soft.TopBeliefs
	// Final is the end state a final decoder reads (the last successful
	// denoiser call's evidence, identities and beliefs), kept under
	// Options.Record or Options.Final; nil otherwise.
	Final *FinalState
	// JointEvals counts the joint-scorer calls of Options.Final, kept apart
	// from the NFE.
	JointEvals int
	// Err is the denoiser error that ended the run early under
	// Options.CompleteOnError, or nil.
	Err error
}

// ErrNFEBudget is returned (wrapped) when a run reaches Options.MaxNFE.
var ErrNFEBudget = errors.New("decode: NFE budget exhausted")

// Generate samples one sequence of length L from den with alg. den's beliefs
// must be over v's K = v.Size() states, and v must have a MASK token. The
// run stops when every position is committed, with an error if ctx is
// cancelled, the denoiser fails, or Options.MaxNFE is reached; a bad
// argument or setting is an error, never a panic.
//
// Runs are deterministic given the random source: the same seed gives the
// same tokens at any GOMAXPROCS and any Options.Workers (a concurrent
// denoiser must itself be deterministic).
func Generate(ctx context.Context, den Denoiser, v *soft.Vocab, L int, alg Algorithm, opts Options) (*Result, error) {
	if den == nil || alg == nil {
		return nil, errors.New("decode.Generate: nil denoiser or algorithm")
	}
	r, err := newRunTop(ctx, den.Denoise, topOf(den, alg, opts), v, L, opts)
	if err != nil {
		return nil, fmt.Errorf("decode.Generate: %w", err)
	}
	return r.generate(alg)
}

// generate runs alg on r to the end.
func (r *Run) generate(alg Algorithm) (*Result, error) {
	name := alg.Name()
	if (r.opts.Final == nil) != (r.opts.Scorer == nil) {
		return nil, fmt.Errorf("decode.Generate %s: Options.Final and Options.Scorer go together", name)
	}
	st, err := alg.Start(r)
	if err != nil {
		return nil, fmt.Errorf("decode.Generate %s: %w", name, err)
	}
	if st == nil {
		return nil, fmt.Errorf("decode.Generate %s: Start returned no stepper", name)
	}
	opts := r.opts
	for k := 0; len(r.free) > 0; k++ {
		if err := r.ctx.Err(); err != nil {
			return r.finish(), err
		}
		r.step = k
		r.info = StepInfo{Step: k, T: math.NaN()}
		nch := len(r.changes)
		done, err := st.Step(k)
		if err != nil {
			err = fmt.Errorf("decode.Generate %s step %d: %w", name, k, err)
			if !opts.CompleteOnError || !r.haveBel || !r.denoiserFailed || errors.Is(err, ErrNFEBudget) {
				return r.finish(), err
			}
			r.res.Err = err
			for _, i := range r.free {
				if r.x[i] == r.mask {
					r.setTok(i, soft.Sample(r.rng, r.BeliefRow(i)))
				}
			}
			done = true
		}
		r.info.NFE = r.nfe
		r.info.Committed = r.NumCommitted()
		if opts.Record {
			r.info.Changes = r.changes[nch:len(r.changes):len(r.changes)]
			r.res.Trajectory = append(r.res.Trajectory, append([]int32(nil), r.x...))
		}
		r.res.Steps = append(r.res.Steps, r.info)
		if opts.Progress != nil {
			opts.Progress(r.info)
		}
		if done {
			break
		}
	}
	for i, id := range r.x {
		if id == r.mask {
			return r.finish(), fmt.Errorf("decode.Generate %s: position %d left uncommitted", name, i)
		}
	}
	res := r.finish()
	if opts.Final != nil && r.haveBel && res.Err == nil {
		d, err := opts.Final.Decode(r.ctx, res.Final, opts.Scorer, r.rng)
		if err != nil {
			return res, fmt.Errorf("decode.Generate %s: final decode %s: %w", name, opts.Final.Name(), err)
		}
		if err := res.Final.checkDecoded(d.Tokens); err != nil {
			return res, fmt.Errorf("decode.Generate %s: final decode %s: %w", name, opts.Final.Name(), err)
		}
		copy(r.x, d.Tokens)
		res.JointEvals += d.Evals
	}
	res.Tokens = r.x
	return res, nil
}

// finish fills the result's counters and end state.
func (r *Run) finish() *Result {
	r.res.NFE = r.nfe
	r.res.Beliefs = r.bel
	r.res.TopBeliefs = r.top
	if r.opts.Record {
		r.res.Changes = r.changes
		// re-point every step's view at the final backing array
		n := 0
		for s := range r.res.Steps {
			c := len(r.res.Steps[s].Changes)
			r.res.Steps[s].Changes = r.changes[n : n+c : n+c]
			n += c
		}
	}
	if r.keepFinal && r.haveBel {
		r.res.Final = &FinalState{Vocab: r.vocab, Beliefs: r.bel, Evidence: r.finEv, Tokens: r.finX, Fixed: r.fixed}
	}
	return r.res
}
