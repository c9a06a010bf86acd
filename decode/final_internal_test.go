package decode

import (
	"math"
	"testing"
)

func TestMedoid(t *testing.T) {
	samples := [][]int32{{0, 0, 0}, {0, 0, 1}, {0, 1, 1}, {2, 2, 2}}
	// agreements with the others (self included): {0,0,0}: 3+2+1+0 = 6,
	// {0,0,1}: 2+3+2+0 = 7, {0,1,1}: 1+2+3+0 = 6, {2,2,2}: 3 → medoid {0,0,1},
	// mean agreement 7/(3·4).
	j, score := medoid(samples, []float64{1, 1, 1, 1})
	if j != 1 || !(math.Abs(score-7.0/12) <= 1e-12) {
		t.Fatalf("medoid %d score %v, want 1, 7/12", j, score)
	}
	// weights can move the choice: all weight on {2,2,2}.
	if j, _ = medoid(samples, []float64{0, 0, 0, 1}); j != 3 {
		t.Fatalf("weighted medoid %d, want 3", j)
	}
}
