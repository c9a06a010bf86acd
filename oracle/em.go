package oracle

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/softdiff/softdiff/soft"
)

// UNK is the token that stands for every word outside a capped vocabulary
// built by TextVocab.
const UNK = "<unk>"

// Tokenize splits text into lower-case tokens: maximal runs of letters,
// digits and inner apostrophes form words, and every other non-space
// character is a token of its own (punctuation).
func Tokenize(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	rs := []rune(text)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case r == '\'' && b.Len() > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i+1]):
			b.WriteRune(r)
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			out = append(out, string(r))
		}
	}
	flush()
	return out
}

// TextVocab returns a vocabulary of the maxWords most frequent tokens of
// seqs (ties broken by first appearance), then UNK and "[MASK]".
func TextVocab(seqs [][]string, maxWords int) (*soft.Vocab, error) {
	if maxWords < 1 {
		return nil, fmt.Errorf("oracle: TextVocab: maxWords %d < 1", maxWords)
	}
	count := map[string]int{}
	first := map[string]int{}
	n := 0
	for _, s := range seqs {
		for _, t := range s {
			if t == UNK || t == "[MASK]" {
				continue
			}
			if _, ok := first[t]; !ok {
				first[t] = n
				n++
			}
			count[t]++
		}
	}
	words := make([]string, 0, len(count))
	for w := range count {
		words = append(words, w)
	}
	sort.Slice(words, func(a, b int) bool {
		if count[words[a]] != count[words[b]] {
			return count[words[a]] > count[words[b]]
		}
		return first[words[a]] < first[words[b]]
	})
	if len(words) > maxWords {
		words = words[:maxWords]
	}
	return soft.NewVocab(append(words, UNK, "[MASK]"), soft.VocabOptions{Mask: "[MASK]"})
}

// EncodeText maps token sequences to ids of v, with every token outside v
// mapped to UNK (which v must hold). Empty sequences are dropped.
func EncodeText(v *soft.Vocab, seqs [][]string) ([][]int32, error) {
	if v == nil {
		return nil, errors.New("oracle: EncodeText: nil vocabulary")
	}
	unk, ok := v.ID(UNK)
	if !ok {
		return nil, fmt.Errorf("oracle: EncodeText: vocabulary has no %s token", UNK)
	}
	var out [][]int32
	for _, s := range seqs {
		if len(s) == 0 {
			continue
		}
		x := make([]int32, len(s))
		for i, t := range s {
			id, ok := v.ID(t)
			if !ok || id == v.Mask() {
				id = unk
			}
			x[i] = id
		}
		out = append(out, x)
	}
	return out, nil
}

// FitOptions controls FitHMM. Zero values take the defaults shown.
type FitOptions struct {
	States  int     // hidden states; 0 means 16
	Iters   int     // EM iterations; 0 means 30
	Seed    uint64  // seeds the initial parameters
	Workers int     // goroutines for the E step; ≤ 0 means GOMAXPROCS
	Tol     float64 // stop when the per-token log-likelihood gain is below Tol; 0 means never
}

