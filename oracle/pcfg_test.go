package oracle_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

var (
	_ decode.Denoiser    = (*oracle.PCFG)(nil)
	_ decode.JointScorer = (*oracle.PCFG)(nil)
	_ decode.Counter     = (*oracle.PCFG)(nil)
	_ oracle.Model       = (*oracle.PCFG)(nil)
)

// derivProb returns the probability that nonterminal A derives exactly x,
// by plain recursion over rules and split points (independent of the
// inside tables of PCFG).
func derivProb(g *oracle.Grammar, A int, x []int32) float64 {
	if len(x) == 1 {
		s := 0.0
		for _, r := range g.Lexical {
			if r.A == A && int32(r.T) == x[0] {
				s += r.P
			}
		}
		return s
	}
	s := 0.0
	for _, r := range g.Binary {
		if r.A != A || r.P == 0 {
			continue
		}
		for k := 1; k < len(x); k++ {
			s += r.P * derivProb(g, r.B, x[:k]) * derivProb(g, r.C, x[k:])
		}
	}
	return s
}

// drawGrammar writes a random small CNF grammar as text (so the parser is
// exercised too).
func drawGrammar(t *rapid.T) string {
	N := rapid.IntRange(1, 3).Draw(t, "N")
	T := rapid.IntRange(1, 3).Draw(t, "T")
	var b strings.Builder
	b.WriteString("start X0\n")
	for a := 0; a < N; a++ {
		var rhs []string
		for bb := 0; bb < N; bb++ {
			for c := 0; c < N; c++ {
				if rapid.IntRange(0, 2).Draw(t, "bin") == 0 {
					rhs = append(rhs, fmt.Sprintf("X%d X%d", bb, c))
				}
			}
		}
		for w := 0; w < T; w++ {
			if rapid.IntRange(0, 1).Draw(t, "lex") == 0 {
				rhs = append(rhs, fmt.Sprintf("w%d", w))
			}
		}
		if len(rhs) == 0 {
			rhs = append(rhs, "w0")
		}
		ws := make([]float64, len(rhs))
		sum := 0.0
		for j := range ws {
			ws[j] = rapid.Float64Range(0.05, 1).Draw(t, "p")
			sum += ws[j]
		}
		for j, r := range rhs {
			fmt.Fprintf(&b, "X%d -> %s %.17g\n", a, r, ws[j]/sum)
		}
	}
	return b.String()
}

func TestPCFGBrute(t *testing.T) {
	nontrivial, drawn := 0, 0
	defer func() {
		// Guard against a vacuous property: many draws must build a PCFG.
		// About 60% do (53–68 of 101 in six runs; rapid draws 100 in a full
		// run, 20 with -short); fewer than 20% is a broken generator.
		if nontrivial < 3 || 5*nontrivial < drawn {
			t.Errorf("only %d of the %d drawn grammars generate length L", nontrivial, drawn)
		}
	}()
	rapid.Check(t, func(t *rapid.T) {
		drawn++
		text := drawGrammar(t)
		g, err := oracle.ParseGrammar(strings.NewReader(text), "rand")
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		L := rapid.IntRange(1, 4).Draw(t, "L")
		p, err := oracle.NewPCFG(g, L)
		if err != nil {
			if strings.Contains(err.Error(), "no string of length") || strings.Contains(err.Error(), "no terminals") {
				return // some random grammars cannot make length L
			}
			t.Fatal(err)
		}
		v := p.Vocab()
		// Brute-force normaliser Z_L: sum of derivation probabilities over all
		// D^L strings.
		zL := 0.0
		enumerate(L, dataToks(v), func(x []int32) { zL += derivProb(g, g.Start, x) })
		if !within(p.LengthProb(), zL, 1e-9*math.Max(1, zL)) {
			t.Fatalf("Z_L = %v, brute force %v", p.LengthProb(), zL)
		}
		nontrivial++
		prob := func(x []int32) float64 { return derivProb(g, g.Start, x) / zL }
		h0 := 0.0
		enumerate(L, dataToks(v), func(x []int32) {
			want := prob(x)
			lp, err := p.LogProb(x)
			if err != nil {
				t.Fatal(err)
			}
			if !within(math.Exp(lp), want, 1e-9) || p.Valid(x) != (want > 0) {
				t.Fatalf("p(%v) = %v, brute force %v", x, math.Exp(lp), want)
			}
			if want > 0 {
				h0 -= want * math.Log(want)
			}
		})
		e, err := p.Entropy(oracle.EntropyOptions{})
		if err != nil || !within(e.Nats, h0, 1e-9) {
			t.Fatalf("entropy %v (%v), brute force %v", e, err, h0)
		}
		checkAgainstBrute(t, p, prob, drawEvidence(t, L, v.Size(), v.Mask()))
		// Unigram: the average of the no-evidence marginals, by brute force.
		u := make([]float64, v.Size())
		p.Unigram(u)
		marg, _ := bruteMarginals(prob, soft.AllMask(L, v.Size(), v.Mask()), v)
		for tok := range u {
			want := 0.0
			for i := 0; i < L; i++ {
				want += marg[i*v.Size()+tok] / float64(L)
			}
			if !within(u[tok], want, 1e-9) {
				t.Fatalf("unigram[%d] = %v, brute force %v", tok, u[tok], want)
			}
		}
	})
}

