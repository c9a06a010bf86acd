package soft

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDenseConstructorsBadInput(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{}
	add := func(name string, err error, want string) {
		cases = append(cases, struct {
			name string
			err  error
			want string
		}{name, err, want})
	}
	_, err := FromProbs(2, 2, []float32{0.5, 0.5, 0.5, nan})
	add("FromProbs NaN", err, "row 1, column 1: NaN")
	_, err = FromProbs(2, 2, []float32{0.5, 0.5, inf, 0})
	add("FromProbs Inf", err, "row 1, column 0: +Inf")
	_, err = FromProbs(1, 2, []float32{1.5, -0.5})
	add("FromProbs negative", err, "row 0, column 1: negative")
	_, err = FromProbs(2, 2, []float32{1, 0, 0.5, 0.4})
	add("FromProbs sum", err, "row 1: entries sum to 0.9")
	_, err = FromProbs(2, 2, []float32{1, 0, 1})
	add("FromProbs shape", err, "needs 4 values, got 3")
	_, err = FromProbs(1, 0, nil)
	add("FromProbs K", err, "need L ≥ 0 and K ≥ 1")
	_, err = FromLogits(2, 2, []float32{0, 0, 0, nan})
	add("FromLogits NaN", err, "logits row 1: logit is NaN or +Inf")
	_, err = FromLogits(2, 2, []float32{ninf, ninf, 0, 0})
	add("FromLogits all -Inf", err, "logits row 0: every logit is -Inf")
	_, err = FromLogits(2, 2, []float32{0})
	add("FromLogits shape", err, "needs 4 values, got 1")
	_, err = FromTokens([]int32{0, 3}, 3)
	add("FromTokens range", err, "position 1: token id 3 outside [0,3)")
	_, err = FromTokens([]int32{-1}, 3)
	add("FromTokens negative", err, "position 0: token id -1")
	_, err = FromTokens(nil, 0)
	add("FromTokens K", err, "need K ≥ 1")
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, c.err, c.want)
		}
	}
	mustPanic(t, "NewDense", func() { NewDense(-1, 2) })
	mustPanic(t, "AllMask", func() { AllMask(2, 3, 3) })
	mustPanic(t, "Row", func() { NewDense(2, 2).Row(2) })
	mustPanic(t, "Rows", func() { NewDense(2, 2).Rows(1, 3) })
	mustPanic(t, "CopyFrom", func() { NewDense(2, 2).CopyFrom(NewDense(2, 3)) })
}

