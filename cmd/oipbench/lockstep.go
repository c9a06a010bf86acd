package main

import (
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
	p := &pending{b: m.b, dst: dst, ev: ev, t: t, done: make(chan error, 1)}
	l := m.l
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
	dst, ev, ts := make([]*soft.Dense, len(batch)), make([]*soft.Dense, len(batch)), make([]float64, len(batch))
	for i, p := range batch {
		dst[i], ev[i], ts[i] = p.dst, p.ev, p.t
	}
	f := flush{n: len(batch), start: time.Now()}
	f.err = l.bd.DenoiseBatch(dst, ev, ts)
	f.end = time.Now()
	if l.observe != nil {
		l.observe(f)
	}
	for _, p := range batch {
		p.done <- f.err
	}
}
