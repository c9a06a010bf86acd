package decode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/softdiff/softdiff/soft"
)

// Batched returns den as a BatchDenoiser: DenoiseBatch calls den.Denoise on
// every sequence, on up to workers goroutines (≤ 0: GOMAXPROCS; 1: in the
// calling goroutine, without allocating; a batch of one sequence likewise,
// whatever workers). The beliefs do not depend on workers or on the batch.
// An error names the first failing sequence.
func Batched(den Denoiser, workers int) BatchDenoiser {
	return batched{den: den, workers: workers}
}

type batched struct {
	den     Denoiser
	workers int
}

func (b batched) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	if err := checkBatch(dst, ev, t); err != nil {
		return err
	}
	if b.workers == 1 || len(ev) == 1 {
		for j := range ev {
			if err := b.den.Denoise(dst[j], ev[j], t[j]); err != nil {
				return fmt.Errorf("sequence %d: %w", j, err)
			}
		}
		return nil
	}
	errs := make([]error, len(ev))
	soft.ForBlocks(len(ev), 1, b.workers, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			errs[j] = b.den.Denoise(dst[j], ev[j], t[j])
		}
	})
	for j, err := range errs {
		if err != nil {
			return fmt.Errorf("sequence %d: %w", j, err)
		}
	}
	return nil
}

// checkBatch checks the three slices of a batch call have one equal length
// B ≥ 1 and no nil entries.
func checkBatch(dst, ev []*soft.Dense, t []float64) error {
	if len(ev) == 0 || len(dst) != len(ev) || len(t) != len(ev) {
		return fmt.Errorf("batch of %d destinations, %d evidence states, %d times", len(dst), len(ev), len(t))
	}
	for j := range ev {
		if dst[j] == nil || ev[j] == nil {
			return fmt.Errorf("sequence %d: nil destination or evidence", j)
		}
	}
	return nil
}

// Unbatched returns b as a Denoiser: each Denoise is a batch of one. It
// does not allocate in steady state.
func Unbatched(b BatchDenoiser) Denoiser { return &unbatched{b: b} }

type unbatched struct {
	b    BatchDenoiser
	pool sync.Pool
}

type oneBatch struct {
	dst, ev [1]*soft.Dense
	t       [1]float64
}

func (u *unbatched) Denoise(dst, ev *soft.Dense, t float64) error {
	s, _ := u.pool.Get().(*oneBatch)
	if s == nil {
		s = new(oneBatch)
	}
	s.dst[0], s.ev[0], s.t[0] = dst, ev, t
	err := u.b.DenoiseBatch(s.dst[:], s.ev[:], s.t[:])
	s.dst[0], s.ev[0] = nil, nil
	u.pool.Put(s)
	return err
}

// GenerateBatch runs len(opts) independent generations of length L with alg
// in lockstep, one Options per sequence (each with its own seed or random
// source, prompt and budget): whenever every unfinished run is waiting for
// beliefs, their requests go to den in one DenoiseBatch call (in increasing
// sequence order, whatever order they arrived in), so a learned
// model is called once per step for the whole batch. Runs that need no call
// in a step (a cache), or that finish early, simply drop out of that batch.
//
// Each sequence's Result is exactly what Generate with Unbatched(den) and
// the same Options returns: its output does not depend on the batch size,
// the other sequences or GOMAXPROCS. The NFE of each Result counts its own
// sequence's calls. When a batch call fails, its requests are retried one
// sequence at a time, so that a denoiser error (for example the marginal
// trap of an exact oracle) concerns only the sequence it belongs to.
//
// The returned error joins the errors of the failed sequences, each
// prefixed by "sequence j"; the Results of the others are complete (a
// failed sequence's Result is what Generate returns with its error, or nil
// when the run could not start).
func GenerateBatch(ctx context.Context, den BatchDenoiser, v *soft.Vocab, L int, alg Algorithm, opts []Options) ([]*Result, error) {
	if den == nil || alg == nil {
		return nil, errors.New("decode.GenerateBatch: nil denoiser or algorithm")
	}
	if len(opts) == 0 {
		return nil, errors.New("decode.GenerateBatch: no sequences")
	}
	B := len(opts)
	bt := &batcher{den: den, topBatch: newTopBatch(den, B), reqs: make(chan batchReq, B), resp: make([]chan error, B),
		dst: make([]*soft.Dense, 0, B), ev: make([]*soft.Dense, 0, B), t: make([]float64, 0, B), pend: make([]batchReq, 0, B)}
	results := make([]*Result, B)
	errs := make([]error, B)
	runs := make([]*Run, B)
	live := 0
	for j := range opts {
		bt.resp[j] = make(chan error, 1)
		call := func(dst, ev *soft.Dense, t float64) error {
			bt.reqs <- batchReq{seq: j, dst: dst, ev: ev, t: t}
			return <-bt.resp[j]
		}
		r, err := newRunTop(ctx, call, bt.topSource(j, alg, opts[j]), v, L, opts[j])
		if err != nil {
			errs[j] = fmt.Errorf("sequence %d: decode.GenerateBatch: %w", j, err)
			continue
		}
		runs[j] = r
		live++
	}
	panics := make([]any, B)
	for j, r := range runs {
		if r == nil {
			continue
		}
		go func() {
			defer func() {
				if p := recover(); p != nil {
					panics[j] = p
				}
				bt.reqs <- batchReq{seq: j, done: true}
			}()
			res, err := r.generate(alg)
			results[j] = res
			if err != nil {
				errs[j] = fmt.Errorf("sequence %d: %w", j, err)
			}
		}()
	}
	for live > 0 {
		q := <-bt.reqs
		if q.done {
			live--
		} else {
			bt.pend = append(bt.pend, q)
		}
		if len(bt.pend) == live && live > 0 {
			bt.flush()
		}
	}
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
	return results, errors.Join(errs...)
}

// batchReq is one run's denoiser request, or (done) its end.
type batchReq struct {
	seq     int
	dst, ev *soft.Dense
	t       float64
	done    bool
	top     *soft.TopBeliefs // a top-k request: top and x instead of dst and ev
	x       []int32
}

// batcher gathers the requests of the runs of GenerateBatch.
type batcher struct {
	den   BatchDenoiser
	reqs  chan batchReq
	resp  []chan error
	pend  []batchReq
	dst   []*soft.Dense
	ev    []*soft.Dense
	t     []float64
	one   [1]*soft.Dense
	oneEv [1]*soft.Dense
	oneT  [1]float64
	topBatch
}

// flush answers every pending request with one batch call (in sequence
// order), retrying one by one if it fails.
func (b *batcher) flush() {
	slices.SortFunc(b.pend, func(x, y batchReq) int { return x.seq - y.seq })
	if b.flushTop(); len(b.pend) == 0 {
		return
	}
	b.dst, b.ev, b.t = b.dst[:0], b.ev[:0], b.t[:0]
	for _, q := range b.pend {
		b.dst = append(b.dst, q.dst)
		b.ev = append(b.ev, q.ev)
		b.t = append(b.t, q.t)
	}
	if err := b.den.DenoiseBatch(b.dst, b.ev, b.t); err == nil {
		for _, q := range b.pend {
			b.resp[q.seq] <- nil
		}
	} else {
		for _, q := range b.pend {
			b.one[0], b.oneEv[0], b.oneT[0] = q.dst, q.ev, q.t
			b.resp[q.seq] <- b.den.DenoiseBatch(b.one[:], b.oneEv[:], b.oneT[:])
		}
		b.one[0], b.oneEv[0] = nil, nil
	}
	b.pend = b.pend[:0]
}