func TestDenseConstructors(t *testing.T) {
	for name, d := range map[string]*Dense{
		"uniform": Uniform(3, 7),
		"allmask": AllMask(3, 7, 6),
	} {
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	d, err := FromTokens([]int32{2, 0}, 3)
	if err != nil || d.Data[2] != 1 || d.Data[3] != 1 || d.Validate() != nil {
		t.Fatalf("FromTokens: %v %v", d, err)
	}
	l, err := FromLogits(1, 2, []float32{0, float32(math.Log(3))})
	if err != nil || !(math.Abs(float64(l.Data[1])-0.75) <= 1e-7) {
		t.Fatalf("FromLogits: %v %v", l, err)
	}
	// Views share storage; Clone does not.
	v := d.Rows(1, 2)
	v.Data[0] = 0.5
	if d.Data[3] != 0.5 {
		t.Fatal("Rows is not a view")
	}
	c := d.Clone()
	c.Data[0] = 0.25
	if d.Data[0] == 0.25 {
		t.Fatal("Clone shares storage")
	}
	var re *RowError
	if err := d.Validate(); !errors.As(err, &re) || re.Row != 1 || re.Col != -1 {
		t.Fatalf("Validate after edit: %v", err)
	}
}

func TestVocab(t *testing.T) {
	v, err := NewVocab([]string{"a", "b", "[MASK]", "</s>"}, VocabOptions{Mask: "[MASK]", EOS: "</s>"})
	require.NoError(t, err)
	assert.Equal(t, 4, v.Size())
	assert.Equal(t, int32(2), v.Mask())
	assert.Equal(t, int32(3), v.EOS())
	assert.Equal(t, "b", v.Token(1))
	ids, err := v.Encode(nil, []string{"b", "a"})
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 0}, ids)
	assert.Equal(t, "b a", v.Decode(ids))
	_, err = v.Encode(nil, []string{"a", "zz"})
	assert.ErrorContains(t, err, `token 1 "zz"`)
	assert.Panics(t, func() { v.Token(4) }, "Token out of range")

	bad := []struct {
		toks []string
		opts VocabOptions
		want string
	}{
		{nil, VocabOptions{}, "empty"},
		{[]string{"a", ""}, VocabOptions{}, "token 1 is empty"},
		{[]string{"a", " "}, VocabOptions{}, "token 1 is empty"},
		{[]string{"a", "b", "a"}, VocabOptions{}, `token 2 "a" duplicates token 0`},
		{[]string{"a"}, VocabOptions{Mask: "[MASK]"}, "MASK token"},
		{[]string{"a", "b"}, VocabOptions{Mask: "b", EOS: "b"}, "same token"},
	}
	for _, c := range bad {
		_, err := NewVocab(c.toks, c.opts)
		assert.ErrorContains(t, err, c.want, "NewVocab(%q)", c.toks)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "v.txt")
	write := func(text string) {
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	write("x\ny\n\nz\n")
	_, err = LoadVocab(path, VocabOptions{})
	assert.ErrorContains(t, err, "v.txt:3: empty token")
	write("x\ny\nx\n")
	_, err = LoadVocab(path, VocabOptions{})
	assert.ErrorContains(t, err, `v.txt:3: token "x" duplicates line 1`)
	write("x\n[MASK]\n")
	lv, err := LoadVocab(path, VocabOptions{Mask: "[MASK]"})
	require.NoError(t, err)
	assert.Equal(t, int32(1), lv.Mask())
	_, err = LoadVocab(filepath.Join(dir, "missing"), VocabOptions{})
	assert.Error(t, err)
}

// TestDeterminismGOMAXPROCS checks that SampleRows and SoftmaxEntropyRows
// give bit-identical output at GOMAXPROCS 1, 2 and 16 and any worker count.
func TestDeterminismGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(13, 14))
	const L, K = 700, 50
	logits := make([]float32, L*K)
	for i := range logits {
		logits[i] = float32(3 * rng.NormFloat64())
	}
	var refTok []int32
	var refP []float32
	var refH []float64
	for _, procs := range []int{1, 2, 16} {
		runtime.GOMAXPROCS(procs)
		for _, workers := range []int{0, 1, 3} {
			d := NewDense(L, K)
			h := make([]float64, L)
			if err := SoftmaxEntropyRows(d, h, logits, workers); err != nil {
				t.Fatal(err)
			}
			tok := make([]int32, L)
			SampleRows(tok, d, 99, workers)
			if refTok == nil {
				refTok, refP, refH = tok, d.Data, h
				continue
			}
			for i := range tok {
				if tok[i] != refTok[i] || h[i] != refH[i] {
					t.Fatalf("GOMAXPROCS %d workers %d: row %d differs", procs, workers, i)
				}
			}
			for i := range refP {
				if d.Data[i] != refP[i] {
					t.Fatalf("GOMAXPROCS %d workers %d: probability %d differs", procs, workers, i)
				}
			}
		}
	}
	// A different seed gives different draws (the streams are used).
	other := make([]int32, L)
	d, _ := FromProbs(L, K, refP)
	SampleRows(other, d, 100, 2)
	same := 0
	for i := range other {
		if other[i] == refTok[i] {
			same++
		}
	}
	if same == L {
		t.Fatal("seed 100 drew the same tokens as seed 99")
	}
}

func TestRowsOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const L, K = 130, 33
	logits := make([]float32, L*K)
	for i := range logits {
		logits[i] = float32(2 * rng.NormFloat64())
	}
	logits[77*K+5] = nan
	for j := 0; j < K; j++ {
		logits[90*K+j] = ninf
	}
	d := NewDense(L, K)
	h := make([]float64, L)
	err := SoftmaxEntropyRows(d, h, logits, 2)
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "logits row 77") {
		t.Fatalf("SoftmaxEntropyRows error %v, want row 77 non-finite", err)
	}
	logits[77*K+5] = 0
	err = SoftmaxEntropyRows(d, h, logits, 2)
	if !errors.Is(err, ErrNoSupport) || !strings.Contains(err.Error(), "logits row 90") {
		t.Fatalf("SoftmaxEntropyRows error %v, want row 90 no support", err)
	}
	logits[90*K] = 1
	if err := SoftmaxEntropyRows(d, h, logits, 2); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	// The pipelined whole-state path equals SoftmaxEntropy row by row, bit
	// for bit.
	row1 := make([]float32, K)
	for i := 0; i < L; i++ {
		hi, err := SoftmaxEntropy(row1, logits[i*K:(i+1)*K])
		if err != nil || hi != h[i] || !slices.Equal(row1, d.Row(i)) {
			t.Fatalf("row %d: SoftmaxEntropyRows differs from SoftmaxEntropy (%g vs %g, %v)", i, h[i], hi, err)
		}
	}
	// In place (dst aliasing the logits) gives the same result.
	inPlace := &Dense{L: L, K: K, Data: slices.Clone(logits)}
	h2 := make([]float64, L)
	if err := SoftmaxEntropyRows(inPlace, h2, inPlace.Data, 2); err != nil ||
		!slices.Equal(inPlace.Data, d.Data) || !slices.Equal(h2, h) {
		t.Fatalf("in-place SoftmaxEntropyRows differs (%v)", err)
	}
	u := Uniform(L, K)
	m := NewDense(L, K)
	MixRows(m, d, u, 0.25, 2)
	kl := make([]float64, L)
	KLRows(kl, d, u, 2)
	ent := make([]float64, L)
	EntropyRows(ent, d, 2)
	row := make([]float32, K)
	for i := 0; i < L; i++ {
		Mix(row, d.Row(i), u.Row(i), 0.25)
		for j := range row {
			if row[j] != m.Row(i)[j] {
				t.Fatalf("MixRows row %d differs from Mix", i)
			}
		}
		if kl[i] != KL(d.Row(i), u.Row(i)) || ent[i] != Entropy(d.Row(i)) {
			t.Fatalf("row %d: KLRows/EntropyRows differ from the row functions", i)
		}
		// KL(p‖uniform) = log K − H(p) (identity), a check on the fused entropy.
		if !(math.Abs(kl[i]-(math.Log(K)-h[i])) <= 1e-5) {
			t.Fatalf("row %d: KL to uniform %g vs log K − H %g", i, kl[i], math.Log(K)-h[i])
		}
	}
	mustPanic(t, "SoftmaxEntropyRows len", func() { SoftmaxEntropyRows(d, h, logits[:10], 1) })
	mustPanic(t, "MixRows shape", func() { MixRows(m, d, NewDense(L, K+1), 0.5, 1) })
}

// TestForBlocks checks that every row is visited once, in the fixed
// partition, for several worker counts.
func TestForBlocks(t *testing.T) {
	for _, w := range []int{0, 1, 2, 7, 100} {
		seen := make([]int32, 1000)
		ForBlocks(1000, 64, w, func(b, lo, hi int) {
			if lo != b*64 || hi != min(1000, lo+64) {
				t.Errorf("block %d = [%d,%d)", b, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, s := range seen {
			if s != 1 {
				t.Fatalf("workers %d: row %d visited %d times", w, i, s)
			}
		}
	}
	ForBlocks(0, 64, 2, func(b, lo, hi int) { t.Fatal("called for L = 0") })
}

// TestConstructorsShapeOverflow: a shape whose L·K overflows int (and so
// wraps to the data's length) is an error, not a panic inside Validate.
func TestConstructorsShapeOverflow(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func() error
	}{
		{"FromProbs", func() error { _, err := FromProbs(1<<62, 4, nil); return err }},
		{"FromLogits", func() error { _, err := FromLogits(1<<62, 4, nil); return err }},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", c.name, r)
				}
			}()
			if err := c.f(); err == nil {
				t.Errorf("%s: no error", c.name)
			}
		}()
	}
}
