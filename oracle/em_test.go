package oracle_test

import (
	"bytes"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

func TestTokenize(t *testing.T) {
	got := oracle.Tokenize("And God said, Let there be light: and there was light. Jacob's well")
	want := []string{"and", "god", "said", ",", "let", "there", "be", "light", ":", "and", "there", "was", "light", ".", "jacob's", "well"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokenize = %q", got)
	}
	v, err := oracle.TextVocab([][]string{{"b", "a", "b"}, {"c", "a", "b"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// b ×3, a ×2, c ×1: the cap of 2 keeps b, a; then <unk>, [MASK].
	if v.Decode([]int32{0, 1, 2, 3}) != "b a <unk> [MASK]" {
		t.Fatalf("TextVocab = %q", v.Decode([]int32{0, 1, 2, 3}))
	}
	ids, _ := oracle.EncodeText(v, [][]string{{"c", "a"}, {}})
	if len(ids) != 1 || !reflect.DeepEqual(ids[0], []int32{2, 1}) {
		t.Fatalf("EncodeText = %v", ids)
	}
}

// TestEMMonotone fits data sampled from a random HMM and checks that the
// log-likelihood never decreases (EM's guarantee; tolerance for rounding)
// and that the result does not depend on the number of workers.
func TestEMMonotone(t *testing.T) {
	truth := must(oracle.RandomHMM(newRand(21), 3, 4, 6))
	seqs := make([][]int32, 300)
	for j := range seqs {
		seqs[j] = make([]int32, 6)
	}
	truth.SampleBatch(seqs, 4, 0)
	seqs[7] = seqs[7][:3] // sequences may have any length
	opt := oracle.FitOptions{States: 3, Iters: 25, Seed: 8, Workers: 1}
	h, trace, err := oracle.FitHMM(truth.Vocab(), 6, seqs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(trace) != 26 {
		t.Fatalf("trace has %d entries", len(trace))
	}
	for i := 1; i < len(trace); i++ {
		if !(trace[i] >= trace[i-1]-1e-9*math.Abs(trace[i-1])) {
			t.Fatalf("log-likelihood fell at iteration %d: %v → %v", i, trace[i-1], trace[i])
		}
	}
	if !(trace[len(trace)-1] > trace[0]+1) {
		t.Fatalf("EM made no progress: %v → %v", trace[0], trace[len(trace)-1])
	}
	// The last entry is the log-likelihood of the returned model.
	ll := 0.0
	for _, x := range seqs {
		hl, _ := h.WithLen(len(x))
		lp, _ := hl.LogProb(x)
		ll += lp
	}
	if !within(ll, trace[len(trace)-1], 1e-6) {
		t.Fatalf("returned model scores %v, trace says %v", ll, trace[len(trace)-1])
	}
	opt.Workers = 3
	_, trace3, _ := oracle.FitHMM(truth.Vocab(), 6, seqs, opt)
	if !reflect.DeepEqual(trace, trace3) {
		t.Fatal("FitHMM depends on Workers")
	}
	// Round trip through the model file.
	var buf bytes.Buffer
	if err := oracle.WriteHMM(&buf, h, "test"); err != nil {
		t.Fatal(err)
	}
	h2, err := oracle.ReadHMM(&buf, "buf", 6)
	if err != nil {
		t.Fatal(err)
	}
	i1, t1, e1 := h.Params()
	i2, t2, e2 := h2.Params()
	// JSON round-trips float64 exactly; NewHMM's renormalisation may move
	// entries by a few ulps.
	for k, pair := range [][2][]float64{{i1, i2}, {t1, t2}, {e1, e2}} {
		for j := range pair[0] {
			if !within(pair[0][j], pair[1][j], 1e-15) {
				t.Fatalf("round trip changed parameter set %d entry %d: %v → %v", k, j, pair[0][j], pair[1][j])
			}
		}
	}
	if _, err := oracle.ReadHMM(strings.NewReader(`{"tokens":["a","[MASK]"],"mask":"[MASK]","init":[1],"trans":[[1]],"emit":[[1]]}`), "m.json", 3); err == nil ||
		err.Error() != "m.json: emit row 0 has 1 entries, want 2" {
		t.Fatalf("bad file: %v", err)
	}
}

// TestShippedKJVModel checks the embedded fitted model (oracle.KJV): it is
// the file in data/ parameter for parameter, has the documented shape, and a
// real verse opening is likelier than its reversal.
func TestShippedKJVModel(t *testing.T) {
	h, err := oracle.KJV(8)
	if err != nil {
		t.Fatal(err)
	}
	file, err := oracle.LoadHMM("../data/kjv-hmm.json", 8)
	if err != nil {
		t.Fatal(err)
	}
	i1, t1, e1 := h.Params()
	i2, t2, e2 := file.Params()
	if !slices.Equal(i1, i2) || !slices.Equal(t1, t2) || !slices.Equal(e1, e2) || h.Vocab().Size() != file.Vocab().Size() {
		t.Fatal("embedded model differs from data/kjv-hmm.json")
	}
	if _, err := oracle.KJV(0); err == nil {
		t.Fatal("KJV(0) accepted")
	}
	v := h.Vocab()
	if h.States() != 24 || v.Size() != 302 {
		t.Fatalf("S %d K %d", h.States(), v.Size())
	}
	fwd, err := v.Encode(nil, strings.Fields("and the lord said unto moses , speak"))
	if err != nil {
		t.Fatal(err)
	}
	rev := make([]int32, len(fwd))
	for i, id := range fwd {
		rev[len(fwd)-1-i] = id
	}
	a, _ := h.LogProb(fwd)
	b, _ := h.LogProb(rev)
	if !(a > b+10) {
		t.Fatalf("log p(verse) = %v, log p(reversed) = %v", a, b)
	}
	dst := soft.NewDense(8, v.Size())
	if err := h.Denoise(dst, soft.AllMask(8, v.Size(), v.Mask()), 0); err != nil {
		t.Fatal(err)
	}
	if err := dst.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestEntropyMonteCarlo forces the Monte-Carlo branch of EntropyOf and
// compares it with the exact entropy (enumeration of 3^6 sequences):
// within 4 standard errors, and identical at 1 and 3 workers.
func TestEntropyMonteCarlo(t *testing.T) {
	h := must(oracle.RandomHMM(newRand(31), 3, 3, 6))
	exact, err := h.Entropy(oracle.EntropyOptions{})
	if err != nil || !exact.Exact || exact.N != 729 {
		t.Fatalf("exact: %v, %v", exact, err)
	}
	mc1, err := h.Entropy(oracle.EntropyOptions{MaxEnum: 10, Samples: 20000, Seed: 5, Workers: 1})
	if err != nil || mc1.Exact || mc1.N != 20000 || !(mc1.StdErr > 0) {
		t.Fatalf("monte carlo: %v, %v", mc1, err)
	}
	if !(math.Abs(mc1.Nats-exact.Nats) <= 4*mc1.StdErr) {
		t.Fatalf("Monte-Carlo entropy %v, exact %v", mc1, exact)
	}
	mc3, _ := h.Entropy(oracle.EntropyOptions{MaxEnum: 10, Samples: 20000, Seed: 5, Workers: 3})
	if mc3 != mc1 {
		t.Fatalf("Monte-Carlo entropy depends on workers: %v vs %v", mc1, mc3)
	}
	if !strings.Contains(mc1.String(), "Monte Carlo, 20000 samples") || !strings.Contains(exact.String(), "exact, 729 sequences") {
		t.Fatalf("String: %q / %q", mc1, exact)
	}
}

// TestKJVVerses checks the shipped text's verses: 5,852 lines (wc -l of
// data/kjv-pentateuch.txt), the first verse tokenised by hand, and the
// vocabulary built from them (TextVocab, 300 words) is the shipped model's.
func TestKJVVerses(t *testing.T) {
	vs := oracle.KJVVerses()
	if len(vs) != 5852 {
		t.Fatalf("%d verses, want 5852", len(vs))
	}
	want := []string{"in", "the", "beginning", "god", "created", "the", "heaven", "and", "the", "earth", "."}
	if !slices.Equal(vs[0], want) {
		t.Fatalf("first verse %q, want %q", vs[0], want)
	}
	v, err := oracle.TextVocab(vs, 300)
	if err != nil {
		t.Fatal(err)
	}
	h, err := oracle.KJV(4)
	if err != nil {
		t.Fatal(err)
	}
	if v.Size() != h.Vocab().Size() {
		t.Fatalf("vocabulary of %d, model has %d", v.Size(), h.Vocab().Size())
	}
	for id := 0; id < v.Size(); id++ {
		if v.Token(int32(id)) != h.Vocab().Token(int32(id)) {
			t.Fatalf("token %d: %q from the text, %q in the model", id, v.Token(int32(id)), h.Vocab().Token(int32(id)))
		}
	}
}
