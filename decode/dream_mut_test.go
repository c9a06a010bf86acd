package decode_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// rawRows is a denoiser that answers every call with the same belief rows,
// copied as they are (each row has K entries, MASK included): no
// renormalisation, so a test can hand a sampler rows whose float64 sums are
// off 1 by a rounding error, as a float32 softmax gives, within
// soft.RowSumTol (1e-4).
type rawRows [][]float32

func (r rawRows) Denoise(dst, ev *soft.Dense, t float64) error {
	for i, row := range r {
		copy(dst.Row(i), row)
	}
	return nil
}

// TestDreamSettings: the validation of Dream's settings, per field.
// Eps must lie in [0, 1): 1 itself is rejected (the grid would end where
// it starts, at t = 1), NaN too. NaN in Temperature, AlgTemp or TopP is
// rejected. Infinite settings are the limits the doc states and are
// accepted, also together (the check must not add them: +Inf − +Inf is
// NaN): Temperature +Inf draws uniformly from the belief's support,
// AlgTemp +Inf commits a uniformly random set, TopP +Inf (≥ 1) is no
// filter.
func TestDreamSettings(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.75, 0.25}, []float32{0.5, 0.5}, []float32{1, 0})
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct {
		alg decode.Dream
		ok  bool
	}{
		{decode.Dream{Eps: 1}, false},
		{decode.Dream{Eps: math.Nextafter(1, 0)}, true},
		{decode.Dream{Eps: 0.5}, true},
		{decode.Dream{Eps: nan}, false},
		{decode.Dream{Eps: -0.25}, false},
		{decode.Dream{Temperature: nan}, false},
		{decode.Dream{AlgTemp: nan}, false},
		{decode.Dream{TopP: nan}, false},
		{decode.Dream{Temperature: -1}, false},
		{decode.Dream{AlgTemp: -1}, false},
		{decode.Dream{TopP: -0.5}, false},
		{decode.Dream{TopK: -1}, false},
		{decode.Dream{Temperature: inf}, true},
		{decode.Dream{Temperature: inf, TopP: inf}, true},
		{decode.Dream{AlgTemp: inf, TopP: inf}, true},
		{decode.Dream{Temperature: inf, AlgTemp: inf}, true},
		{decode.Dream{Temperature: inf, AlgTemp: inf, TopP: inf, Eps: 0.5}, true},
	} {
		res, err := decode.Generate(context.Background(), den, v, 3, c.alg, decode.Options{Steps: 2})
		if (err == nil) != c.ok {
			t.Errorf("%+v: error %v, want ok %v", c.alg, err, c.ok)
			continue
		}
		if err == nil && res.Steps[len(res.Steps)-1].Committed != 3 {
			t.Errorf("%+v: %d committed at the end, want 3", c.alg, res.Steps[len(res.Steps)-1].Committed)
		}
	}
}

// TestDreamInfiniteTemperatures: Temperature +Inf turns p^(1/T) into 1 on
// the support, so the row (0.75, 0.25, 0) draws tokens 0 and 1 with
// probability 1/2 each and never token 2. AlgTemp +Inf turns the ranking
// key confidence/AlgTemp + Gumbel into a Gumbel alone: the committed
// position of step 0 (one of 3, Steps 2: ⌊3·0.4995⌋ = 1) is uniform, 1/3
// each, although maskgit_plus at AlgTemp 0 would always take position 2
// (confidence 1).
func TestDreamInfiniteTemperatures(t *testing.T) {
	v := tokVocab(t, 3)
	inf := math.Inf(1)
	const n = 3000
	rng := rand.New(rand.NewPCG(11, 12))
	var tok [3]int
	for range n {
		res := gen(t, product([]float32{0.75, 0.25, 0}), v, 1, decode.Dream{Temperature: inf, TopP: inf}, decode.Options{Steps: 1, Rand: rng})
		tok[res.Tokens[0]]++
	}
	for k, p := range []float64{0.5, 0.5, 0} {
		if f := float64(tok[k]) / n; p == 0 && tok[k] != 0 || !within(f, p, binTol(p, n)) {
			t.Errorf("Temperature +Inf: token %d frequency %.4f, want %.4f", k, f, p)
		}
	}
	den := product([]float32{0.5, 0.5, 0}, []float32{0.75, 0.25, 0}, []float32{1, 0, 0})
	var pos [3]int
	for range n {
		res := gen(t, den, v, 3, decode.Dream{Alg: decode.DreamMaskGitPlus, AlgTemp: inf, TopP: inf}, decode.Options{Steps: 2, Rand: rng})
		p, _ := commitsOf(res, 0, v.Mask())
		if len(p) != 1 {
			t.Fatalf("AlgTemp +Inf: step 0 committed %v, want one position", p)
		}
		pos[p[0]]++
	}
	for k := range pos {
		if f := float64(pos[k]) / n; !within(f, 1.0/3, binTol(1.0/3, n)) {
			t.Errorf("AlgTemp +Inf: position %d first with frequency %.4f, want 1/3", k, f)
		}
	}
}

