package oracle_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

var (
	_ decode.Denoiser    = (*oracle.Corpus)(nil)
	_ decode.JointScorer = (*oracle.Corpus)(nil)
	_ decode.Counter     = (*oracle.Corpus)(nil)
	_ oracle.Model       = (*oracle.Corpus)(nil)
)

func TestTwoSentence(t *testing.T) {
	c := oracle.TwoSentence()
	v := c.Vocab()
	if v.Size() != 7 || v.Mask() != 6 || c.Len() != 3 {
		t.Fatalf("vocab size %d mask %d len %d", v.Size(), v.Mask(), c.Len())
	}
	dst := soft.NewDense(3, 7)
	// No evidence: each position is ½/½ between the two sentences (derivation: two
	// sentences of weight ½ each).
	if err := c.Denoise(dst, soft.AllMask(3, 7, v.Mask()), 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		for v := 0; v < 7; v++ {
			want := 0.0
			if v == i || v == i+3 {
				want = 0.5
			}
			if !within(float64(dst.Row(i)[v]), want, 1e-7) {
				t.Fatalf("pos %d tok %d: %v, want %v", i, v, dst.Row(i)[v], want)
			}
		}
	}
	// Hard evidence "likes" at position 1 pins the whole sentence.
	ev := soft.AllMask(3, 7, v.Mask())
	clear(ev.Row(1))
	ev.Row(1)[1] = 1
	if err := c.Denoise(dst, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	if dst.Row(0)[0] != 1 || dst.Row(2)[2] != 1 {
		t.Fatalf("after 'likes': %v", dst.Data)
	}
	if c.NFE() != 2 {
		t.Fatalf("NFE %d, want 2", c.NFE())
	}
	lp, err := c.LogProb([]int32{3, 1, 5}) // "I likes tennis"
	if err != nil || !math.IsInf(lp, -1) {
		t.Fatalf("LogProb(I likes tennis) = %v, %v", lp, err)
	}
	lp, err = c.LogProb([]int32{0, 1, 2})
	if err != nil || !within(lp, math.Log(0.5), 1e-15) {
		t.Fatalf("LogProb(He likes apple) = %v, %v", lp, err)
	}
	if _, err := c.LogProb([]int32{0, 1}); err == nil {
		t.Fatal("short sequence accepted")
	}
	if _, err := c.LogProb([]int32{0, 1, 9}); err == nil {
		t.Fatal("id out of range accepted")
	}
	if !within(c.Entropy(), math.Log(2), 1e-15) {
		t.Fatalf("entropy %v", c.Entropy())
	}
	u := make([]float64, 7)
	c.Unigram(u)
	for id, p := range u {
		want := 1.0 / 6 // six tokens, each once in one sentence of weight ½, over 3 positions
		if id == 6 {
			want = 0
		}
		if !within(p, want, 1e-15) {
			t.Fatalf("unigram %d = %v", id, p)
		}
	}
}

func ExampleTwoSentence() {
	c := oracle.TwoSentence()
	v := c.Vocab()
	ev := soft.AllMask(3, v.Size(), v.Mask())
	beliefs := soft.NewDense(3, v.Size())
	if err := c.Denoise(beliefs, ev, 1); err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		fmt.Printf("position %d: %s %.2f, %s %.2f\n", i, v.Token(int32(i)), beliefs.Row(i)[i], v.Token(int32(i+3)), beliefs.Row(i)[i+3])
	}
	lp, _ := c.LogProb([]int32{3, 1, 5})
	fmt.Println("log p(I likes tennis) =", lp)
	// Output:
	// position 0: He 0.50, I 0.50
	// position 1: likes 0.50, play 0.50
	// position 2: apple 0.50, tennis 0.50
	// log p(I likes tennis) = -Inf
}

func TestAgreement(t *testing.T) {
	c := oracle.Agreement()
	if c.Size() != 216 || c.Len() != 4 {
		t.Fatalf("size %d len %d", c.Size(), c.Len())
	}
	v := c.Vocab()
	he, _ := v.ID("he")
	likes, _ := v.ID("likes")
	like, _ := v.ID("like")
	ev := soft.AllMask(4, v.Size(), v.Mask())
	clear(ev.Row(0))
	ev.Row(0)[he] = 1
	dst := soft.NewDense(4, v.Size())
	if err := c.Denoise(dst, ev, 0); err != nil {
		t.Fatal(err)
	}
	// Given a singular subject the three singular verbs share the mass (derivation).
	if !within(float64(dst.Row(2)[likes]), 1.0/3, 1e-6) || dst.Row(2)[like] != 0 {
		t.Fatalf("verb beliefs after 'he': likes %v like %v", dst.Row(2)[likes], dst.Row(2)[like])
	}
	e, err := oracle.EntropyOf(c, oracle.EntropyOptions{MaxEnum: 1 << 20})
	if err != nil || !e.Exact || !within(e.Nats, math.Log(216), 1e-9) || !within(c.Entropy(), math.Log(216), 1e-12) {
		t.Fatalf("entropy %v (%v), method %v, want log 216", e, err, c.Entropy())
	}
}

