package decode

import (
	"math"
	"testing"
)

// TestGeometricGridBounds: Min must lie in (max(0, from), to], as the doc
// says. Values by hand: from 0, to 2, Min = to = 2, one step: [0, 2];
// Min = from = 0.5 is rejected; Min 0 means to/100, which is 0 for to = 0,
// rejected even though from = −1 lies below it (0 is outside (0, to]).
// Three steps from 0 to 8 with Min 2: t_k = 2·4^((k−1)/2) = 2, 4, 8.
func TestGeometricGridBounds(t *testing.T) {
	dst := make([]float64, 2)
	if err := (GeometricGrid{Min: 2}).Times(dst, 0, 2); err != nil || dst[0] != 0 || dst[1] != 2 {
		t.Fatalf("Min = to: %v %v, want [0 2]", dst, err)
	}
	if err := (GeometricGrid{Min: 0.5}).Times(make([]float64, 3), 0.5, 2); err == nil {
		t.Fatal("Min = from accepted")
	}
	if err := (GeometricGrid{}).Times(make([]float64, 3), -1, 0); err == nil {
		t.Fatal("to = 0 (default Min 0) accepted")
	}
	g := make([]float64, 4)
	if err := (GeometricGrid{Min: 2}).Times(g, 0, 8); err != nil {
		t.Fatal(err)
	}
	for k, want := range []float64{0, 2, 4, 8} {
		if !(math.Abs(g[k]-want) <= 1e-12) {
			t.Fatalf("geometric grid %v, want [0 2 4 8]", g)
		}
	}
}

// TestTimesGridRules: an explicit grid of n points for n steps, strictly
// monotone towards to (to = from counts as upward), with errors that name
// the step count and the offending point (1-based, as t_1 … t_n).
func TestTimesGridRules(t *testing.T) {
	// zero steps: dst = [from], no explicit times
	dst := []float64{7}
	if err := (TimesGrid{}).Times(dst, 0.25, 1); err != nil || dst[0] != 0.25 {
		t.Fatalf("0 steps: %v %v", dst, err)
	}
	if err := (TimesGrid{}).Times(nil, 0, 1); err == nil {
		t.Fatal("no points accepted")
	}
	err := (TimesGrid{0.5, 1}).Times(make([]float64, 4), 0, 1)
	if err == nil || err.Error() != "2 explicit times for 3 steps" {
		t.Fatalf("length error %v", err)
	}
	// upward, valid
	up := make([]float64, 3)
	if err := (TimesGrid{0.5, 1}).Times(up, 0, 1); err != nil || up[0] != 0 || up[1] != 0.5 || up[2] != 1 {
		t.Fatalf("upward grid %v %v", up, err)
	}
	// upward, a repeated point
	err = (TimesGrid{0.5, 0.5}).Times(make([]float64, 3), 0, 1)
	if err == nil || err.Error() != "time 2 = 0.5 does not move on from 0.5 towards 1" {
		t.Fatalf("repeated upward point: %v", err)
	}
	// downward, valid and with a repeated point
	down := make([]float64, 3)
	if err := (TimesGrid{0.5, 0}).Times(down, 1, 0); err != nil || down[1] != 0.5 || down[2] != 0 {
		t.Fatalf("downward grid %v %v", down, err)
	}
	if err := (TimesGrid{0.5, 0.5}).Times(make([]float64, 3), 1, 0); err == nil {
		t.Fatal("repeated downward point accepted")
	}
	// to = from: upward
	if err := (TimesGrid{2}).Times(make([]float64, 2), 1, 1); err != nil {
		t.Fatalf("to = from, rising: %v", err)
	}
	if err := (TimesGrid{0}).Times(make([]float64, 2), 1, 1); err == nil {
		t.Fatal("to = from, falling: accepted")
	}
}
