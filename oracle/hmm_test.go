package oracle_test

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

var (
	_ decode.Denoiser    = (*oracle.HMM)(nil)
	_ decode.JointScorer = (*oracle.HMM)(nil)
	_ decode.Counter     = (*oracle.HMM)(nil)
	_ oracle.Model       = (*oracle.HMM)(nil)
)

// hmmBrute returns p(x) by summing over all S^L hidden paths (independent
// of the forward recursion).
func hmmBrute(h *oracle.HMM) func(x []int32) float64 {
	init, trans, emit := h.Params()
	S, K := h.States(), h.Vocab().Size()
	states := make([]int32, S)
	for s := range states {
		states[s] = int32(s)
	}
	return func(x []int32) float64 {
		tot := 0.0
		enumerate(len(x), states, func(z []int32) {
			p := init[z[0]]
			for i := range x {
				if i > 0 {
					p *= trans[int(z[i-1])*S+int(z[i])]
				}
				p *= emit[int(z[i])*K+int(x[i])]
			}
			tot += p
		})
		return tot
	}
}

// drawHMM draws a small random HMM, with some parameters zeroed so that
// impossible sequences and contradictory evidence occur.
func drawHMM(t *rapid.T) *oracle.HMM {
	S := rapid.IntRange(1, 3).Draw(t, "S")
	D := rapid.IntRange(1, 3).Draw(t, "D")
	L := rapid.IntRange(1, 4).Draw(t, "L")
	h := must(oracle.RandomHMM(newRand(rapid.Uint64().Draw(t, "seed")), S, D, L))
	init, trans, emit := h.Params()
	init, trans, emit = append([]float64(nil), init...), append([]float64(nil), trans...), append([]float64(nil), emit...)
	K := D + 1
	zero := func(p []float64) {
		for j := range p {
			if rapid.IntRange(0, 3).Draw(t, "z") == 0 {
				p[j] = 0
			}
		}
		sum := 0.0
		for _, x := range p {
			sum += x
		}
		if sum == 0 {
			p[0] = 1
			sum = 1
		}
		for j := range p {
			p[j] /= sum
		}
	}
	zero(init)
	for s := 0; s < S; s++ {
		zero(trans[s*S : (s+1)*S])
		zero(emit[s*K : s*K+D])
	}
	h2, err := oracle.NewHMM(h.Vocab(), L, init, trans, emit)
	if err != nil {
		t.Fatal(err)
	}
	return h2
}

func TestHMMBrute(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHMM(t)
		p := hmmBrute(h)
		v := h.Vocab()
		tot := 0.0
		enumerate(h.Len(), dataToks(v), func(x []int32) {
			lp, err := h.LogProb(x)
			if err != nil {
				t.Fatal(err)
			}
			want := p(x)
			tot += want
			if !within(math.Exp(lp), want, 1e-12) || h.Valid(x) != (want > 0) {
				t.Fatalf("p(%v) = %v, brute force %v", x, math.Exp(lp), want)
			}
		})
		if !within(tot, 1, 1e-9) {
			t.Fatalf("brute-force probabilities sum to %v", tot)
		}
		checkAgainstBrute(t, h, p, drawEvidence(t, h.Len(), v.Size(), v.Mask()))
		// Entropy: exact enumeration equals −Σ p log p by brute force.
		h0 := 0.0
		enumerate(h.Len(), dataToks(v), func(x []int32) {
			if q := p(x); q > 0 {
				h0 -= q * math.Log(q)
			}
		})
		e, err := h.Entropy(oracle.EntropyOptions{})
		if err != nil || !e.Exact || !within(e.Nats, h0, 1e-9) {
			t.Fatalf("entropy %v (%v), brute force %v", e, err, h0)
		}
		// Unigram: average of the no-evidence marginals.
		u := make([]float64, v.Size())
		h.Unigram(u)
		marg, _ := bruteMarginals(p, soft.AllMask(h.Len(), v.Size(), v.Mask()), v)
		for tok := range u {
			want := 0.0
			for i := 0; i < h.Len(); i++ {
				want += marg[i*v.Size()+tok] / float64(h.Len())
			}
			if !within(u[tok], want, 1e-9) {
				t.Fatalf("unigram[%d] = %v, brute force %v", tok, u[tok], want)
			}
		}
	})
}

