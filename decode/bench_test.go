package decode_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// timedDenoiser wraps a denoiser and accumulates the wall time and the
// thread CPU time spent in it.
type timedDenoiser struct {
	d     decode.Denoiser
	ns    atomic.Int64
	cpu   atomic.Int64
	cpuOK bool
}

func (t *timedDenoiser) Denoise(dst, ev *soft.Dense, tt float64) error {
	c0, _ := threadCPU()
	t0 := time.Now()
	err := t.d.Denoise(dst, ev, tt)
	t.ns.Add(int64(time.Since(t0)))
	c1, _ := threadCPU()
	t.cpu.Add(int64(c1 - c0))
	return err
}

// overheadAlgs are the samplers whose per-step overhead is measured.
func overheadAlgs() []decode.Algorithm {
	// (NoEntropy variants are run by BenchmarkOverhead for the samplers
	// whose rule needs no entropies.)
	return []decode.Algorithm{
		decode.MDLM{NoCache: true}, decode.LLaDA{}, decode.LLaDA{Temperature: 1}, decode.Dream{}, decode.DreamDefaults(),
		decode.FastDLLM{}, decode.ReMDM{}, decode.EB{}, decode.SoftSL{}, decode.SoftSL{Grid: decode.GridInfo, Rate: decode.RateEntropy},
		decode.LRD{}, decode.Hybrid{Corrector: decode.CorrectGibbs, Moves: 1},
	}
}

// BenchmarkOverhead measures, with the oracle benchmark's HMM (random, S = 64
// states, V = 1000 = 999 tokens + MASK, L = 64), Generate runs of 64 steps
// with Workers 1 on a goroutine locked to its thread. It reports
//
//   - step-overhead-%: the share of a step's thread CPU time spent outside
//     the denoiser, over steps 1..end of each run (between consecutive
//     Progress calls, so run setup is excluded; CPU time does not count
//     waiting for a core on a loaded machine);
//
//   - run-overhead-%: the same share by wall time over whole runs, setup
//     and result included;
//
//   - µs/step: wall time per step.
//
//     go test ./decode -run '^$' -bench Overhead -benchtime 10x
func BenchmarkOverhead(b *testing.B) {
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(1, 1)), 64, 999, 64)
	if err != nil {
		b.Fatal(err)
	}
	type variant struct {
		a     decode.Algorithm
		noEnt bool
	}
	var vs []variant
	for _, a := range overheadAlgs() {
		vs = append(vs, variant{a, false})
		switch a.(type) {
		case decode.MDLM, decode.LLaDA, decode.FastDLLM, decode.ReMDM:
			vs = append(vs, variant{a, true})
		}
	}
	for _, v := range vs {
		a := v.a
		name := a.Name()
		if v.noEnt {
			name += "-noentropy"
		}
		b.Run(name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			td := &timedDenoiser{d: h}
			rng := rand.New(rand.NewPCG(2, 2))
			steps := 0
			var total time.Duration
			var stepCPU, stepDen, prev, prevDen time.Duration
			have := false
			progress := func(decode.StepInfo) {
				now, ok := threadCPU()
				den := time.Duration(td.cpu.Load())
				if ok && have {
					stepCPU += now - prev
					stepDen += den - prevDen
				}
				prev, prevDen, have = now, den, ok
			}
			b.ReportAllocs()
			for b.Loop() {
				have = false
				t0 := time.Now()
				res, err := decode.Generate(context.Background(), td, h.Vocab(), 64, a,
					decode.Options{Steps: 64, Rand: rng, Workers: 1, Progress: progress, NoEntropy: v.noEnt})
				total += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				steps += len(res.Steps)
			}
			den := time.Duration(td.ns.Load())
			if stepCPU > 0 {
				b.ReportMetric(100*float64(stepCPU-stepDen)/float64(stepCPU), "step-overhead-%")
			}
			b.ReportMetric(100*float64(total-den)/float64(total), "run-overhead-%")
			b.ReportMetric(float64(total.Microseconds())/float64(steps), "µs/step")
		})
	}
}

// TestStepLoopDoesNotAllocate: a run's allocations do not grow with the
// number of steps (all buffers are allocated when the run starts).
func TestStepLoopDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	// The oracle keeps scratch in a sync.Pool, which a garbage collection
	// empties; keep the collector off so only the sampler's own
	// allocations are counted.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(1, 1)), 4, 20, 32)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := kernels.NewAbsorbing(21, h.Vocab().Mask(), nil)
	if err != nil {
		t.Fatal(err)
	}
	algs := append(overheadAlgs(), decode.CART{Temperature: 1}, decode.KernelAncestral{Kernel: ab})
	for _, a := range algs {
		allocs := func(steps int) float64 {
			rng := rand.New(rand.NewPCG(2, 2))
			return testing.AllocsPerRun(5, func() {
				if _, err := decode.Generate(context.Background(), h, h.Vocab(), 32, a, decode.Options{Steps: steps, Rand: rng, Workers: 1}); err != nil {
					t.Fatal(err)
				}
			})
		}
		a8, a32 := allocs(8), allocs(32)
		if a32 > a8 {
			t.Errorf("%s: %v allocations at 8 steps, %v at 32: the step loop allocates", a.Name(), a8, a32)
		}
	}
	// GenerateBatch: the lockstep exchange allocates nothing per step either
	// (the batched oracle's parallel dispatch does, so it runs at
	// GOMAXPROCS 1 through Batched(h, 1)).
	batch := func(steps int) float64 {
		opts := []decode.Options{{Steps: steps, Workers: 1}, {Steps: steps, Workers: 1, Seed: 1}}
		return testing.AllocsPerRun(5, func() {
			if _, err := decode.GenerateBatch(context.Background(), decode.Batched(h, 1), h.Vocab(), 32, decode.LLaDA{Temperature: 1}, opts); err != nil {
				t.Fatal(err)
			}
		})
	}
	if b8, b32 := batch(8), batch(32); b32 > b8 {
		t.Errorf("GenerateBatch: %v allocations at 8 steps, %v at 32: the lockstep loop allocates", b8, b32)
	}
}

func BenchmarkSticky3SL(b *testing.B) {
	m := oracle.Sticky3()
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode.Generate(context.Background(), m, m.Vocab(), 5, decode.SoftSL{}, decode.Options{Steps: 32, Rand: rng}); err != nil {
			b.Fatal(err)
		}
	}
}
