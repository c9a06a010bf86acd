package experiments

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
	d, err := NewDegraded(inner, u, 0, DegradeOptions{})
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

func TestDegradedTempering(t *testing.T) {
	inner, u := twoSentence()
	d, err := NewDegraded(inner, u, 0, DefaultDegrade)
	if err != nil {
		t.Fatal(err)
	}
	// "He" at position 0: position 1 at distance 1, position 2 at distance 2.
	ev := soft.AllMask(3, 7, 0)
	ev.Row(0)[0], ev.Row(0)[1] = 0, 1
	got := soft.NewDense(3, 7)
	if err := d.Denoise(got, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	if got.Row(0)[1] != 1 {
		t.Fatalf("hard row not one-hot: %v", got.Row(0))
	}
	// Exact beliefs: position 1 is "likes" surely, position 2 "apple".
	// Tempered: (1−w)·1 + w/6 on the exact token, w/6 on the others, with
	// w(d) = 0.5·(1 − e^{−d/2}) (DefaultDegrade).
	for pos, tok := range map[int]int{1: 3, 2: 5} {
		w := 0.5 * (1 - math.Exp(-float64(pos)/2))
		if !(math.Abs(float64(got.Row(pos)[tok])-(1-w+w/6)) <= 1e-6) || !(math.Abs(float64(got.Row(pos)[2])-w/6) <= 1e-6) {
			t.Fatalf("position %d: %v, want %v on token %d", pos, got.Row(pos), 1-w+w/6, tok)
		}
		if got.Row(pos)[0] != 0 {
			t.Fatalf("MASK mass in a belief: %v", got.Row(pos))
		}
	}
	// No hard evidence: every position at distance L = 3.
	if err := d.Denoise(got, soft.AllMask(3, 7, 0), 1); err != nil {
		t.Fatal(err)
	}
	w := 0.5 * (1 - math.Exp(-1.5))
	if !(math.Abs(float64(got.Row(1)[3])-((1-w)*0.5+w/6)) <= 1e-6) {
		t.Fatalf("no evidence: %v", got.Row(1))
	}
}

func TestDegradedContradictoryEvidence(t *testing.T) {
	inner, u := twoSentence()
	d, _ := NewDegraded(inner, u, 0, DefaultDegrade)
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
	d, _ := NewDegraded(inner, u, 0, NoisyDegrade)
	clean, _ := NewDegraded(inner, u, 0, DefaultDegrade)
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
	for _, o := range []DegradeOptions{{Collapse: 1.5}, {Collapse: math.NaN()}, {Range: -1}, {Noise: -1}, {Soften: 2}} {
		if _, err := NewDegraded(inner, u, 0, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	bad := append([]float64(nil), u...)
	bad[0] = 0.1
	if _, err := NewDegraded(inner, bad, 0, DefaultDegrade); err == nil || !strings.Contains(err.Error(), "MASK") {
		t.Errorf("unigram with MASK mass accepted: %v", err)
	}
	if _, err := NewDegraded(inner, u[:6], 0, DefaultDegrade); err == nil {
		t.Error("unigram not summing to 1 accepted")
	}
}

func BenchmarkDegradedDenoise(b *testing.B) {
	inner, u := twoSentence()
	d, _ := NewDegraded(inner, u, 0, NoisyDegrade)
	ev := soft.AllMask(3, 7, 0)
	dst := soft.NewDense(3, 7)
	b.ReportAllocs()
	for b.Loop() {
		d.Denoise(dst, ev, 0.5)
	}
}

func TestDegradedLocalisedEvidenceCounts(t *testing.T) {
	inner, u := twoSentence()
	d, _ := NewDegraded(inner, u, 0, DefaultDegrade)
	// Position 0 holds soft evidence 0.995 on "He" (likelihood ratio 199:1,
	// normalised over the six tokens 0.995/1.0 ≥ 1 − 0.01): it counts as
	// context, so position 1 is at distance 1. With δ = 0 it would not.
	ev := soft.AllMask(3, 7, 0)
	ev.Row(0)[0], ev.Row(0)[1], ev.Row(0)[2] = 0, 0.995, 0.005
	got := soft.NewDense(3, 7)
	if err := d.Denoise(got, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	exact := soft.NewDense(3, 7)
	inner.Denoise(exact, ev, 0.5)
	for v := range exact.Row(0) {
		if got.Row(0)[v] != exact.Row(0)[v] {
			t.Fatalf("localised row's belief changed: %v vs exact %v", got.Row(0), exact.Row(0))
		}
	}
	w := 0.5 * (1 - math.Exp(-0.5))
	want := (1-w)*float64(exact.Row(1)[3]) + w/6
	if !(math.Abs(float64(got.Row(1)[3])-want) <= 1e-6) {
		t.Fatalf("position 1: %v, want %v (distance 1)", got.Row(1)[3], want)
	}
	strict, _ := NewDegraded(inner, u, 0, DegradeOptions{Collapse: 0.5, Range: 2})
	strict.Denoise(got, ev, 0.5)
	w3 := 0.5 * (1 - math.Exp(-1.5))
	if want3 := (1-w3)*float64(exact.Row(1)[3]) + w3/6; !(math.Abs(float64(got.Row(1)[3])-want3) <= 1e-6) {
		t.Fatalf("δ = 0: position 1 %v, want %v (no hard row: distance L = 3)", got.Row(1)[3], want3)
	}
}
