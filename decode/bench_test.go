package decode_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
)

func BenchmarkGenerateSticky3(b *testing.B) {
	m := oracle.Sticky3()
	for _, a := range []decode.Algorithm{decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, decode.SoftSL{}} {
		b.Run(a.Name(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decode.Generate(context.Background(), m, m.Vocab(), 5, a, decode.Options{Steps: 5, Rand: rng}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
