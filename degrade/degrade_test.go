package degrade

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// enumDenoiser is the test's reference exact denoiser: a finite list of
// weighted sequences whose posterior marginals under virtual evidence are
// computed by brute-force enumeration.
type enumDenoiser struct {
	K    int
	mask int32
	seqs [][]int32
	w    []float64
}

func (e *enumDenoiser) Denoise(dst, ev *soft.Dense, t float64) error {
	L, K := ev.L, ev.K
	marg := make([]float64, L*K)
	var z float64
	for s, x := range e.seqs {
		lik := e.w[s]
		for i := 0; i < L; i++ {
			row := ev.Row(i)
			lik *= float64(row[x[i]]) + float64(row[e.mask])
		}
		z += lik
		for i := 0; i < L; i++ {
			marg[i*K+int(x[i])] += lik
		}
	}
	if z == 0 {
		return fmt.Errorf("contradictory evidence at positions 0..%d", L-1)
	}
	for i := range marg {
		dst.Data[i] = float32(marg[i] / z)
	}
	return nil
}

// twoSentence: tokens 0 MASK, 1 He, 2 I, 3 likes, 4 play, 5 apple, 6 tennis;
// "He likes apple" and "I play tennis", weight ½ each.
func twoSentence() (*enumDenoiser, []float64) {
	d := &enumDenoiser{K: 7, mask: 0, seqs: [][]int32{{1, 3, 5}, {2, 4, 6}}, w: []float64{0.5, 0.5}}
	u := []float64{0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6}
	return d, u
}

func TestDegradedZeroIsExact(t *testing.T) {
	inner, u := twoSentence()
	d, err := New(inner, u, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := soft.AllMask(3, 7, 0)
	ev.Row(0)[0], ev.Row(0)[1] = 0, 1 // "He" committed
	got, want := soft.NewDense(3, 7), soft.NewDense(3, 7)
	if err := d.Denoise(got, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	inner.Denoise(want, ev, 0.5)
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("entry %d: %v, want exact %v", i, got.Data[i], want.Data[i])
		}
	}
	if d.NFE() != 1 {
		t.Fatalf("NFE = %d", d.NFE())
	}
}