func TestAgreementPCFG(t *testing.T) {
	p, err := oracle.AgreementPCFG(7)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Vocab()
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
		{"the dog that the cats chase sleeps", true},
		{"the dog that the cats chase sleep", false},
		{"the dog that the cats chases sleeps", false},
		{"the big dog sees the old cats", true},
		{"the big dogs sees the old cats", false},
	} {
		if p.Valid(enc(tc.s)) != tc.ok {
			t.Errorf("Valid(%q) = %v", tc.s, !tc.ok)
		}
	}
	// Evidence dog@1, that@2, cats@4: position 5 must be a plural transitive
	// verb (agreeing with "cats") and position 6 a singular intransitive
	// verb (agreeing with "dog" across the clause): the only parse is
	// NP(6) VP(1).
	ev := soft.AllMask(7, v.Size(), v.Mask())
	for pos, w := range map[int]string{1: "dog", 2: "that", 4: "cats"} {
		id, _ := v.ID(w)
		clear(ev.Row(pos))
		ev.Row(pos)[id] = 1
	}
	dst := soft.NewDense(7, v.Size())
	if err := p.Denoise(dst, ev, 0); err != nil {
		t.Fatal(err)
	}
	check := func(pos int, words ...string) {
		sum := 0.0
		for _, w := range words {
			id, _ := v.ID(w)
			sum += float64(dst.Row(pos)[id])
		}
		if !within(sum, 1, 1e-6) {
			t.Errorf("position %d: mass %v on %v", pos, sum, words)
		}
	}
	check(5, "chase", "see")
	check(6, "sleeps", "runs")
	rng := newRand(3)
	x := make([]int32, 7)
	for k := 0; k < 500; k++ {
		p.Sample(x, rng)
		if !p.Valid(x) {
			t.Fatalf("sample %q is invalid", v.Decode(x))
		}
	}
	if p.NFE() != 1 {
		t.Fatalf("NFE %d", p.NFE())
	}
	if a := testing.AllocsPerRun(20, func() { _ = p.Denoise(dst, ev, 0) }); a > 0 && !raceOn {
		t.Fatalf("Denoise allocates %v per call", a)
	}
	// Contradiction: "that" at position 0.
	clear(ev.Row(0))
	id, _ := v.ID("that")
	ev.Row(0)[id] = 1
	if err := p.Denoise(dst, ev, 0); !errors.Is(err, oracle.ErrContradictory) {
		t.Fatalf("'that' first: %v", err)
	}
}

func TestPCFGSampleChiSquare(t *testing.T) {
	p, err := oracle.AgreementPCFG(4)
	if err != nil {
		t.Fatal(err)
	}
	probs := map[string]float64{}
	enumerate(4, dataToks(p.Vocab()), func(x []int32) {
		if lp, _ := p.LogProb(x); !math.IsInf(lp, -1) {
			probs[keyOf(x)] = math.Exp(lp)
		}
	})
	rng := newRand(4)
	chiSquare(t, 100000, probs, keyOf, 4, func(x []int32) { p.Sample(x, rng) })
}

func TestParseGrammarErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"S -> A B 1\n", "g:1: \"A\" in a binary rule is not a nonterminal (no rule has it on the left)"},
		{"S -> a 0.5\n", "g:1: the rules of S sum to 0.5, want 1"},
		{"S -> A 1\nA -> a 1\n", "g:1: unit rule S -> A is not in Chomsky normal form"},
		{"S -> a b c 1\n", "g:1: 3 symbols on the right; Chomsky normal form allows 1 or 2"},
		{"\nS => a 1\n", "g:2: want \"LHS -> B C prob\" or \"LHS -> word prob\""},
		{"S -> a x\n", "g:1: probability \"x\" is not a number in [0, 1]"},
		{"S -> a 0.5\nS -> a 0.5\n", "g:2: rule \"S -> a\" repeats line 1"},
		{"start T\nS -> a 1\n", "g:1: start symbol \"T\" has no rules"},
		{"S -> [MASK] 1\n", "g:1: terminal [MASK] is reserved"},
		{"# nothing\n", "g: no rules"},
	} {
		_, err := oracle.ParseGrammar(strings.NewReader(tc.in), "g")
		if err == nil || err.Error() != tc.msg {
			t.Errorf("ParseGrammar(%q): %v, want %q", tc.in, err, tc.msg)
		}
	}
	g, _ := oracle.ParseGrammar(strings.NewReader("S -> S S 0.5\nS -> a 0.5\n"), "g")
	if _, err := oracle.NewPCFG(g, 0); err == nil {
		t.Error("length 0 accepted")
	}
	g, _ = oracle.ParseGrammar(strings.NewReader("S -> A A 1\nA -> a 1\n"), "g")
	if _, err := oracle.NewPCFG(g, 3); err == nil || err.Error() != "oracle: NewPCFG: the grammar generates no string of length 3" {
		t.Errorf("length 3 of a length-2 grammar: %v", err)
	}
}