// FitHMM fits an HMM to token sequences (any lengths ≥ 1, ids of v, no
// MASK) by Baum–Welch EM and returns it with length L, together with the
// log-likelihood of the data under the parameters entering each iteration
// and, last, under the returned parameters (len = iterations + 1). EM
// never decreases it. The initial parameters are drawn from soft.BlockRand
// (Seed, 0): Dirichlet(1) initial and transition rows and emission rows
// equal to the data's unigram frequencies times uniform(0.5, 1.5) noise.
// The E step runs in parallel over fixed blocks of 64 sequences whose
// expected counts are added in block order, so the result does not
// depend on Workers.
func FitHMM(v *soft.Vocab, L int, seqs [][]int32, opt FitOptions) (*HMM, []float64, error) {
	if opt.States <= 0 {
		opt.States = 16
	}
	if opt.Iters <= 0 {
		opt.Iters = 30
	}
	if v == nil {
		return nil, nil, errors.New("oracle: FitHMM: nil vocabulary")
	}
	if len(seqs) == 0 {
		return nil, nil, errors.New("oracle: FitHMM: no sequences")
	}
	S, K := opt.States, v.Size()
	mask := v.Mask()
	uni := make([]float64, K)
	ntok := 0
	for j, x := range seqs {
		if len(x) == 0 {
			return nil, nil, fmt.Errorf("oracle: FitHMM: sequence %d is empty", j)
		}
		for i, id := range x {
			if id < 0 || int(id) >= K || id == mask {
				return nil, nil, fmt.Errorf("oracle: FitHMM: sequence %d position %d: id %d is not a data token", j, i, id)
			}
			uni[id]++
			ntok++
		}
	}
	rng := soft.BlockRand(opt.Seed, 0)
	init := make([]float64, S)
	trans := make([]float64, S*S)
	emit := make([]float64, S*K)
	dirichlet1(rng, init)
	for s := 0; s < S; s++ {
		dirichlet1(rng, trans[s*S:(s+1)*S])
		row := emit[s*K : (s+1)*K]
		sum := 0.0
		for id, c := range uni {
			row[id] = c * (0.5 + rng.Float64())
			sum += row[id]
		}
		for id := range row {
			row[id] /= sum
		}
	}
	const block = 64
	nb := soft.Blocks(len(seqs), block)
	type acc struct {
		init, trans, emit []float64
		ll                float64
	}
	accs := make([]acc, nb)
	for b := range accs {
		accs[b] = acc{make([]float64, S), make([]float64, S*S), make([]float64, S*K), 0}
	}
	var trace []float64
	for it := 0; ; it++ {
		soft.ForBlocks(len(seqs), block, opt.Workers, func(b, lo, hi int) {
			a := &accs[b]
			clear(a.init)
			clear(a.trans)
			clear(a.emit)
			a.ll = 0
			maxLen := 0
			for _, x := range seqs[lo:hi] {
				maxLen = max(maxLen, len(x))
			}
			alpha := make([]float64, maxLen*S)
			beta := make([]float64, maxLen*S)
			c := make([]float64, maxLen)
			for _, x := range seqs[lo:hi] {
				a.ll += estep(x, S, K, init, trans, emit, alpha, beta, c, a.init, a.trans, a.emit)
			}
		})
		ll := 0.0
		for b := range accs {
			ll += accs[b].ll
		}
		trace = append(trace, ll)
		if it == opt.Iters || math.IsInf(ll, -1) {
			break
		}
		if opt.Tol > 0 && it > 0 && (ll-trace[it-1])/float64(ntok) < opt.Tol {
			break
		}
		clear(init)
		clear(trans)
		clear(emit)
		for b := range accs {
			for j, x := range accs[b].init {
				init[j] += x
			}
			for j, x := range accs[b].trans {
				trans[j] += x
			}
			for j, x := range accs[b].emit {
				emit[j] += x
			}
		}
		normalize(init)
		for s := 0; s < S; s++ {
			if !normalize(trans[s*S : (s+1)*S]) {
				trans[s*S+s] = 1 // an unused state keeps to itself
			}
			if !normalize(emit[s*K : (s+1)*K]) {
				copy(emit[s*K:(s+1)*K], uni)
				normalize(emit[s*K : (s+1)*K])
			}
		}
	}
	h, err := NewHMM(v, L, init, trans, emit)
	if err != nil {
		return nil, nil, err
	}
	return h, trace, nil
}

func normalize(p []float64) bool {
	sum := 0.0
	for _, x := range p {
		sum += x
	}
	if sum == 0 {
		return false
	}
	for j := range p {
		p[j] /= sum
	}
	return true
}

// estep runs scaled forward–backward on one observed sequence and adds its
// expected counts; it returns log p(x).
func estep(x []int32, S, K int, init, trans, emit, alpha, beta, c, cInit, cTrans, cEmit []float64) float64 {
	n := len(x)
	ll := 0.0
	for i, id := range x {
		a := alpha[i*S : (i+1)*S]
		if i == 0 {
			copy(a, init)
		} else {
			clear(a)
			for r, p := range alpha[(i-1)*S : i*S] {
				if p == 0 {
					continue
				}
				for s, t := range trans[r*S : (r+1)*S] {
					a[s] += p * t
				}
			}
		}
		z := 0.0
		for s := range a {
			a[s] *= emit[s*K+int(id)]
			z += a[s]
		}
		if z == 0 {
			return math.Inf(-1)
		}
		for s := range a {
			a[s] /= z
		}
		c[i] = z
		ll += math.Log(z)
	}
	last := beta[(n-1)*S : n*S]
	for s := range last {
		last[s] = 1
	}
	for i := n - 2; i >= 0; i-- {
		bt := beta[i*S : (i+1)*S]
		nx := beta[(i+1)*S : (i+2)*S]
		id := int(x[i+1])
		inv := 1 / c[i+1]
		for r := range bt {
			acc := 0.0
			for s, t := range trans[r*S : (r+1)*S] {
				acc += t * emit[s*K+id] * nx[s]
			}
			bt[r] = acc * inv
		}
	}
	for i, id := range x {
		a := alpha[i*S : (i+1)*S]
		bt := beta[i*S : (i+1)*S]
		for s := range a {
			g := a[s] * bt[s]
			cEmit[s*K+int(id)] += g
			if i == 0 {
				cInit[s] += g
			}
		}
		if i+1 < n {
			nid := int(x[i+1])
			nx := beta[(i+1)*S : (i+2)*S]
			inv := 1 / c[i+1]
			for r, p := range a {
				if p == 0 {
					continue
				}
				row := cTrans[r*S : (r+1)*S]
				for s, t := range trans[r*S : (r+1)*S] {
					row[s] += p * t * emit[s*K+nid] * nx[s] * inv
				}
			}
		}
	}
	return ll
}
