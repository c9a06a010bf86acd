package decode_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// meet is a denoiser whose calls wait, up to 3 s, until n calls are in
// progress together: it tells concurrent calls from serial ones.
type meet struct {
	den    decode.Denoiser
	n      int32
	in     atomic.Int32
	all    chan struct{}
	once   sync.Once
	missed atomic.Bool
}

func (m *meet) Denoise(dst, ev *soft.Dense, t float64) error {
	if m.in.Add(1) == m.n {
		m.once.Do(func() { close(m.all) })
	}
	select {
	case <-m.all:
	case <-time.After(3 * time.Second):
		m.missed.Store(true)
	}
	return m.den.Denoise(dst, ev, t)
}

// TestBatchedWorkers: Batched with workers ≠ 1 denoises the sequences of a
// batch on several goroutines (two sequences, workers 2: both calls are in
// progress together), and a batch of one in the calling goroutine without
// allocating, whatever workers (Batched's doc).
func TestBatchedWorkers(t *testing.T) {
	den := product([]float32{0.75, 0.25}, []float32{0.5, 0.5})
	mk := func(n int) (dst, ev []*soft.Dense, tt []float64) {
		for range n {
			dst = append(dst, soft.NewDense(2, 3))
			ev = append(ev, soft.AllMask(2, 3, 2))
			tt = append(tt, 1)
		}
		return dst, ev, tt
	}
	m := &meet{den: den, n: 2, all: make(chan struct{})}
	dst, ev, tt := mk(2)
	if err := decode.Batched(m, 2).DenoiseBatch(dst, ev, tt); err != nil {
		t.Fatal(err)
	}
	if m.missed.Load() {
		t.Error("workers 2: the two sequences were not denoised concurrently")
	}
	if raceEnabled {
		return
	}
	dst, ev, tt = mk(1)
	for _, w := range []int{0, 1, 4} {
		b := decode.Batched(den, w)
		if a := testing.AllocsPerRun(20, func() { _ = b.DenoiseBatch(dst, ev, tt) }); a != 0 {
			t.Errorf("workers %d, batch of one: %v allocations, want 0", w, a)
		}
	}
}

// panicAlg is a sampler whose step panics for the sequence of Options.Seed
// 1 (after one denoiser call) and finishes at once for the others.
type panicAlg struct{}

func (panicAlg) Name() string { return "panic" }
func (panicAlg) Start(r *decode.Run) (decode.Stepper, error) {
	return panicStep{r}, nil
}

type panicStep struct{ r *decode.Run }

func (s panicStep) Step(k int) (bool, error) {
	if err := s.r.Denoise(1); err != nil {
		return false, err
	}
	if s.r.Options().Seed == 1 {
		panic("sampler panic in sequence 1")
	}
	for _, i := range s.r.Free() {
		s.r.SetToken(i, 0)
	}
	return true, nil
}

// TestGenerateBatchPanic: a panic inside one sequence's run is not lost:
// GenerateBatch panics with the same value once the batch is over.
func TestGenerateBatchPanic(t *testing.T) {
	v := tokVocab(t, 2)
	defer func() {
		if p := recover(); fmt.Sprint(p) != "sampler panic in sequence 1" {
			t.Fatalf("recovered %v, want the sampler's panic", p)
		}
	}()
	decode.GenerateBatch(context.Background(), decode.Batched(product([]float32{0.5, 0.5}), 1), v, 1, panicAlg{}, []decode.Options{{Seed: 0}, {Seed: 1}, {Seed: 2}})
	t.Fatal("GenerateBatch returned")
}

// slowStart delays each step of sequence j (Options.Seed j) by (3 − j)·5 ms
// before LLaDA's step, so that the requests of a round reach the batcher in
// the order 3, 2, 1, 0.
type slowStart struct{ decode.LLaDA }

func (a slowStart) Start(r *decode.Run) (decode.Stepper, error) {
	st, err := a.LLaDA.Start(r)
	return slowStep{st, time.Duration(3-int(r.Options().Seed)) * 5 * time.Millisecond}, err
}

type slowStep struct {
	decode.Stepper
	d time.Duration
}

func (s slowStep) Step(k int) (bool, error) {
	time.Sleep(s.d)
	return s.Stepper.Step(k)
}

// seqOrder records, per DenoiseBatch call, the sequences in the order
// given, each known by its fixed first token.
type seqOrder struct {
	den   decode.BatchDenoiser
	mu    sync.Mutex
	calls [][]int
}

func (o *seqOrder) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	var ids []int
	for _, e := range ev {
		ids = append(ids, int(soft.Argmax(e.Row(0))))
	}
	o.mu.Lock()
	o.calls = append(o.calls, ids)
	o.mu.Unlock()
	return o.den.DenoiseBatch(dst, ev, t)
}

// TestGenerateBatchOrder: the requests of a round reach DenoiseBatch in
// increasing sequence order, whatever order they arrive in (GenerateBatch's
// doc): four sequences, sequence j with token j fixed at position 0,
// arriving in the order 3, 2, 1, 0; LLaDA Steps 2 on the 2 free positions:
// 2 calls of [0 1 2 3].
func TestGenerateBatchOrder(t *testing.T) {
	v := tokVocab(t, 4)
	row := []float32{0.25, 0.25, 0.25, 0.25}
	rec := &seqOrder{den: decode.Batched(product(row, row, row), 1)}
	opts := make([]decode.Options, 4)
	for j := range opts {
		opts[j] = decode.Options{Seed: uint64(j), Steps: 2, Fixed: []int32{int32(j), soft.NoToken, soft.NoToken}}
	}
	if _, err := decode.GenerateBatch(context.Background(), rec, v, 3, slowStart{}, opts); err != nil {
		t.Fatal(err)
	}
	if len(rec.calls) != 2 {
		t.Fatalf("calls %v, want 2", rec.calls)
	}
	for _, c := range rec.calls {
		if !slices.Equal(c, []int{0, 1, 2, 3}) {
			t.Errorf("calls %v, want each [0 1 2 3]", rec.calls)
		}
	}
}