// TestCorpusBrute checks marginals, the normaliser and log p against
// enumeration over all D^L sequences on random small corpora and evidence.
func TestCorpusBrute(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		D := rapid.IntRange(1, 3).Draw(t, "D")
		L := rapid.IntRange(1, 4).Draw(t, "L")
		n := rapid.IntRange(1, 6).Draw(t, "n")
		toks := make([]string, D+1)
		for i := 0; i < D; i++ {
			toks[i] = fmt.Sprintf("t%d", i)
		}
		toks[D] = "[MASK]"
		v, err := soft.NewVocab(toks, soft.VocabOptions{Mask: "[MASK]"})
		if err != nil {
			t.Fatal(err)
		}
		sents := make([][]int32, n)
		w := make([]float64, n)
		for j := range sents {
			sents[j] = make([]int32, L)
			for i := range sents[j] {
				sents[j][i] = int32(rapid.IntRange(0, D-1).Draw(t, "tok"))
			}
			w[j] = rapid.Float64Range(0.1, 3).Draw(t, "w")
		}
		c, err := oracle.NewCorpus(v, sents, w)
		if err != nil {
			t.Fatal(err)
		}
		// p(x) by direct summation of the raw weights (independent of Corpus).
		tot := 0.0
		for _, x := range w {
			tot += x
		}
		p := func(x []int32) float64 {
			s := 0.0
			for j, y := range sents {
				if keyOf(x) == keyOf(y) {
					s += w[j]
				}
			}
			return s / tot
		}
		enumerate(L, dataToks(v), func(x []int32) {
			lp, err := c.LogProb(x)
			if err != nil {
				t.Fatal(err)
			}
			if want := p(x); !within(math.Exp(lp), want, 1e-12) || c.Valid(x) != (want > 0) {
				t.Fatalf("p(%v) = %v, want %v", x, math.Exp(lp), want)
			}
		})
		ev := drawEvidence(t, L, D+1, v.Mask())
		checkAgainstBrute(t, c, p, ev)
	})
}

// checkAgainstBrute compares Marginals, the log normaliser and Denoise with
// bruteMarginals, and the contradiction error with Z = 0.
// fataler is what checkAgainstBrute needs of *testing.T and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func checkAgainstBrute(t fataler, m interface {
	oracle.Model
	Marginals([]float64, *soft.Dense) (float64, error)
}, p func([]int32) float64, ev *soft.Dense) {
	v := m.Vocab()
	L, K := m.Len(), v.Size()
	want, wantLogZ := bruteMarginals(p, ev, v)
	got := make([]float64, L*K)
	logZ, err := m.Marginals(got, ev)
	dst := soft.NewDense(L, K)
	derr := m.Denoise(dst, ev, 0.5)
	if math.IsInf(wantLogZ, -1) {
		if !errors.Is(err, oracle.ErrContradictory) || !errors.Is(derr, oracle.ErrContradictory) ||
			!strings.Contains(derr.Error(), "contradictory evidence at positions") {
			t.Fatalf("Z = 0 but errors %v / %v", err, derr)
		}
		return
	}
	if err != nil || derr != nil {
		t.Fatalf("errors %v / %v with Z = %v", err, derr, math.Exp(wantLogZ))
	}
	if !within(logZ, wantLogZ, 1e-9) {
		t.Fatalf("log Z = %v, brute force %v", logZ, wantLogZ)
	}
	for j := range want {
		if !within(got[j], want[j], 1e-9) || !within(float64(dst.Data[j]), want[j], 1e-6) {
			t.Fatalf("marginal %d (pos %d tok %d) = %v / %v, brute force %v", j, j/K, j%K, got[j], dst.Data[j], want[j])
		}
	}
	if mk := v.Mask(); mk >= 0 {
		for i := 0; i < L; i++ {
			if dst.Row(i)[mk] != 0 {
				t.Fatalf("belief row %d carries MASK mass", i)
			}
		}
	}
}

