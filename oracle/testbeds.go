package oracle

import (
	"fmt"
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// tokenVocab returns a vocabulary of the given tokens followed by "[MASK]".
func tokenVocab(toks []string) *soft.Vocab {
	v, err := soft.NewVocab(append(append([]string(nil), toks...), "[MASK]"), soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		panic(fmt.Sprintf("oracle: built-in vocabulary: %v", err))
	}
	return v
}

func numberedTokens(D int) []string {
	t := make([]string, D)
	for i := range t {
		t[i] = fmt.Sprintf("t%d", i)
	}
	return t
}

// dirichlet1 fills p with a draw from the flat Dirichlet distribution.
func dirichlet1(rng *rand.Rand, p []float64) {
	sum := 0.0
	for i := range p {
		p[i] = rng.ExpFloat64()
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}

// RandomHMM returns an HMM with S states over D data tokens "t0".."t{D-1}"
// (plus "[MASK]", id D) of length L, whose initial, transition and emission
// rows are independent draws from the flat Dirichlet distribution using rng.
// A nil rng, or S, D or L below 1, is an error.
func RandomHMM(rng *rand.Rand, S, D, L int) (*HMM, error) {
	if rng == nil {
		return nil, fmt.Errorf("oracle: RandomHMM: nil random source")
	}
	if S < 1 || D < 1 || L < 1 {
		return nil, fmt.Errorf("oracle: RandomHMM: S=%d D=%d L=%d must be ≥ 1", S, D, L)
	}
	v := tokenVocab(numberedTokens(D))
	K := D + 1
	init := make([]float64, S)
	trans := make([]float64, S*S)
	emit := make([]float64, S*K)
	dirichlet1(rng, init)
	for a := 0; a < S; a++ {
		dirichlet1(rng, trans[a*S:(a+1)*S])
		dirichlet1(rng, emit[a*K:a*K+D])
	}
	return NewHMM(v, L, init, trans, emit)
}

// Sticky returns a "sticky" HMM over D tokens "t0".."t{D-1}" of length L:
// one state per token, uniform initial state, the state stays with
// probability stay and otherwise moves to one of the other states uniformly;
// state s emits token s with probability 1−noise and each other token with
// noise/(D−1). With noise 0 it is a sticky Markov chain: neighbouring
// positions are strongly correlated, which one-step parallel decoding from
// marginals cannot reproduce.
func Sticky(D, L int, stay, noise float64) (*HMM, error) {
	if D < 1 || L < 1 {
		return nil, fmt.Errorf("oracle: Sticky: D=%d L=%d must be ≥ 1", D, L)
	}
	if !(stay >= 0 && stay <= 1) || !(noise >= 0 && noise <= 1) || (D == 1 && (stay != 1 || noise != 0)) {
		return nil, fmt.Errorf("oracle: Sticky: stay=%v noise=%v must lie in [0, 1] (and be 1, 0 when D = 1)", stay, noise)
	}
	K := D + 1
	init := make([]float64, D)
	trans := make([]float64, D*D)
	emit := make([]float64, D*K)
	for a := 0; a < D; a++ {
		init[a] = 1 / float64(D)
		for b := 0; b < D; b++ {
			if a == b {
				trans[a*D+b] = stay
				emit[a*K+b] = 1 - noise
			} else {
				trans[a*D+b] = (1 - stay) / float64(D-1)
				emit[a*K+b] = noise / float64(D-1)
			}
		}
	}
	return NewHMM(tokenVocab(numberedTokens(D)), L, init, trans, emit)
}

// Sticky3 is Sticky(3, 5, 0.8, 0): a noise-free sticky chain of the shape of
// the first measurement in docs/design.md (3 tokens, length 5). Its
// one-step TV is 0.71; the figures quoted there (random-order hard TV 0.30 /
// 0.15 / 0.08 / 0.024 at 1 / 2 / 3 / 5 NFE) belong to the noisier
// Sticky(3, 5, 0.6, 0.1) (see decode's TestDesignMeasurement and
// docs/decode.md).
func Sticky3() *HMM {
	h, err := Sticky(3, 5, 0.8, 0)
	if err != nil {
		panic(err)
	}
	return h
}

// AgreementHMM returns an HMM of length L that carries number agreement
// across a span of variable length: a clause is a subject (he/she singular,
// they/we plural), then fillers (very/really/quite; after the subject and
// after each filler another filler follows with probability ½), then a verb
// agreeing with the subject (runs/sleeps or run/sleep), then ".", after
// which a new clause starts. Seven states: subject, filler and verb for
// each number, and the full stop. The clause may be cut by the end of the
// sequence.
func AgreementHMM(L int) (*HMM, error) {
	toks := []string{"he", "she", "they", "we", "very", "really", "quite", "runs", "sleeps", "run", "sleep", "."}
	v := tokenVocab(toks)
	K := v.Size()
	const (
		subjS = iota
		subjP
		fillS
		fillP
		verbS
		verbP
		stop
		S
	)
	init := make([]float64, S)
	init[subjS], init[subjP] = 0.5, 0.5
	trans := make([]float64, S*S)
	set := func(a, b int, p float64) { trans[a*S+b] = p }
	set(subjS, fillS, 0.5)
	set(subjS, verbS, 0.5)
	set(subjP, fillP, 0.5)
	set(subjP, verbP, 0.5)
	set(fillS, fillS, 0.5)
	set(fillS, verbS, 0.5)
	set(fillP, fillP, 0.5)
	set(fillP, verbP, 0.5)
	set(verbS, stop, 1)
	set(verbP, stop, 1)
	set(stop, subjS, 0.5)
	set(stop, subjP, 0.5)
	emit := make([]float64, S*K)
	em := func(s int, words ...string) {
		for _, w := range words {
			id, _ := v.ID(w)
			emit[s*K+int(id)] = 1 / float64(len(words))
		}
	}
	em(subjS, "he", "she")
	em(subjP, "they", "we")
	em(fillS, "very", "really", "quite")
	em(fillP, "very", "really", "quite")
	em(verbS, "runs", "sleeps")
	em(verbP, "run", "sleep")
	em(stop, ".")
	return NewHMM(v, L, init, trans, emit)
}

// BracketHMM returns an HMM of length L over "(", ")" and "a" whose strings
// never close more brackets than they opened and never nest deeper than
// maxDepth: the state is (depth after the token, token kind), 3(maxDepth+1)
// states. From depth d the next token is "(" with probability pOpen (if
// d < maxDepth), ")" with probability pClose (if d > 0) and "a" otherwise
// (the unavailable move's probability goes to "a"). The sequence starts at
// depth 0. Whether a ")" is allowed depends on the whole prefix: structure
// of unbounded range within the depth bound.
func BracketHMM(maxDepth, L int, pOpen, pClose float64) (*HMM, error) {
	if maxDepth < 1 || L < 1 {
		return nil, fmt.Errorf("oracle: BracketHMM: maxDepth=%d L=%d must be ≥ 1", maxDepth, L)
	}
	if !(pOpen >= 0) || !(pClose >= 0) || !(pOpen+pClose <= 1) {
		return nil, fmt.Errorf("oracle: BracketHMM: pOpen=%v pClose=%v must be ≥ 0 with sum ≤ 1", pOpen, pClose)
	}
	v := tokenVocab([]string{"(", ")", "a"})
	K := v.Size()
	S := 3 * (maxDepth + 1)
	st := func(d, kind int) int { return 3*d + kind } // kind: 0 "(", 1 ")", 2 "a"
	next := func(dst []float64, d int) {
		atom := 1.0
		if d < maxDepth {
			dst[st(d+1, 0)] = pOpen
			atom -= pOpen
		}
		if d > 0 {
			dst[st(d-1, 1)] = pClose
			atom -= pClose
		}
		dst[st(d, 2)] = atom
	}
	init := make([]float64, S)
	next(init, 0)
	trans := make([]float64, S*S)
	emit := make([]float64, S*K)
	for d := 0; d <= maxDepth; d++ {
		for kind := 0; kind < 3; kind++ {
			s := st(d, kind)
			next(trans[s*S:(s+1)*S], d)
			emit[s*K+kind] = 1
		}
	}
	return NewHMM(v, L, init, trans, emit)
}
