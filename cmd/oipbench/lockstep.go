package main

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// lockstep runs B independent decode.Generate runs against one batched
// denoiser: each run's Denoise call waits until every run still going has
// made its call, and the last to arrive sends them all as one DenoiseBatch
// (in run order). A run that finishes leaves, so the others do not wait
// for it. Since a BatchDenoiser's beliefs for a sequence do not depend on
// its batch, each run's output is what it would be alone.
//
// (decode's own lockstep API, once it exists, does this inside the
// engine; this driver needs nothing beyond the public Generate.)
type lockstep struct {
	bd      decode.BatchDenoiser
	observe func(f flush) // called after every flush, if set

	mu      sync.Mutex
	active  int
	waiting []*pending
}

type pending struct {
	b       int
	dst, ev *soft.Dense
	top     *soft.TopBeliefs // a top-k request: top and x instead of dst and ev
	x       []int32
	t       float64
	done    chan error
}

// flush describes one batched call.
type flush struct {
	n          int
	start, end time.Time
	err        error
}

func newLockstep(bd decode.BatchDenoiser, runs int) *lockstep {
	return &lockstep{bd: bd, active: runs}
}

// member returns the Denoiser of run b.
func (l *lockstep) member(b int) decode.Denoiser { return member{l, b} }

type member struct {
	l *lockstep
	b int
}

func (m member) Denoise(dst, ev *soft.Dense, t float64) error {
	return m.l.wait(&pending{b: m.b, dst: dst, ev: ev, t: t, done: make(chan error, 1)})
}

// TopK implements decode.TopDenoiser: the batch denoiser's, when it is a
// decode.TopBatchDenoiser (0 otherwise: the dense path).
func (m member) TopK() int {
	if tb, ok := m.l.bd.(decode.TopBatchDenoiser); ok {
		return tb.TopK()
	}
	return 0
}

// DenoiseTop implements decode.TopDenoiser.
func (m member) DenoiseTop(dst *soft.TopBeliefs, x []int32, t float64) error {
	return m.l.wait(&pending{b: m.b, top: dst, x: x, t: t, done: make(chan error, 1)})
}

func (l *lockstep) wait(p *pending) error {
	l.mu.Lock()
	l.waiting = append(l.waiting, p)
	l.maybeFlushLocked()
	return <-p.done
}

// leave reports that a run has finished.
func (l *lockstep) leave() {
	l.mu.Lock()
	l.active--
	l.maybeFlushLocked()
}

// maybeFlushLocked sends the waiting calls once every active run waits; it
// unlocks l.mu.
func (l *lockstep) maybeFlushLocked() {
	if len(l.waiting) == 0 || len(l.waiting) < l.active {
		l.mu.Unlock()
		return
	}
	batch := l.waiting
	l.waiting = nil
	l.mu.Unlock()
	slices.SortFunc(batch, func(a, b *pending) int { return a.b - b.b })
	f := flush{n: len(batch), start: time.Now()}
	f.err = l.call(batch)
	f.end = time.Now()
	if l.observe != nil {
		l.observe(f)
	}
	for _, p := range batch {
		p.done <- f.err
	}
}

// call makes one batched call for batch: top-k when every request is
// (the runs of one configuration take one path), dense otherwise.
func (l *lockstep) call(batch []*pending) error {
	ts := make([]float64, len(batch))
	if tb, ok := l.bd.(decode.TopBatchDenoiser); ok && batch[0].top != nil {
		dst, x := make([]*soft.TopBeliefs, len(batch)), make([][]int32, len(batch))
		for i, p := range batch {
			if p.top == nil {
				return fmt.Errorf("run %d asks for dense beliefs in a top-k batch", p.b)
			}
			dst[i], x[i], ts[i] = p.top, p.x, p.t
		}
		return tb.DenoiseTopBatch(dst, x, ts)
	}
	dst, ev := make([]*soft.Dense, len(batch)), make([]*soft.Dense, len(batch))
	for i, p := range batch {
		if p.top != nil {
			return fmt.Errorf("run %d asks for top-k beliefs in a dense batch", p.b)
		}
		dst[i], ev[i], ts[i] = p.dst, p.ev, p.t
	}
	return l.bd.DenoiseBatch(dst, ev, ts)
}
