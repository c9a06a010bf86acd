package oracle

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/softdiff/softdiff/soft"
)

// Corpus is a finite weighted set of equal-length sentences: p(x) is the
// normalised weight of x (duplicates are merged). Posteriors under evidence
// are computed by enumeration over the sentences, in log space. A Corpus is
// immutable and safe for concurrent use.
type Corpus struct {
	v     *soft.Vocab
	L, K  int
	n     int       // number of distinct sentences
	toks  []int32   // n×L
	w     []float64 // normalised weights
	logw  []float64
	cum   []float64 // cumulative weights for sampling
	index map[string]int
	nfe   atomic.Int64
	pool  sync.Pool // *corpusScratch
}

type corpusScratch struct {
	lik  []float64 // L×K scaled likelihoods
	logl []float64 // L×K log of lik
	lw   []float64 // n
	acc  []float64 // L×K
}

func seqKey(x []int32) string {
	var b strings.Builder
	b.Grow(4 * len(x))
	for _, id := range x {
		u := uint32(id)
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
		b.WriteByte(byte(u >> 16))
		b.WriteByte(byte(u >> 24))
	}
	return b.String()
}

// NewCorpus builds a corpus over v from sentences of equal length with
// positive finite weights (nil weights means all equal). Sentences may not
// contain MASK; duplicate sentences are merged by adding their weights.
// Errors name the offending sentence.
func NewCorpus(v *soft.Vocab, sents [][]int32, weights []float64) (*Corpus, error) {
	if v == nil {
		return nil, fmt.Errorf("oracle: NewCorpus: nil vocabulary")
	}
	if len(sents) == 0 {
		return nil, fmt.Errorf("oracle: NewCorpus: no sentences")
	}
	if weights != nil && len(weights) != len(sents) {
		return nil, fmt.Errorf("oracle: NewCorpus: %d weights for %d sentences", len(weights), len(sents))
	}
	L := len(sents[0])
	if L == 0 {
		return nil, fmt.Errorf("oracle: NewCorpus: sentence 0 is empty")
	}
	K := v.Size()
	c := &Corpus{v: v, L: L, K: K, index: make(map[string]int)}
	var raw []float64
	for j, s := range sents {
		if len(s) != L {
			return nil, fmt.Errorf("oracle: NewCorpus: sentence %d has length %d, sentence 0 has %d", j, len(s), L)
		}
		for i, id := range s {
			if id < 0 || int(id) >= K {
				return nil, fmt.Errorf("oracle: NewCorpus: sentence %d position %d: id %d outside [0, %d)", j, i, id, K)
			}
			if id == v.Mask() {
				return nil, fmt.Errorf("oracle: NewCorpus: sentence %d position %d is MASK", j, i)
			}
		}
		w := 1.0
		if weights != nil {
			w = weights[j]
			if !(w > 0) || math.IsInf(w, 0) {
				return nil, fmt.Errorf("oracle: NewCorpus: sentence %d has weight %v (want finite and > 0)", j, w)
			}
		}
		k := seqKey(s)
		if at, ok := c.index[k]; ok {
			raw[at] += w
			continue
		}
		c.index[k] = c.n
		c.n++
		c.toks = append(c.toks, s...)
		raw = append(raw, w)
	}
	tot := 0.0
	for _, w := range raw {
		tot += w
	}
	if math.IsInf(tot, 0) {
		return nil, fmt.Errorf("oracle: NewCorpus: the weights sum to +Inf")
	}
	c.w = make([]float64, c.n)
	c.logw = make([]float64, c.n)
	c.cum = make([]float64, c.n)
	acc := 0.0
	for j, w := range raw {
		c.w[j] = w / tot
		c.logw[j] = math.Log(c.w[j])
		acc += c.w[j]
		c.cum[j] = acc
	}
	c.cum[c.n-1] = 1
	c.pool.New = func() any {
		return &corpusScratch{
			lik:  make([]float64, L*K),
			logl: make([]float64, L*K),
			lw:   make([]float64, c.n),
			acc:  make([]float64, L*K),
		}
	}
	return c, nil
}