// TestDreamEntropyUnderNoEntropy: the entropy rule reads entropies even
// under Options.NoEntropy (Start calls NeedEntropy), and the other rules do
// not compute them (StepInfo.MeanEntropy NaN, Options' doc). dreamRows
// reordered so that the least entropic row, (0.5, 0.5) with H = ln 2 =
// 0.6931 (the others 0.9404, 0.7605, 1.0889), is at position 1: step 0
// commits ⌊4·0.4995⌋ = 1 position, position 1, token 0 (the tie goes to
// the smaller token). Without entropies every key would be NaN and the
// order arbitrary.
func TestDreamEntropyUnderNoEntropy(t *testing.T) {
	v := tokVocab(t, 4)
	den := product(dreamRows[1], dreamRows[0], dreamRows[2], dreamRows[3])
	res := gen(t, den, v, 4, decode.Dream{}, decode.Options{Steps: 2, NoEntropy: true})
	if pos, tok := commitsOf(res, 0, 4); !eqInts(pos, []int{1}) || tok[0] != 0 {
		t.Errorf("entropy, NoEntropy: step 0 committed %v %v, want [1] token 0", pos, tok)
	}
	for _, a := range []decode.DreamAlg{decode.DreamMaskGitPlus, decode.DreamTopKMargin, decode.DreamOrigin} {
		res := gen(t, den, v, 4, decode.Dream{Alg: a}, decode.Options{Steps: 2, NoEntropy: true})
		for k, s := range res.Steps {
			if !math.IsNaN(s.MeanEntropy) {
				t.Errorf("%v, NoEntropy: step %d mean entropy %v, want NaN", a, k, s.MeanEntropy)
			}
		}
	}
}

// TestDreamTopPTie: top-p keeps a token while the mass before it is at most
// TopP, so a token whose mass before is exactly TopP is kept. TopP 0.5,
// maskgit_plus at Temperature 0, Steps 2 (step 0 commits ⌊3·0.4995⌋ = 1),
// rows (5 tokens):
//
//	row 0 (0.5, 0.25, 0.25, 0, 0):       masses before 0, 0.5, 0.75: keeps
//	  2 (the tie at 0.5 is kept) → (2/3, 1/3): confidence 2/3
//	row 1 (0.45, 0.15, 0.2, 0.1, 0.1):   sorted 0.45, 0.2, 0.15, …:
//	  masses 0, 0.45, 0.65: keeps 2 → (0.45, 0.2)/0.65: confidence 0.692308
//	row 2 (0.3, 0.3, 0.2, 0.1, 0.1):     masses 0, 0.3, 0.6: keeps 2 → 0.5
//
// so position 1 (0.6923 > 2/3) is committed. Dropping the tied token would
// give row 0 confidence 1 and commit position 0. All values are exact
// binary fractions at the tie (0.5 + 0.25 + 0.25 = 1, normalised exactly).
func TestDreamTopPTie(t *testing.T) {
	v := tokVocab(t, 5)
	den := product([]float32{0.5, 0.25, 0.25, 0, 0}, []float32{0.45, 0.15, 0.2, 0.1, 0.1}, []float32{0.3, 0.3, 0.2, 0.1, 0.1})
	res := gen(t, den, v, 3, decode.Dream{Alg: decode.DreamMaskGitPlus, TopP: 0.5}, decode.Options{Steps: 2})
	if pos, tok := commitsOf(res, 0, v.Mask()); !eqInts(pos, []int{1}) || tok[0] != 0 {
		t.Errorf("top-p 0.5: step 0 committed %v %v, want [1] token 0", pos, tok)
	}
	// At Temperature 1 row 0 alone draws from (2/3, 1/3, 0, …) (one of the
	// two tokens of 0.25 kept): a token other than 0 with frequency 1/3.
	const n = 3000
	rng := rand.New(rand.NewPCG(13, 14))
	c := 0
	for range n {
		res := gen(t, product([]float32{0.5, 0.25, 0.25, 0, 0}), v, 1, decode.Dream{Temperature: 1, TopP: 0.5}, decode.Options{Steps: 1, Rand: rng})
		if res.Tokens[0] != 0 {
			c++
		}
	}
	if f := float64(c) / n; !within(f, 1.0/3, binTol(1.0/3, n)) {
		t.Errorf("top-p 0.5, T = 1: tokens other than 0 with frequency %.4f, want 1/3", f)
	}
}