// TestHMMEvidenceEnds checks the two ends of the evidence semantics on a
// random HMM: no evidence (all-MASK or uniform rows) gives the prior
// marginals, a one-hot row gives a one-hot belief, and a row with MASK
// mass m and token mass π equals the row with likelihood π+m written
// without MASK.
func TestHMMEvidenceEnds(t *testing.T) {
	h := must(oracle.RandomHMM(newRand(7), 4, 4, 5))
	v := h.Vocab()
	L, K := h.Len(), v.Size()
	p := hmmBrute(h)
	prior, _ := bruteMarginals(p, soft.AllMask(L, K, v.Mask()), v)
	for _, ev := range []*soft.Dense{soft.AllMask(L, K, v.Mask()), soft.Uniform(L, K)} {
		got := make([]float64, L*K)
		if _, err := h.Marginals(got, ev); err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if !within(got[j], prior[j], 1e-12) {
				t.Fatalf("no-evidence marginal %d = %v, prior %v", j, got[j], prior[j])
			}
		}
	}
	ev := soft.AllMask(L, K, v.Mask())
	clear(ev.Row(2))
	ev.Row(2)[3] = 1
	dst := soft.NewDense(L, K)
	if err := h.Denoise(dst, ev, 0); err != nil {
		t.Fatal(err)
	}
	if dst.Row(2)[3] != 1 {
		t.Fatalf("one-hot evidence gave belief %v", dst.Row(2))
	}
	// Mixed row: MASK mass 0.3, token mass 0.7 on token 1 ⇒ likelihood
	// (0.3, 1.0, 0.3, 0.3, 0.3) over data tokens.
	a := soft.AllMask(L, K, v.Mask())
	clear(a.Row(4))
	a.Row(4)[v.Mask()] = 0.3
	a.Row(4)[1] = 0.7
	b := soft.AllMask(L, K, v.Mask())
	clear(b.Row(4))
	for tok := 0; tok < K-1; tok++ {
		b.Row(4)[tok] = 0.3
	}
	b.Row(4)[1] = 1
	ga, gb := make([]float64, L*K), make([]float64, L*K)
	za, _ := h.Marginals(ga, a)
	zb, _ := h.Marginals(gb, b)
	if !within(za, zb, 1e-12) {
		t.Fatalf("log Z %v vs %v", za, zb)
	}
	for j := range ga {
		if !within(ga[j], gb[j], 1e-12) {
			t.Fatalf("MASK-mass row differs from explicit likelihood at %d: %v vs %v", j, ga[j], gb[j])
		}
	}
}

func TestHMMErrors(t *testing.T) {
	v := oracle.Sticky3().Vocab()
	bad := []struct {
		init, trans, emit []float64
		msg               string
	}{
		{[]float64{1}, []float64{1}, []float64{1, 0, 0, 0.5}, "emit[0][3] (MASK) = 0.5, must be 0"},
		{[]float64{0.5}, []float64{1}, []float64{1, 0, 0, 0}, "init sums to 0.5, want 1"},
		{[]float64{1}, []float64{math.NaN()}, []float64{1, 0, 0, 0}, "trans[0][0] = NaN"},
		{[]float64{1}, []float64{1}, []float64{1, -1, 1, 0}, "emit[0][1] = -1"},
		{[]float64{1}, []float64{1, 0}, []float64{1, 0, 0, 0}, "trans has 2 entries, want S×S = 1"},
	}
	for _, tc := range bad {
		if _, err := oracle.NewHMM(v, 3, tc.init, tc.trans, tc.emit); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("NewHMM: %v, want %q", err, tc.msg)
		}
	}
	h := oracle.Sticky3() // noise 0: token = state, stay 0.8
	ev := soft.AllMask(5, 4, 3)
	if err := h.Denoise(soft.NewDense(5, 4), soft.AllMask(5, 3, 2), 0); err == nil || !strings.Contains(err.Error(), "evidence is 5×3") {
		t.Fatalf("wrong width: %v", err)
	}
	if err := h.Denoise(soft.NewDense(4, 4), ev, 0); err == nil || !strings.Contains(err.Error(), "dst is 4×4") {
		t.Fatalf("wrong length: %v", err)
	}
	// Evidence excluding every token at position 3.
	clear(ev.Row(3))
	ev.Row(3)[3] = 0
	err := h.Denoise(soft.NewDense(5, 4), ev, 0)
	if !errors.Is(err, oracle.ErrContradictory) || !strings.Contains(err.Error(), "contradictory evidence at positions [3]") {
		t.Fatalf("all-zero row: %v", err)
	}
	// With noise 0, stay 0.8 all transitions are possible: use a bracket HMM
	// instead, where ")" at position 0 is impossible.
	b, err := oracle.BracketHMM(2, 4, 0.3, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	ev = soft.AllMask(4, 4, 3)
	clear(ev.Row(0))
	ev.Row(0)[1] = 1
	err = b.Denoise(soft.NewDense(4, 4), ev, 0)
	if err == nil || err.Error() != "contradictory evidence at positions [0]: the evidence has probability zero under the model" {
		t.Fatalf("')' first: %v", err)
	}
	lp, err := b.LogProb([]int32{1, 2, 2, 2})
	if err != nil || !math.IsInf(lp, -1) {
		t.Fatalf("LogProb of an impossible sequence = %v, %v", lp, err)
	}
	if _, err := b.LogProb([]int32{0, 2, 2}); err == nil {
		t.Fatal("short sequence accepted")
	}
}

