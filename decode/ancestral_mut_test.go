package decode_test

import (
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
)

// TestKernelAncestralFirstStep: the absorbing kernel with the linear
// schedule α(t) = 1 − t, Steps 2 on the uniform grid 1, 0.5, 0. Step 0
// (t = 1 → s = 0.5) is not the last: a masked position moves to token v
// with probability x0(v)(α_s − α_t)/(1 − α_t) = x0(v)·0.5 and stays masked
// with (1 − α_s)/(1 − α_t) = 0.5, so half the positions are committed;
// step 1 (s = 0) draws every remaining position from its belief. Over 50
// runs of 64 positions the step-0 rate is 0.5 ± 5·√(0.25/3200) = 0.044; a
// run that drew from the beliefs at step 0 (treating it as the last)
// commits all 64 there. Every run takes both steps (two denoiser calls).
func TestKernelAncestralFirstStep(t *testing.T) {
	v := tokVocab(t, 2)
	ab, err := kernels.NewAbsorbing(v.Size(), v.Mask(), kernels.Linear{})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float32, 64)
	for i := range rows {
		rows[i] = []float32{0.75, 0.25}
	}
	rng := rand.New(rand.NewPCG(31, 32))
	k, n := 0, 0
	for range 50 {
		res := gen(t, product(rows...), v, 64, decode.KernelAncestral{Kernel: ab}, decode.Options{Steps: 2, Rand: rng})
		if len(res.Steps) != 2 || res.NFE != 2 || res.Steps[1].Committed != 64 {
			t.Fatalf("steps %d, NFE %d, committed at the end %d; want 2, 2, 64", len(res.Steps), res.NFE, res.Steps[len(res.Steps)-1].Committed)
		}
		k += res.Steps[0].Committed
		n += 64
	}
	if f := float64(k) / float64(n); !within(f, 0.5, binTol(0.5, n)) {
		t.Errorf("step 0 commit rate %.4f, want 0.5", f)
	}
}