// ReadCorpus reads a corpus, one sentence per line: an optional leading
// weight (a field that parses as a number; write an explicit weight before
// a sentence whose first token is numeric), then whitespace-separated
// tokens. Blank lines and lines starting with '#' are skipped. The
// vocabulary is the tokens in order of first appearance followed by
// "[MASK]". All sentences must have the same length. name is used in error
// messages, which give the line number and the cause.
func ReadCorpus(r io.Reader, name string) (*Corpus, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var toks []string
	ids := map[string]int32{}
	var sents [][]int32
	var weights []float64
	L := -1
	lineNo := 0
	firstLine := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		w := 1.0
		if x, err := strconv.ParseFloat(f[0], 64); err == nil {
			if !(x > 0) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%s:%d: weight %q must be finite and > 0", name, lineNo, f[0])
			}
			w = x
			f = f[1:]
			if len(f) == 0 {
				return nil, fmt.Errorf("%s:%d: weight without a sentence", name, lineNo)
			}
		}
		if L < 0 {
			L = len(f)
			firstLine = lineNo
		} else if len(f) != L {
			return nil, fmt.Errorf("%s:%d: sentence has %d tokens, the one on line %d has %d", name, lineNo, len(f), firstLine, L)
		}
		s := make([]int32, len(f))
		for i, t := range f {
			if t == "[MASK]" {
				return nil, fmt.Errorf("%s:%d: token %d is [MASK], which is reserved", name, lineNo, i+1)
			}
			id, ok := ids[t]
			if !ok {
				id = int32(len(toks))
				ids[t] = id
				toks = append(toks, t)
			}
			s[i] = id
		}
		sents = append(sents, s)
		weights = append(weights, w)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, lineNo+1, err)
	}
	if len(sents) == 0 {
		return nil, fmt.Errorf("%s: no sentences", name)
	}
	v, err := soft.NewVocab(append(toks, "[MASK]"), soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return NewCorpus(v, sents, weights)
}

// Vocab returns the vocabulary.
func (c *Corpus) Vocab() *soft.Vocab { return c.v }

// Len returns the sentence length.
func (c *Corpus) Len() int { return c.L }

// NFE returns the number of Denoise calls so far.
func (c *Corpus) NFE() int64 { return c.nfe.Load() }

// Size returns the number of distinct sentences.
func (c *Corpus) Size() int { return c.n }

// Sentence returns distinct sentence j (a read-only view) and its
// probability.
func (c *Corpus) Sentence(j int) ([]int32, float64) {
	return c.toks[j*c.L : (j+1)*c.L : (j+1)*c.L], c.w[j]
}

// Marginals writes into dst (L×K, row-major) the exact posterior marginals
// in float64 and returns the log normaliser log Σ_x p(x) Π_i lik_i(x_i),
// where lik_i(v) = e_i(v) + e_i(MASK) is taken unscaled from the evidence.
// It does not count an NFE.
func (c *Corpus) Marginals(dst []float64, ev *soft.Dense) (float64, error) {
	if len(dst) != c.L*c.K {
		return 0, fmt.Errorf("oracle: Marginals: dst has %d entries, want %d", len(dst), c.L*c.K)
	}
	sc := c.pool.Get().(*corpusScratch)
	defer c.pool.Put(sc)
	return c.marginals(dst, ev, sc)
}