// TestDreamNoFilterAtBounds: TopP = 1 and TopK = K (the vocabulary size,
// MASK included) are no filter (TopP's doc: "0 or ≥ 1: none"; TopK keeps
// the K largest of K), so the confidences are the belief's own entries
// even on rows whose sums are off 1 by rounding (soft.RowSumTol), which a
// filter would renormalise. maskgit_plus at Temperature 0, Steps 2 (step 0
// commits 1 of 3), raw rows over tokens (0, 1, 2, MASK):
//
// TopP = 1, row 0 = (0.5 + 2⁻¹⁵, 0.5, 2⁻¹⁵, 0), sum 1 + 2⁻¹⁴: confidence
// 0.5 + 2⁻¹⁵ = 0.5000305, above row 1 = (0.5 + 3·2⁻¹⁷, 0.5 − 3·2⁻¹⁷, 0, 0)
// with 0.5000229 and row 2 (0.4, 0.3, 0.3, 0): position 0 is committed. A
// top-p cut at 1 would drop token 2 (mass before it 1 + 2⁻¹⁵ > 1) and
// renormalise row 0 to (0.5 + 2⁻¹⁵)/(1 + 2⁻¹⁵) = 0.5000153: position 1.
//
// TopK = 4, row 0 = (0.5, 0.5 − 2⁻¹⁴, 0, 0), sum 1 − 2⁻¹⁴: confidence 0.5,
// below row 1 = (0.5 + 2⁻¹⁶, 0.5 − 2⁻¹⁶, 0, 0) with 0.5000153: position 1
// is committed; a renormalised row 0 would have 0.5/(1 − 2⁻¹⁴) = 0.5000305
// and win.
func TestDreamNoFilterAtBounds(t *testing.T) {
	v := tokVocab(t, 3)
	e15, e14, e16, e17 := float32(0x1p-15), float32(0x1p-14), float32(0x1p-16), float32(0x1p-17)
	for _, c := range []struct {
		alg  decode.Dream
		rows rawRows
		want int
	}{
		{decode.Dream{Alg: decode.DreamMaskGitPlus, TopP: 1},
			rawRows{{0.5 + e15, 0.5, e15, 0}, {0.5 + 3*e17, 0.5 - 3*e17, 0, 0}, {0.4, 0.3, 0.3, 0}}, 0},
		{decode.Dream{Alg: decode.DreamMaskGitPlus, TopK: 4},
			rawRows{{0.5, 0.5 - e14, 0, 0}, {0.5 + e16, 0.5 - e16, 0, 0}, {0.4, 0.3, 0.3, 0}}, 1},
	} {
		for _, alg := range []decode.Dream{c.alg, {Alg: decode.DreamMaskGitPlus}} {
			res := gen(t, c.rows, v, 3, alg, decode.Options{Steps: 2})
			if pos, tok := commitsOf(res, 0, v.Mask()); !eqInts(pos, []int{c.want}) || tok[0] != 0 {
				t.Errorf("%+v: step 0 committed %v %v, want [%d] token 0", alg, pos, tok, c.want)
			}
		}
	}
}