func TestCorpusErrors(t *testing.T) {
	c := oracle.TwoSentence()
	v := c.Vocab()
	if err := c.Denoise(soft.NewDense(3, 7), soft.NewDense(3, 6), 0); err == nil || !strings.Contains(err.Error(), "evidence is 3×6") {
		t.Fatalf("wrong width: %v", err)
	}
	if err := c.Denoise(soft.NewDense(2, 7), soft.AllMask(3, 7, 6), 0); err == nil || !strings.Contains(err.Error(), "dst is 2×7") {
		t.Fatalf("wrong length: %v", err)
	}
	ev := soft.AllMask(3, 7, v.Mask())
	ev.Row(2)[0] = float32(math.NaN())
	if err := c.Denoise(soft.NewDense(3, 7), ev, 0); err == nil || !strings.Contains(err.Error(), "row 2 col 0") {
		t.Fatalf("NaN evidence: %v", err)
	}
	// "He" at 0 and "tennis" at 2: no sentence has both.
	ev = soft.AllMask(3, 7, v.Mask())
	clear(ev.Row(0))
	ev.Row(0)[0] = 1
	clear(ev.Row(2))
	ev.Row(2)[5] = 1
	err := c.Denoise(soft.NewDense(3, 7), ev, 0)
	if err == nil || err.Error() != "contradictory evidence at positions [0, 2]: the evidence has probability zero under the model" {
		t.Fatalf("contradiction: %v", err)
	}
	for _, tc := range []struct{ in, msg string }{
		{"a b\nc\n", "x:2: sentence has 1 tokens, the one on line 1 has 2"},
		{"0 a b\n", "x:1: weight \"0\" must be finite and > 0"},
		{"2.5\n", "x:1: weight without a sentence"},
		{"a [MASK]\n", "x:1: token 2 is [MASK], which is reserved"},
		{"# only\n\n", "x: no sentences"},
	} {
		_, err := oracle.ReadCorpus(strings.NewReader(tc.in), "x")
		if err == nil || err.Error() != tc.msg {
			t.Errorf("ReadCorpus(%q): %v, want %q", tc.in, err, tc.msg)
		}
	}
	if _, err := oracle.NewCorpus(v, [][]int32{{0, 1, 2}, {0, 1}}, nil); err == nil {
		t.Error("unequal lengths accepted")
	}
	if _, err := oracle.NewCorpus(v, [][]int32{{0, 6, 2}}, nil); err == nil {
		t.Error("MASK in a sentence accepted")
	}
}

func TestReadCorpus(t *testing.T) {
	c, err := oracle.ReadCorpus(strings.NewReader("# two\n3 a b\n a c \n1 a b\n"), "mem")
	if err != nil {
		t.Fatal(err)
	}
	// "a b" has weight 3+1 = 4 of 5 (duplicates merged), "a c" 1 of 5.
	if c.Size() != 2 || c.Vocab().Size() != 4 {
		t.Fatalf("size %d vocab %d", c.Size(), c.Vocab().Size())
	}
	lp, _ := c.LogProb([]int32{0, 1})
	if !within(lp, math.Log(0.8), 1e-15) {
		t.Fatalf("log p(a b) = %v", lp)
	}
}

func TestCorpusSampleChiSquare(t *testing.T) {
	c := oracle.Agreement()
	probs := map[string]float64{}
	for j := 0; j < c.Size(); j++ {
		s, p := c.Sentence(j)
		probs[keyOf(s)] = p
	}
	rng := newRand(1)
	chiSquare(t, 100000, probs, keyOf, c.Len(), func(x []int32) { c.Sample(x, rng) })
}

func FuzzReadCorpus(f *testing.F) {
	for _, s := range []string{"He likes apple\nI play tennis\n", "2 a b\n0.5 c d\n", "# c\n\n1e300 x\n", "a\nb c\n", "NaN a\n", "[MASK]\n", "-1 a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := oracle.ReadCorpus(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		v := c.Vocab()
		ev := soft.AllMask(c.Len(), v.Size(), v.Mask())
		dst := soft.NewDense(c.Len(), v.Size())
		if err := c.Denoise(dst, ev, 0); err != nil {
			t.Fatalf("no-evidence Denoise failed: %v", err)
		}
		if err := dst.Validate(); err != nil {
			t.Fatalf("beliefs invalid: %v", err)
		}
	})
}

func TestCorpusDenoiseNoAlloc(t *testing.T) {
	c := oracle.Agreement()
	v := c.Vocab()
	ev := soft.AllMask(4, v.Size(), v.Mask())
	dst := soft.NewDense(4, v.Size())
	_ = c.Denoise(dst, ev, 0)
	if a := testing.AllocsPerRun(50, func() { _ = c.Denoise(dst, ev, 0) }); a > 0 && !raceOn {
		t.Fatalf("Denoise allocates %v per call", a)
	}
}