func (c *Corpus) marginals(dst []float64, ev *soft.Dense, sc *corpusScratch) (float64, error) {
	if err := checkEvidence(ev, c.L, c.K); err != nil {
		return 0, err
	}
	L, K := c.L, c.K
	mask := c.v.Mask()
	logScale := 0.0
	for i := 0; i < L; i++ {
		ls, err := likRow(sc.lik[i*K:(i+1)*K], ev.Data[i*K:(i+1)*K], mask, i)
		if err != nil {
			return 0, err
		}
		logScale += ls
	}
	for j, l := range sc.lik {
		sc.logl[j] = math.Log(l) // −Inf for 0
	}
	mx := math.Inf(-1)
	for j := 0; j < c.n; j++ {
		s := c.toks[j*L : (j+1)*L]
		lw := c.logw[j]
		for i, id := range s {
			lw += sc.logl[i*K+int(id)]
		}
		sc.lw[j] = lw
		if lw > mx {
			mx = lw
		}
	}
	if math.IsInf(mx, -1) {
		return 0, contradictory(exclusive(sc.lik, L, K, mask))
	}
	z := 0.0
	for j, lw := range sc.lw {
		e := math.Exp(lw - mx)
		sc.lw[j] = e
		z += e
	}
	clear(dst)
	inv := 1 / z
	for j := 0; j < c.n; j++ {
		p := sc.lw[j] * inv
		if p == 0 {
			continue
		}
		s := c.toks[j*L : (j+1)*L]
		for i, id := range s {
			dst[i*K+int(id)] += p
		}
	}
	return mx + math.Log(z) + logScale, nil
}

// Denoise writes the exact posterior marginals given the evidence into dst.
// It counts one NFE, does not allocate in steady state and is safe for
// concurrent use.
func (c *Corpus) Denoise(dst, ev *soft.Dense, t float64) error {
	c.nfe.Add(1)
	if err := checkShapes(dst, ev, c.L, c.K); err != nil {
		return err
	}
	sc := c.pool.Get().(*corpusScratch)
	defer c.pool.Put(sc)
	if _, err := c.marginals(sc.acc, ev, sc); err != nil {
		return err
	}
	to32(dst.Data, sc.acc)
	return nil
}

// LogProb returns log p(x): the log of x's normalised weight, or −Inf if x
// is not in the corpus.
func (c *Corpus) LogProb(x []int32) (float64, error) {
	if err := checkSeq(x, c.L, c.K); err != nil {
		return 0, err
	}
	if j, ok := c.index[seqKey(x)]; ok {
		return c.logw[j], nil
	}
	return math.Inf(-1), nil
}

// Valid reports whether x is one of the sentences.
func (c *Corpus) Valid(x []int32) bool {
	if len(x) != c.L {
		return false
	}
	_, ok := c.index[seqKey(x)]
	return ok
}

// Sample writes an exact sample into dst (len Len(), else it panics).
func (c *Corpus) Sample(dst []int32, rng *rand.Rand) {
	if len(dst) != c.L {
		panic(fmt.Sprintf("oracle: Corpus.Sample: dst has length %d, want %d", len(dst), c.L))
	}
	u := rng.Float64()
	j := sort.SearchFloat64s(c.cum, u)
	if j >= c.n {
		j = c.n - 1
	}
	copy(dst, c.toks[j*c.L:(j+1)*c.L])
}

// Entropy returns the exact entropy of the corpus distribution in nats.
func (c *Corpus) Entropy() float64 {
	h := 0.0
	for j, w := range c.w {
		h -= w * c.logw[j]
	}
	return h
}

// Unigram writes into dst (len K) the token frequencies averaged over
// positions: dst[v] = (1/L) Σ_i p(x_i = v). MASK gets 0. It panics if
// len(dst) != K.
func (c *Corpus) Unigram(dst []float64) {
	if len(dst) != c.K {
		panic(fmt.Sprintf("oracle: Unigram: dst has length %d, want %d", len(dst), c.K))
	}
	clear(dst)
	inv := 1 / float64(c.L)
	for j := 0; j < c.n; j++ {
		for _, id := range c.toks[j*c.L : (j+1)*c.L] {
			dst[id] += c.w[j] * inv
		}
	}
}
