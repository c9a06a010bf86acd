package decode_test

import (
	"math"
	"slices"
	"testing"

	"github.com/softdiff/softdiff/decode/draw"
)

// TestSharpenSmallestNormal: Sharpen zeroes only the entries below the
// smallest normal float32 (its doc), so 2⁻¹²⁶ itself is kept: at
// T = +Inf every kept entry gets weight p⁰ = 1, so (1, 2⁻¹²⁶, 2⁻¹²⁷)
// becomes (1/2, 1/2, 0).
func TestSharpenSmallestNormal(t *testing.T) {
	p := []float32{1, 0x1p-126, 0x1p-127}
	q := make([]float32, 3)
	draw.Sharpen(q, p, math.Inf(1))
	if want := []float32{0.5, 0.5, 0}; !slices.Equal(q, want) {
		t.Fatalf("Sharpen(%v, +Inf) = %v, want %v", p, q, want)
	}
}

// TestNucleusWholeMass: Nucleus keeps a token while the mass before it is ≤
// topP, so with topP equal to the row's total mass (here exactly 1 =
// 0.5 + 0.25 + 0.25) nothing is zeroed and it reports false; at topP =
// 0.5 the third token (mass before 0.75) goes.
func TestNucleusWholeMass(t *testing.T) {
	q := []float32{0.5, 0.25, 0.25}
	if draw.Nucleus(q, 1, make([]float32, 3)) || !slices.Equal(q, []float32{0.5, 0.25, 0.25}) {
		t.Fatalf("Nucleus at topP 1: %v", q)
	}
	if !draw.Nucleus(q, 0.5, make([]float32, 3)) || !slices.Equal(q, []float32{0.5, 0.25, 0}) {
		t.Fatalf("Nucleus at topP 0.5: %v", q)
	}
}

// TestNucleusRoundingEdge: Nucleus keeps a token while the mass before it,
// summed in float64 in decreasing order (the reading of Dream's top-16
// path, dream.go's filtered), is ≤ topP. q = (1, t, t, t) with t = 3·2⁻⁵⁵
// and topP = 1: 1 + t rounds to 1 in float64 (t is below half an ulp of
// 1, 2⁻⁵³), so the masses before the tokens are 0, 1, 1, 1, all ≤ 1, and
// nothing is zeroed (the reference loop below computes the same). A
// selection whose sums round 1 + 3t up to 1 + 2⁻⁵² would drop two t's.
func TestNucleusRoundingEdge(t *testing.T) {
	x := float32(3 * 0x1p-55)
	q := []float32{1, x, x, x}
	keep := 0
	var c float64
	for _, v := range q { // already in decreasing order
		if c > 1 {
			break
		}
		keep++
		c += float64(v)
	}
	if keep != 4 {
		t.Fatalf("reference keeps %d, want 4", keep)
	}
	if draw.Nucleus(q, 1, make([]float32, 4)) || !slices.Equal(q, []float32{1, x, x, x}) {
		t.Fatalf("Nucleus((1, t, t, t), 1) zeroed entries: %v", q)
	}
}
