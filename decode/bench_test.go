package decode_test

import (
	"context"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// timedDenoiser wraps a denoiser and accumulates the wall time spent in it.
type timedDenoiser struct {
	d  decode.Denoiser
	ns atomic.Int64
}

func (t *timedDenoiser) Denoise(dst, ev *soft.Dense, tt float64) error {
	t0 := time.Now()
	err := t.d.Denoise(dst, ev, tt)
	t.ns.Add(int64(time.Since(t0)))
	return err
}

// overheadAlgs are the samplers whose per-step overhead is measured.
func overheadAlgs() []decode.Algorithm {
	return []decode.Algorithm{
		decode.MDLM{NoCache: true}, decode.LLaDA{}, decode.LLaDA{Temperature: 1}, decode.Dream{}, decode.DreamDefaults(),
		decode.FastDLLM{}, decode.ReMDM{}, decode.EB{}, decode.SoftSL{}, decode.SoftSL{Grid: decode.GridInfo, Rate: decode.RateEntropy},
		decode.LRD{}, decode.Hybrid{Corrector: decode.CorrectGibbs, Moves: 1},
	}
}

// BenchmarkOverhead measures, with a random HMM oracle at L = 64, V = 1000
// (999 tokens + MASK) and S = 64 states (the oracle benchmark's model), the wall time of one Generate run
// of 64 steps, and reports the share of it spent outside the denoiser
// (overhead-%) and the time per step.
//
//	go test ./decode -run '^$' -bench Overhead -benchtime 20x
func BenchmarkOverhead(b *testing.B) {
	h := oracle.RandomHMM(rand.New(rand.NewPCG(1, 1)), 64, 999, 64)
	for _, a := range overheadAlgs() {
		b.Run(a.Name(), func(b *testing.B) {
			td := &timedDenoiser{d: h}
			rng := rand.New(rand.NewPCG(2, 2))
			steps := 0
			b.ReportAllocs()
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				res, err := decode.Generate(context.Background(), td, h.Vocab(), 64, a, decode.Options{Steps: 64, Rand: rng, Workers: 1})
				total += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				steps += len(res.Steps)
			}
			den := time.Duration(td.ns.Load())
			b.ReportMetric(100*float64(total-den)/float64(total), "overhead-%")
			b.ReportMetric(float64(total.Microseconds())/float64(steps), "µs/step")
		})
	}
}

// TestStepLoopDoesNotAllocate: a run's allocations do not grow with the
// number of steps (all buffers are allocated when the run starts).
func TestStepLoopDoesNotAllocate(t *testing.T) {
	// The oracle keeps scratch in a sync.Pool, which a garbage collection
	// empties; keep the collector off so only the sampler's own
	// allocations are counted.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	h := oracle.RandomHMM(rand.New(rand.NewPCG(1, 1)), 4, 20, 32)
	for _, a := range overheadAlgs() {
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
