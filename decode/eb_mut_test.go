package decode_test

import (
	"math"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// timeRecorder wraps a denoiser and keeps the time t of every call.
type timeRecorder struct {
	den decode.Denoiser
	t   []float64
}

func (r *timeRecorder) Denoise(dst, ev *soft.Dense, t float64) error {
	r.t = append(r.t, t)
	return r.den.Denoise(dst, ev, t)
}

// TestEBStepStatistics: EB on rows A = (0.5, 0.5), B = (0.9, 0.1),
// C = (1, 0) with Gamma 0.2. Entropies by hand: H_A = ln 2 = 0.693147,
// H_B = −(0.9 ln 0.9 + 0.1 ln 0.1) = 0.325083, H_C = 0. Step 0 sorts
// C, B, A; the prefix grows while the running sum ≤ Gamma: {C} (sum 0),
// then {C, B} (sum 0.325 > 0.2, stop): C and B are committed. Step 1
// commits A. The denoiser is called at t = masked/free = 3/3, then 1/3;
// MeanEntropy is the mean over the masked positions: (H_A + H_B)/3 =
// 0.339410 at step 0, H_A at step 1.
func TestEBStepStatistics(t *testing.T) {
	v := tokVocab(t, 2)
	den := &timeRecorder{den: product([]float32{0.5, 0.5}, []float32{0.9, 0.1}, []float32{1, 0})}
	res := gen(t, den, v, 3, decode.EB{Gamma: 0.2}, decode.Options{})
	if len(res.Steps) != 2 {
		t.Fatalf("%d steps, want 2", len(res.Steps))
	}
	if pos, _ := commitsOf(res, 0, v.Mask()); len(pos) != 2 || !(pos[0] == 2 && pos[1] == 1 || pos[0] == 1 && pos[1] == 2) {
		t.Errorf("step 0 committed %v, want {1, 2}", pos)
	}
	wantT := []float64{1, 1.0 / 3}
	if len(den.t) != 2 {
		t.Fatalf("denoiser times %v, want %v", den.t, wantT)
	}
	for k, w := range wantT {
		if !(math.Abs(den.t[k]-w) <= 1e-12) {
			t.Errorf("call %d at t = %v, want %v", k, den.t[k], w)
		}
	}
	for k, w := range []float64{0.339410, 0.693147} {
		if got := res.Steps[k].MeanEntropy; !(math.Abs(got-w) <= 1e-6) {
			t.Errorf("step %d mean entropy %v, want %v", k, got, w)
		}
	}
}

// TestEBLargeGamma: with Gamma 10 above the total entropy (1.018 nats,
// TestEBStepStatistics' rows) the prefix grows to every masked position:
// one step commits all three, and the scan stops at the end of the list.
func TestEBLargeGamma(t *testing.T) {
	v := tokVocab(t, 2)
	res := gen(t, product([]float32{0.5, 0.5}, []float32{0.9, 0.1}, []float32{1, 0}), v, 3, decode.EB{Gamma: 10}, decode.Options{})
	if len(res.Steps) != 1 || res.Steps[0].Committed != 3 {
		t.Fatalf("steps %+v; want 1 step committing 3", res.Steps)
	}
}