// TestHMMDenoiseMatchesMarginals: the float32 fast path agrees with the
// float64 marginals on a larger random HMM with dense soft evidence.
func TestHMMDenoiseMatchesMarginals(t *testing.T) {
	rng := newRand(3)
	h := must(oracle.RandomHMM(rng, 16, 50, 12))
	L, K := h.Len(), h.Vocab().Size()
	ev := soft.NewDense(L, K)
	for i := 0; i < L; i++ {
		row := ev.Row(i)
		switch i % 3 {
		case 0:
			row[K-1] = 1
		case 1:
			row[rng.IntN(K-1)] = 1
		default:
			for v := range row {
				row[v] = rng.Float32()
			}
		}
	}
	want := make([]float64, L*K)
	if _, err := h.Marginals(want, ev); err != nil {
		t.Fatal(err)
	}
	dst := soft.NewDense(L, K)
	if err := h.Denoise(dst, ev, 0); err != nil {
		t.Fatal(err)
	}
	for j := range want {
		if !within(float64(dst.Data[j]), want[j], 1e-5) {
			t.Fatalf("entry %d: Denoise %v, Marginals %v", j, dst.Data[j], want[j])
		}
	}
	if err := dst.Validate(); err != nil {
		t.Fatal(err)
	}
	// Batch at GOMAXPROCS 1 and 4: identical to the single calls.
	n := 9
	dsts1, dsts4, evs, ts := make([]*soft.Dense, n), make([]*soft.Dense, n), make([]*soft.Dense, n), make([]float64, n)
	for j := range evs {
		evs[j] = ev
		dsts1[j], dsts4[j] = soft.NewDense(L, K), soft.NewDense(L, K)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if err := h.DenoiseBatch(dsts1, evs, ts); err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(4)
	if err := h.DenoiseBatch(dsts4, evs, ts); err != nil {
		t.Fatal(err)
	}
	for j := range evs {
		for k := range dst.Data {
			if dsts1[j].Data[k] != dst.Data[k] || dsts4[j].Data[k] != dst.Data[k] {
				t.Fatalf("batch %d differs at %d", j, k)
			}
		}
	}
	bad := soft.NewDense(L, K)
	evs[5] = bad
	if err := h.DenoiseBatch(dsts4, evs, ts); err == nil || !strings.HasPrefix(err.Error(), "sequence 5: contradictory evidence") {
		t.Fatalf("batch error: %v", err)
	}
	if a := testing.AllocsPerRun(20, func() { _ = h.Denoise(dst, ev, 0) }); a > 0 && !raceOn {
		t.Fatalf("Denoise allocates %v per call", a)
	}
}

func TestHMMSampleChiSquare(t *testing.T) {
	h := must(oracle.RandomHMM(newRand(11), 3, 3, 4))
	p := hmmBrute(h)
	probs := map[string]float64{}
	enumerate(4, dataToks(h.Vocab()), func(x []int32) {
		if q := p(x); q > 0 {
			probs[keyOf(x)] = q
		}
	})
	rng := newRand(2)
	chiSquare(t, 200000, probs, keyOf, 4, func(x []int32) { h.Sample(x, rng) })
	// SampleBatch is deterministic in the seed, whatever the workers.
	a, b := make([][]int32, 50), make([][]int32, 50)
	for j := range a {
		a[j], b[j] = make([]int32, 4), make([]int32, 4)
	}
	h.SampleBatch(a, 9, 1)
	h.SampleBatch(b, 9, 3)
	for j := range a {
		if keyOf(a[j]) != keyOf(b[j]) {
			t.Fatalf("SampleBatch differs at %d", j)
		}
	}
}

func TestTestbedHMMs(t *testing.T) {
	ag, err := oracle.AgreementHMM(8)
	if err != nil {
		t.Fatal(err)
	}
	v := ag.Vocab()
	enc := func(s string) []int32 {
		x, err := v.Encode(nil, strings.Fields(s))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"he very really runs . they sleep .", true},
		{"he very really run . they sleep .", false},
		{"we quite quite quite quite sleep . she", true},
		{"we quite quite quite quite sleeps . she", false},
	} {
		if ag.Valid(enc(tc.s)) != tc.ok {
			t.Errorf("AgreementHMM.Valid(%q) = %v", tc.s, !tc.ok)
		}
	}
	// Hard evidence "he" at 0 and "runs"/"run" unknown at 4 with fillers
	// between: the belief at 4 is on singular verbs only.
	ev := soft.AllMask(8, v.Size(), v.Mask())
	for i, w := range []string{"he", "very", "very", "very"} {
		id, _ := v.ID(w)
		clear(ev.Row(i))
		ev.Row(i)[id] = 1
	}
	dst := soft.NewDense(8, v.Size())
	if err := ag.Denoise(dst, ev, 0); err != nil {
		t.Fatal(err)
	}
	run, _ := v.ID("run")
	runs, _ := v.ID("runs")
	if dst.Row(4)[run] != 0 || !(dst.Row(4)[runs] > 0.2) {
		t.Fatalf("verb belief after 'he very very very': run %v runs %v", dst.Row(4)[run], dst.Row(4)[runs])
	}
	br, err := oracle.BracketHMM(2, 6, 0.4, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	bv := br.Vocab()
	rng := newRand(5)
	x := make([]int32, 6)
	for k := 0; k < 2000; k++ {
		br.Sample(x, rng)
		d := 0
		for _, id := range x {
			switch bv.Token(id) {
			case "(":
				d++
			case ")":
				d--
			}
			if d < 0 || d > 2 {
				t.Fatalf("sample %s leaves depth bounds", bv.Decode(x))
			}
		}
	}
	if br.Valid([]int32{0, 0, 0, 1, 1, 1}) {
		t.Fatal("depth 3 accepted with maxDepth 2")
	}
	st := oracle.Sticky3()
	if st.Len() != 5 || st.Vocab().Size() != 4 {
		t.Fatalf("Sticky3: L %d K %d", st.Len(), st.Vocab().Size())
	}
	// p(t0 t0 t0 t0 t0) = ⅓·0.8⁴ (derivation: uniform start, stay 0.8, noise 0).
	lp, _ := st.LogProb([]int32{0, 0, 0, 0, 0})
	if !within(lp, math.Log(math.Pow(0.8, 4)/3), 1e-12) {
		t.Fatalf("Sticky3 log p = %v", lp)
	}
}

// ExampleSticky3: hard evidence t0 at position 0; position 1 then stays t0
// with probability 0.8 and moves to each other token with 0.1; at
// position 2 t0 has 0.8² + 2·0.1² = 0.66.
func ExampleSticky3() {
	h := oracle.Sticky3()
	v := h.Vocab()
	ev := soft.AllMask(h.Len(), v.Size(), v.Mask())
	clear(ev.Row(0))
	ev.Row(0)[0] = 1 // t0
	beliefs := soft.NewDense(h.Len(), v.Size())
	if err := h.Denoise(beliefs, ev, 0); err != nil {
		panic(err)
	}
	for i := 1; i <= 2; i++ {
		r := beliefs.Row(i)
		fmt.Printf("position %d: t0 %.3f t1 %.3f t2 %.3f [MASK] %.0f\n", i, r[0], r[1], r[2], r[3])
	}
	// Output:
	// position 1: t0 0.800 t1 0.100 t2 0.100 [MASK] 0
	// position 2: t0 0.660 t1 0.170 t2 0.170 [MASK] 0
}
