package oracle_test

import (
	"math"
	"testing"

	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// benchEvidence builds B masked-diffusion evidence states (each position
// all-MASK or one-hot with probability ½) or dense soft states.
func benchEvidence(soft_ bool, B, L, K int) ([]*soft.Dense, []*soft.Dense) {
	rng := newRand(2)
	evs, dsts := make([]*soft.Dense, B), make([]*soft.Dense, B)
	for j := range evs {
		ev := soft.NewDense(L, K)
		for i := 0; i < L; i++ {
			row := ev.Row(i)
			switch {
			case soft_:
				sum := 0.0
				for v := 0; v < K-1; v++ {
					x := math.Exp(2 * rng.NormFloat64())
					row[v] = float32(x)
					sum += x
				}
				for v := 0; v < K-1; v++ {
					row[v] = float32(0.5 * float64(row[v]) / sum)
				}
				row[K-1] = 0.5
			case rng.IntN(2) == 0:
				row[K-1] = 1
			default:
				row[rng.IntN(K-1)] = 1
			}
		}
		evs[j], dsts[j] = ev, soft.NewDense(L, K)
	}
	return evs, dsts
}

// BenchmarkHMMBatch: forward–backward with token posteriors, S=64, V=1000,
// L=64, a batch of 256 sequences (docs/perf.md "## oracle").
func BenchmarkHMMBatch(b *testing.B) {
	h := must(oracle.RandomHMM(newRand(1), 64, 1000, 64))
	for _, kind := range []string{"masked", "soft"} {
		b.Run(kind, func(b *testing.B) {
			evs, dsts := benchEvidence(kind == "soft", 256, 64, 1001)
			ts := make([]float64, len(evs))
			b.ReportAllocs()
			for b.Loop() {
				if err := h.DenoiseBatch(dsts, evs, ts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