// The collapse weight and the tempered beliefs of Default (w_max =
// 1/2, ℓ = 2), derived by hand for the two-sentence corpus.
func TestDegradedTempering(t *testing.T) {
	inner, u := twoSentence()
	d, err := New(inner, u, 0, Default)
	if err != nil {
		t.Fatal(err)
	}
	// "He" committed at position 0 (strength 1), positions 1 and 2 MASK
	// (strength 0): c_1 = e^{−1/2}, c_2 = e^{−1}, c_0 = 0.
	ev := soft.AllMask(3, 7, 0)
	ev.Row(0)[0], ev.Row(0)[1] = 0, 1
	got := soft.NewDense(3, 7)
	if err := d.Denoise(got, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	if got.Row(0)[1] != 1 {
		t.Fatalf("committed row not one-hot: %v", got.Row(0))
	}
	wantW := []float64{0.5, 0.5 * (1 - math.Exp(-0.5)), 0.5 * (1 - math.Exp(-1))}
	for i, w := range d.Weights(ev) {
		if !(math.Abs(w-wantW[i]) <= 1e-12) {
			t.Fatalf("weight %d = %v, want %v", i, w, wantW[i])
		}
	}
	// Exact beliefs: position 1 is "likes" surely, position 2 "apple". A
	// MASK row has ℓ ≡ 1, so b' = (1−w)·b + w·u: (1−w) + w/6 on the exact
	// token, w/6 on the others.
	for pos, tok := range map[int]int{1: 3, 2: 5} {
		w := wantW[pos]
		if !(math.Abs(float64(got.Row(pos)[tok])-(1-w+w/6)) <= 1e-6) || !(math.Abs(float64(got.Row(pos)[2])-w/6) <= 1e-6) {
			t.Fatalf("position %d: %v, want %v on token %d", pos, got.Row(pos), 1-w+w/6, tok)
		}
		if got.Row(pos)[0] != 0 {
			t.Fatalf("MASK mass in a belief: %v", got.Row(pos))
		}
	}
	// No evidence: c = 0, w = w_max = 1/2 everywhere; the exact belief at
	// position 1 is ½ "likes", ½ "play".
	if err := d.Denoise(got, soft.AllMask(3, 7, 0), 1); err != nil {
		t.Fatal(err)
	}
	if want := 0.5*0.5 + 0.5/6; !(math.Abs(float64(got.Row(1)[3])-want) <= 1e-6) {
		t.Fatalf("no evidence: %v, want %v on likes", got.Row(1), want)
	}
}

// A position's own soft evidence stays a factor of its belief, and the
// context it supplies is its information share.
func TestDegradedOwnEvidenceKept(t *testing.T) {
	inner, u := twoSentence()
	d, _ := New(inner, u, 0, Default)
	// Row 0: He 0.6, MASK 0.4, so ℓ_0 = 1 on He and 0.4 on the other five
	// tokens. Exact: "He likes apple" has weight ½·1, "I play tennis" ½·0.4,
	// so b_0 = (He 5/7, I 2/7). The context part r̂_0 ∝ b_0/ℓ_0 = (5/7, 5/7)
	// on (He, I) is ½, ½ (the prior of x_0). Row 0 has no evidence in range
	// (rows 1, 2 are MASK), so w_0 = ½: q_0 = ½·r̂_0 + ½·u = 1/3 on He and I,
	// 1/12 on the other four; ℓ_0·q_0 = (1/3, 2/15, 4 × 1/30), total 3/5,
	// so b'_0 = He 5/9, I 2/9, the other four 1/18 each.
	ev := soft.AllMask(3, 7, 0)
	ev.Row(0)[0], ev.Row(0)[1] = 0.4, 0.6
	got := soft.NewDense(3, 7)
	if err := d.Denoise(got, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	want0 := []float64{0, 5.0 / 9, 2.0 / 9, 1.0 / 18, 1.0 / 18, 1.0 / 18, 1.0 / 18}
	for v, w := range want0 {
		if !(math.Abs(float64(got.Row(0)[v])-w) <= 1e-6) {
			t.Fatalf("position 0: %v, want %v", got.Row(0), want0)
		}
	}
	// Strength of row 0: ℓ̂_0 = (1, 0.4 × 5)/3, s_0 = 1 − H(ℓ̂_0)/log 6.
	h := -(1.0/3)*math.Log(1.0/3) - 5*(0.4/3)*math.Log(0.4/3)
	s0 := 1 - h/math.Log(6)
	if got := d.Strength(ev.Row(0)); !(math.Abs(got-s0) <= 1e-6) {
		t.Fatalf("strength %v, want %v", got, s0)
	}
	// Position 1 (MASK, ℓ ≡ 1): b_1 = likes 5/7, play 2/7, w_1 = ½(1 − s_0·e^{−1/2}).
	w1 := 0.5 * (1 - s0*math.Exp(-0.5))
	if want := (1-w1)*5/7 + w1/6; !(math.Abs(float64(got.Row(1)[3])-want) <= 1e-6) {
		t.Fatalf("position 1: %v on likes, want %v", got.Row(1)[3], want)
	}
	// The case: own evidence 0.989 on He (0.011 on I, no MASK).
	// b_0 = 0.989, r̂_0 = (½, ½), q_0 = 1/3 on both, b'_0 = ℓ_0 = 0.989 and
	// 0.011: the own evidence passes unchanged (a threshold at 0.99 gave
	// 0.688). Its weight on position 1 changes continuously: at 0.991 the
	// strength differs by less than 0.01.
	for _, p := range []float32{0.989, 0.991} {
		ev.Row(0)[0], ev.Row(0)[1], ev.Row(0)[2] = 0, p, 1-p
		if err := d.Denoise(got, ev, 0.5); err != nil {
			t.Fatal(err)
		}
		if !(math.Abs(float64(got.Row(0)[1]-p)) <= 1e-5) {
			t.Fatalf("own evidence %v: belief %v", p, got.Row(0))
		}
	}
	ev.Row(0)[1], ev.Row(0)[2] = 0.989, 0.011
	a := d.Strength(ev.Row(0))
	ev.Row(0)[1], ev.Row(0)[2] = 0.991, 0.009
	if b := d.Strength(ev.Row(0)); !(b > a && b-a < 0.01) {
		t.Fatalf("strength 0.989 → %v, 0.991 → %v: want a small increase", a, b)
	}
}

func TestDegradedContradictoryEvidence(t *testing.T) {
	inner, u := twoSentence()
	d, _ := New(inner, u, 0, Default)
	// "He play" is impossible under the corpus; the exact oracle refuses it.
	ev := soft.AllMask(3, 7, 0)
	ev.Row(0)[0], ev.Row(0)[1] = 0, 1
	ev.Row(1)[0], ev.Row(1)[4] = 0, 1
	got := soft.NewDense(3, 7)
	if err := inner.Denoise(got, ev, 0); err == nil {
		t.Fatal("reference oracle accepted contradictory evidence")
	}
	if err := d.Denoise(got, ev, 0); err != nil {
		t.Fatalf("degraded oracle failed on contradictory evidence: %v", err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if got.Row(0)[1] != 1 || got.Row(1)[4] != 1 {
		t.Fatal("hard rows not kept")
	}
}

func TestDegradedNoise(t *testing.T) {
	inner, u := twoSentence()
	d, _ := New(inner, u, 0, Noisy)
	clean, _ := New(inner, u, 0, Default)
	ev := soft.AllMask(3, 7, 0)
	a, b, c := soft.NewDense(3, 7), soft.NewDense(3, 7), soft.NewDense(3, 7)
	if err := d.Denoise(a, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	d.Denoise(b, ev, 0.5)
	clean.Denoise(c, ev, 0.5)
	var tv float64
	for i := 0; i < 3; i++ {
		for v := range a.Row(i) {
			if a.Row(i)[v] != b.Row(i)[v] {
				t.Fatal("noise is not a deterministic function of the input")
			}
		}
		tv += soft.TV(a.Row(i), c.Row(i))
	}
	// σ = 0.5 log-normal noise moves a belief by a TV of order σ/√(2π)·…;
	// it must be visible yet leave a distribution.
	if !(tv/3 > 0.01 && tv/3 < 0.5) {
		t.Fatalf("mean TV from noise = %v, want in (0.01, 0.5)", tv/3)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDegradedOptionsChecked(t *testing.T) {
	inner, u := twoSentence()
	for _, o := range []Options{{Collapse: 1.5}, {Collapse: math.NaN()}, {Range: -1}, {Noise: -1}, {Soften: 2}} {
		if _, err := New(inner, u, 0, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	bad := append([]float64(nil), u...)
	bad[0] = 0.1
	if _, err := New(inner, bad, 0, Default); err == nil || !strings.Contains(err.Error(), "MASK") {
		t.Errorf("unigram with MASK mass accepted: %v", err)
	}
	if _, err := New(inner, u[:6], 0, Default); err == nil {
		t.Error("unigram not summing to 1 accepted")
	}
}

func BenchmarkDegradedDenoise(b *testing.B) {
	inner, u := twoSentence()
	d, _ := New(inner, u, 0, Noisy)
	ev := soft.AllMask(3, 7, 0)
	dst := soft.NewDense(3, 7)
	b.ReportAllocs()
	for b.Loop() {
		d.Denoise(dst, ev, 0.5)
	}
}
