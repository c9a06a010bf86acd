package main

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

// counting records the batch size of every DenoiseBatch call.
type counting struct {
	*nn.Model
	mu    sync.Mutex
	sizes []int
}

func (c *counting) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	c.mu.Lock()
	c.sizes = append(c.sizes, len(ev))
	c.mu.Unlock()
	return c.Model.DenoiseBatch(dst, ev, t)
}

// TestLockstep: B runs in lockstep make one batched call per step for all
// runs still going (runs that finish leave), and each run's tokens are
// those of the same run alone.
func TestLockstep(t *testing.T) {
	m, err := nn.Load("../../remote/testdata/oip-tiny")
	if err != nil {
		t.Fatal(err)
	}
	v, err := soft.NewVocab(m.Config().Tokens, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	const B = 5
	// Runs of different lengths take different numbers of steps (one token
	// per step), and the batched calls mix lengths.
	alg := decode.LLaDA{}
	L := func(b int) int { return 6 + 2*b }
	c := &counting{Model: m}
	ls := newLockstep(c, B)
	var flushes []int
	ls.observe = func(f flush) { flushes = append(flushes, f.n) }
	got := make([]*decode.Result, B)
	var wg sync.WaitGroup
	for b := 0; b < B; b++ {
		wg.Go(func() {
			defer ls.leave()
			var err error
			if got[b], err = decode.Generate(context.Background(), ls.member(b), v, L(b), alg, decode.Options{Seed: uint64(b + 1)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	nfe := make([]int, B)
	for b := 0; b < B; b++ {
		want, err := decode.Generate(context.Background(), m, v, L(b), alg, decode.Options{Seed: uint64(b + 1)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[b].Tokens, want.Tokens) {
			t.Errorf("run %d: lockstep %v, alone %v", b, got[b].Tokens, want.Tokens)
		}
		nfe[b] = want.NFE
	}
	// Call k holds the runs with more than k calls.
	for k, n := range c.sizes {
		want := 0
		for _, x := range nfe {
			if x > k {
				want++
			}
		}
		if n != want {
			t.Fatalf("call %d has %d sequences, want %d (NFE per run %v)", k, n, want, nfe)
		}
	}
	if len(c.sizes) != slices.Max(nfe) || !slices.Equal(flushes, c.sizes) {
		t.Errorf("%d calls %v (observed %v), NFE per run %v", len(c.sizes), c.sizes, flushes, nfe)
	}
}