// TestDreamTopKWithTopP: with TopK 1 and a top-p filter at a positive
// temperature, Dream keeps only each row's most probable token, so every
// position gets it, whatever the draw: rows whose top-p nucleus holds
// several tokens (0.3, 0.25, 0.2, 0.15, 0.1 on tokens 0..4) must all
// become token 0 (token 2 for the last row, whose order differs). A list
// path that forgot the top-k filter (the nucleus alone) would draw other
// tokens at most positions of the 8 seeds.
func TestDreamTopKWithTopP(t *testing.T) {
	v := tokVocab(t, 5)
	const L = 6
	rows := make(rawRows, L)
	for i := range rows {
		rows[i] = []float32{0.3, 0.25, 0.2, 0.15, 0.1, 0}
	}
	rows[L-1] = []float32{0.25, 0.1, 0.3, 0.2, 0.15, 0}
	for _, alg := range []decode.DreamAlg{decode.DreamEntropy, decode.DreamMaskGitPlus, decode.DreamOrigin} {
		for seed := uint64(0); seed < 8; seed++ {
			res, err := decode.Generate(context.Background(), rows, v, L,
				decode.Dream{Alg: alg, Temperature: 1, TopP: 0.95, TopK: 1}, decode.Options{Steps: 3, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			for i, tok := range res.Tokens {
				want := int32(0)
				if i == L-1 {
					want = 2
				}
				if tok != want {
					t.Fatalf("%v seed %d: position %d got %d, want the argmax %d (tokens %v)", alg, seed, i, tok, want, res.Tokens)
				}
			}
		}
	}
}

// firstCommit returns the position of the first commit of a run of alg
// on rows (one commit at most per step: Steps = len(rows)), or −1.
func firstCommit(t *testing.T, rows rawRows, K int, alg decode.Dream, seed uint64) int {
	t.Helper()
	first := -1
	opts := decode.Options{Steps: len(rows), Seed: seed, Record: true,
		Progress: func(si decode.StepInfo) {
			if first < 0 && len(si.Changes) > 0 {
				first = si.Changes[0].Pos
			}
		}}
	if _, err := decode.Generate(context.Background(), rows, tokVocab(t, K), len(rows), alg, opts); err != nil {
		t.Fatal(err)
	}
	return first
}

// TestDreamOrderTopP: under top-p at a positive temperature Dream's orders
// still commit first the position their key ranks first. The peaked row
// (0.7, 0.1, 0.1, 0.1) has the lowest entropy of its filtered row (its
// nucleus at top-p 0.5 is one token, against several for the flat rows)
// and the largest margin between its two most probable tokens (0.6
// against 0.01). So the entropy order commits it first (with the key's
// sign flipped it would come last), and so does the top-k-margin order,
// which needs the whole row: a run that took the kept-list path for it
// would leave its key unset and commit in index order. The peaked row is
// placed at position 1 and at the last position, so that neither index
// order nor its reverse passes by chance.
func TestDreamOrderTopP(t *testing.T) {
	flat1, flat2, peak := []float32{0.26, 0.25, 0.25, 0.24, 0}, []float32{0.25, 0.26, 0.24, 0.25, 0}, []float32{0.7, 0.1, 0.1, 0.1, 0}
	for _, c := range []struct {
		alg  decode.Dream
		rows rawRows
		want int
	}{
		{decode.Dream{Alg: decode.DreamEntropy, Temperature: 1, TopP: 0.5}, rawRows{flat1, peak, flat2}, 1},
		{decode.Dream{Alg: decode.DreamEntropy, Temperature: 1, TopP: 0.5}, rawRows{flat1, flat2, peak}, 2},
		{decode.Dream{Alg: decode.DreamTopKMargin, Temperature: 1, TopP: 0.9}, rawRows{flat1, flat2, peak}, 2},
		{decode.Dream{Alg: decode.DreamTopKMargin, Temperature: 1, TopP: 0.9}, rawRows{flat1, peak, flat2}, 1},
	} {
		for seed := uint64(0); seed < 6; seed++ {
			if got := firstCommit(t, c.rows, 4, c.alg, seed); got != c.want {
				t.Fatalf("%v seed %d: first commit at position %d, want %d", c.alg.Alg, seed, got, c.want)
			}
		}
	}
}
