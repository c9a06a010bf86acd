package draw

import (
	"math"
	"testing"
)

// TestSharpenSmallestNormal: Sharpen zeroes only entries below the
// smallest normal float32, 2^-126; an entry equal to it is kept. At T = 1
// the law is p itself up to normalisation: [0.5, 2^-126, 0.5] becomes
// [0.5, 2^-126, 0.5]/(1 + 2^-126) (so 2^-126 within float32 rounding;
// the simd build's kernel is within 1e-5 relative for entries above 1e-30
// only, so the check runs on the scalar path, which both builds share).
func TestSharpenSmallestNormal(t *testing.T) {
	p := []float32{0.5, 0x1p-126, 0.5, 0x1p-127}
	dst := make([]float32, len(p))
	sharpenScalar(dst, p, 1, 0.5)
	want := 0x1p-126 / (1 + 0x1p-126)
	if !(math.Abs(float64(dst[1])-want) <= 1e-6*want) {
		t.Fatalf("entry 2^-126 sharpened to %g, want %g (kept, not zeroed)", dst[1], want)
	}
	if dst[3] != 0 {
		t.Fatalf("subnormal entry 2^-127 sharpened to %g, want 0", dst[3])
	}
}

// TestNucleusTotalEqualTopP: when the row's mass equals topP exactly (here
// 0.25 + 0.25 + 0.5 = 1 = topP, exact in float64), the mass before every
// token is ≤ topP, so every token is kept: Nucleus changes nothing and says
// so.
func TestNucleusTotalEqualTopP(t *testing.T) {
	q := []float32{0.25, 0.25, 0.5}
	scratch := make([]float32, len(q))
	if Nucleus(q, 1, scratch) {
		t.Fatalf("Nucleus at topP = total reported a cut: %v", q)
	}
	if q[0] != 0.25 || q[1] != 0.25 || q[2] != 0.5 {
		t.Fatalf("row changed: %v", q)
	}
}
