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

// TestEBGammaTie: the prefix rule ΣH − max H ≤ Gamma includes equality.
// Entropies of rows of powers of two are exact: H(1, 0) = 0 and
// H(0.5, 0.5) = ln 2, which the run computes as exactly math.Ln2
// (checked first through StepInfo.MeanEntropy of a one-position run).
//
//	rows (0.5, 0.5), (1, 0), (1, 0), Gamma 0: sorted 1, 2, 0 (H 0, 0,
//	ln 2); the prefix of all three has ΣH − max H = 0 + 0 + ln 2 − ln 2 =
//	0 ≤ 0, so step 0 commits all three.
//	rows (1, 0), (0.5, 0.5) ×3, Gamma ln 2: sorted 0, 1, 2, 3; the
//	prefix {0, 1, 2} has ΣH − max H = 0 + ln 2 = ln 2 ≤ ln 2, the prefix of
//	four 2 ln 2 > ln 2: step 0 commits 0, 1, 2.
func TestEBGammaTie(t *testing.T) {
	v := tokVocab(t, 2)
	half, one := []float32{0.5, 0.5}, []float32{1, 0}
	res := gen(t, product(half), v, 1, decode.EB{}, decode.Options{})
	if h := res.Steps[0].MeanEntropy; h != math.Ln2 {
		t.Fatalf("entropy of (0.5, 0.5) is %v, not exactly ln 2 = %v: the tie construction needs re-deriving", h, math.Ln2)
	}
	for _, tc := range []struct {
		rows  [][]float32
		gamma float64
		want  []int
	}{
		{[][]float32{half, one, one}, 0, []int{0, 1, 2}},
		{[][]float32{one, half, half, half}, math.Ln2, []int{0, 1, 2}},
	} {
		res := gen(t, product(tc.rows...), v, len(tc.rows), decode.EB{Gamma: tc.gamma}, decode.Options{})
		pos, _ := commitsOf(res, 0, v.Mask())
		got := map[int]bool{}
		for _, i := range pos {
			got[i] = true
		}
		if len(pos) != len(tc.want) || len(got) != len(pos) {
			t.Errorf("Gamma %v: step 0 committed %v, want %v", tc.gamma, pos, tc.want)
			continue
		}
		for _, i := range tc.want {
			if !got[i] {
				t.Errorf("Gamma %v: step 0 committed %v, want %v", tc.gamma, pos, tc.want)
				break
			}
		}
	}
}

// TestEBSettings: Gamma and Temperature must be finite and ≥ 0 (for "no
// bound", any Gamma at least the total entropy, e.g. math.MaxFloat64,
// commits every masked position in the first step). 0 and math.MaxFloat64
// are accepted; −1e-300, NaN and +Inf of either are rejected before any
// call, both +Inf included.
func TestEBSettings(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.5, 0.5}, []float32{0.9, 0.1}, []float32{1, 0})
	for _, m := range []decode.EB{{}, {Temperature: math.MaxFloat64}, {Gamma: math.MaxFloat64}, {Gamma: math.MaxFloat64, Temperature: math.MaxFloat64}} {
		res, err := decode.Generate(t.Context(), den, v, 3, m, decode.Options{Seed: 1})
		if err != nil {
			t.Errorf("%+v rejected: %v", m, err)
			continue
		}
		if m.Gamma == math.MaxFloat64 && len(res.Steps) != 1 {
			t.Errorf("%+v: %d steps, want 1", m, len(res.Steps))
		}
	}
	inf, nan := math.Inf(1), math.NaN()
	for _, m := range []decode.EB{
		{Gamma: -1e-300}, {Temperature: -1e-300}, {Gamma: nan}, {Temperature: nan},
		{Gamma: inf}, {Temperature: inf}, {Gamma: inf, Temperature: inf}, {Gamma: -inf, Temperature: inf},
	} {
		rec := &recorder{den: den}
		if _, err := decode.Generate(t.Context(), rec, v, 3, m, decode.Options{Seed: 1}); err == nil || len(rec.ev) != 0 {
			t.Errorf("%+v: error %v after %d calls, want a settings error before any call", m, err, len(rec.ev))
		}
	}
}
