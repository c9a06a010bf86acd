package lab

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"
)

// TestETAUnevenUnits simulates a one-worker run of a grid whose second half
// of units costs ten times the first (as a sweep over step counts does),
// three seeds, in Run's seed-major order. After the first pass has measured
// every unit, the estimate of the time left must be exact (each unit's
// items cost the same); a uniform per-item estimate, elapsed·left/done, is
// far too optimistic there (the failure this replaces: at 62% done it
// predicted 12 s left of an actual 40 s).
func TestETAUnevenUnits(t *testing.T) {
	const nu, seeds = 10, 3
	cost := func(u int) time.Duration {
		if u < nu/2 {
			return time.Second
		}
		return 10 * time.Second
	}
	var order []int
	for s := 0; s < seeds; s++ {
		for u := 0; u < nu; u++ {
			order = append(order, u)
		}
	}
	var total time.Duration
	for _, u := range order {
		total += cost(u)
	}
	e := newETA(nu, order)
	if r := e.remaining(0); r >= 0 {
		t.Fatalf("before any item: %v, want negative (unknown)", r)
	}
	var elapsed time.Duration
	worstUniform := 0.0
	for i, u := range order {
		e.finish(u, cost(u))
		elapsed += cost(u)
		truth := total - elapsed
		got := e.remaining(elapsed)
		if i+1 >= nu {
			if !(math.Abs(got.Seconds()-truth.Seconds()) <= 1e-6) {
				t.Errorf("after %d items: estimate %v, true %v", i+1, got, truth)
			}
		}
		if truth > 0 && i+1 < len(order) {
			done := float64(i + 1)
			uniform := elapsed.Seconds() * (float64(len(order)) - done) / done
			worstUniform = math.Max(worstUniform, math.Abs(uniform-truth.Seconds())/truth.Seconds())
		}
	}
	// The uniform estimate is off by more than 40% somewhere in this run, so
	// the test above checks something a per-item count cannot do.
	if !(worstUniform > 0.4) {
		t.Errorf("uniform estimate's worst relative error %v: the fixture is not uneven enough", worstUniform)
	}
}

// TestETAParallel: with w workers running items side by side, the estimate
// divides the work left by the measured throughput, not by one worker.
func TestETAParallel(t *testing.T) {
	order := []int{0, 0, 0, 0}
	e := newETA(1, order)
	// Two workers: two 2-second items finish at wall time 2 s.
	e.finish(0, 2*time.Second)
	e.finish(0, 2*time.Second)
	// Two items of 2 s left on two workers: 2 s of wall time.
	if got := e.remaining(2 * time.Second); !(math.Abs(got.Seconds()-2) <= 1e-9) {
		t.Fatalf("remaining %v, want 2s", got)
	}
}

type recordProgress struct {
	mu     sync.Mutex
	total  int
	states []ProgressState
}

func (p *recordProgress) Begin(_ string, n int) { p.total = n }
func (p *recordProgress) Update(s ProgressState) {
	p.mu.Lock()
	p.states = append(p.states, s)
	p.mu.Unlock()
}
func (p *recordProgress) End() {}

// TestRunReportsProgress: Run calls Update once per item, in order, with a
// known estimate after the first and none left at the end.
func TestRunReportsProgress(t *testing.T) {
	p := &recordProgress{}
	cfg := toyCoin.Config(true)
	cfg.Workers = 2
	if _, err := Run(context.Background(), toyCoin, cfg, p); err != nil {
		t.Fatal(err)
	}
	if p.total != 3*QuickSeeds || len(p.states) != p.total {
		t.Fatalf("Begin total %d, %d updates; want %d", p.total, len(p.states), 3*QuickSeeds)
	}
	for i, s := range p.states {
		if s.Done != i+1 || s.Total != p.total || s.Remaining < 0 {
			t.Errorf("update %d: %+v", i, s)
		}
	}
	if last := p.states[len(p.states)-1]; last.Remaining != 0 {
		t.Errorf("last update leaves %v", last.Remaining)
	}
}