// FuzzParseGrammar: any text ParseGrammar accepts and NewPCFG builds at
// length 3 gives valid no-evidence beliefs; when the grammar is small
// enough to enumerate (at most 4 terminals, 4 nonterminals), its
// probabilities, marginals, log Z and Denoise output under random soft
// evidence (drawn from the fuzzed seed: one-hot, all-MASK, uniform, soft
// with MASK mass, soft with zeros) match brute-force enumeration with
// derivProb, which shares no code with the inside tables.
func FuzzParseGrammar(f *testing.F) {
	f.Add(oracle.AgreementGrammarText, uint64(1))
	for i, s := range []string{"S -> S S 0.5\nS -> a 0.5\n", "start S\nS -> a 1", "S -> A B 1", "S -> a NaN", "S -> a 1 # c\n#x\n", "start\n",
		"S -> A B 0.6\nS -> b 0.4\nA -> a 0.7\nA -> S A 0.3\nB -> b 0.5\nB -> a 0.5\n"} {
		f.Add(s, uint64(i))
	}
	f.Fuzz(func(t *testing.T, s string, seed uint64) {
		g, err := oracle.ParseGrammar(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		const L = 3
		p, err := oracle.NewPCFG(g, L)
		if err != nil {
			return
		}
		v := p.Vocab()
		dst := soft.NewDense(L, v.Size())
		if err := p.Denoise(dst, soft.AllMask(L, v.Size(), v.Mask()), 0); err != nil {
			t.Fatalf("no-evidence Denoise: %v", err)
		}
		if err := dst.Validate(); err != nil {
			t.Fatalf("beliefs invalid: %v", err)
		}
		if len(g.Terminals) > 4 || len(g.NonTerminals) > 4 {
			return
		}
		zL := 0.0
		enumerate(L, dataToks(v), func(x []int32) { zL += derivProb(g, g.Start, x) })
		if !within(p.LengthProb(), zL, 1e-9*math.Max(1, zL)) {
			t.Fatalf("Z_L = %v, brute force %v", p.LengthProb(), zL)
		}
		prob := func(x []int32) float64 { return derivProb(g, g.Start, x) / zL }
		enumerate(L, dataToks(v), func(x []int32) {
			lp, err := p.LogProb(x)
			if want := prob(x); err != nil || !within(math.Exp(lp), want, 1e-9) {
				t.Fatalf("p(%v) = %v (%v), brute force %v", x, math.Exp(lp), err, want)
			}
		})
		rng := rand.New(rand.NewPCG(seed, 0xf022))
		K, mask := v.Size(), v.Mask()
		for range 4 {
			ev := soft.NewDense(L, K)
			for i := range L {
				row := ev.Row(i)
				switch rng.IntN(5) {
				case 0:
					row[dataToks(v)[rng.IntN(K-1)]] = 1
				case 1:
					row[mask] = 1
				case 2:
					for j := range row {
						row[j] = 1 / float32(K)
					}
				case 3:
					for j := range row {
						row[j] = float32(0.01 + rng.Float64())
					}
				default:
					for j := range row {
						if rng.IntN(3) > 0 {
							row[j] = float32(0.01 + rng.Float64())
						}
					}
					if rng.IntN(2) == 0 {
						row[mask] = 0
					}
				}
				if err := normalise(row); err != nil {
					row[mask] = 1
				}
			}
			checkAgainstBrute(t, p, prob, ev)
		}
	})
}

// normalise scales row to sum 1; it fails on an all-zero row.
func normalise(row []float32) error {
	var z float64
	for _, x := range row {
		z += float64(x)
	}
	if !(z > 0) {
		return errors.New("zero row")
	}
	for j := range row {
		row[j] = float32(float64(row[j]) / z)
	}
	return nil
}
