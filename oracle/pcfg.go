package oracle

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/softdiff/softdiff/soft"
)

// Grammar is a probabilistic context-free grammar in Chomsky normal form:
// every rule rewrites a nonterminal into two nonterminals (Binary) or into
// one terminal (Lexical), and the probabilities of each nonterminal's rules
// sum to 1. Symbols are indices into NonTerminals and Terminals.
type Grammar struct {
	Start        int // index into NonTerminals
	NonTerminals []string
	Terminals    []string
	Binary       []BinaryRule
	Lexical      []LexicalRule
}

// BinaryRule is A → B C with probability P.
type BinaryRule struct {
	A, B, C int
	P       float64
}

// LexicalRule is A → T with probability P (T a terminal index).
type LexicalRule struct {
	A, T int
	P    float64
}

// ParseGrammar reads a grammar in the plain-text format of docs/oracles.md:
// one rule per line, "LHS -> B C prob" (binary) or "LHS -> word prob"
// (lexical); "start SYMBOL" names the start symbol (default: the left side
// of the first rule); blank lines and text after '#' are ignored. A symbol
// is a nonterminal if it is the left side of some rule and a terminal
// otherwise; binary rules need nonterminals on the right and lexical rules
// a terminal. Each nonterminal's probabilities must sum to 1 within 1e-6.
// Errors give name, the line and the cause.
func ParseGrammar(r io.Reader, name string) (*Grammar, error) {
	type rawRule struct {
		lhs  string
		rhs  []string
		p    float64
		line int
	}
	var rules []rawRule
	start, startLine := "", 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if k := strings.IndexByte(line, '#'); k >= 0 {
			line = line[:k]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "start" && (len(f) < 2 || f[1] != "->") {
			if len(f) != 2 {
				return nil, fmt.Errorf("%s:%d: want \"start SYMBOL\"", name, lineNo)
			}
			if start != "" {
				return nil, fmt.Errorf("%s:%d: start symbol given twice (first on line %d)", name, lineNo, startLine)
			}
			start, startLine = f[1], lineNo
			continue
		}
		if len(f) < 4 || f[1] != "->" {
			return nil, fmt.Errorf("%s:%d: want \"LHS -> B C prob\" or \"LHS -> word prob\"", name, lineNo)
		}
		if len(f) > 5 {
			return nil, fmt.Errorf("%s:%d: %d symbols on the right; Chomsky normal form allows 1 or 2", name, lineNo, len(f)-3)
		}
		p, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("%s:%d: probability %q is not a number in [0, 1]", name, lineNo, f[len(f)-1])
		}
		rules = append(rules, rawRule{lhs: f[0], rhs: f[2 : len(f)-1], p: p, line: lineNo})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, lineNo+1, err)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("%s: no rules", name)
	}
	g := &Grammar{}
	nt := map[string]int{}
	firstLine := map[string]int{}
	for _, r := range rules {
		if _, ok := nt[r.lhs]; !ok {
			nt[r.lhs] = len(g.NonTerminals)
			g.NonTerminals = append(g.NonTerminals, r.lhs)
			firstLine[r.lhs] = r.line
		}
	}
	if start == "" {
		start = rules[0].lhs
	}
	s, ok := nt[start]
	if !ok {
		return nil, fmt.Errorf("%s:%d: start symbol %q has no rules", name, startLine, start)
	}
	g.Start = s
	term := map[string]int{}
	sum := make([]float64, len(g.NonTerminals))
	seen := map[string]int{}
	for _, r := range rules {
		a := nt[r.lhs]
		key := r.lhs + " -> " + strings.Join(r.rhs, " ")
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s:%d: rule %q repeats line %d", name, r.line, key, prev)
		}
		seen[key] = r.line
		sum[a] += r.p
		if len(r.rhs) == 2 {
			b, okB := nt[r.rhs[0]]
			c, okC := nt[r.rhs[1]]
			if !okB || !okC {
				bad := r.rhs[0]
				if okB {
					bad = r.rhs[1]
				}
				return nil, fmt.Errorf("%s:%d: %q in a binary rule is not a nonterminal (no rule has it on the left)", name, r.line, bad)
			}
			g.Binary = append(g.Binary, BinaryRule{A: a, B: b, C: c, P: r.p})
			continue
		}
		w := r.rhs[0]
		if _, isNT := nt[w]; isNT {
			return nil, fmt.Errorf("%s:%d: unit rule %s -> %s is not in Chomsky normal form", name, r.line, r.lhs, w)
		}
		if w == "[MASK]" {
			return nil, fmt.Errorf("%s:%d: terminal [MASK] is reserved", name, r.line)
		}
		t, ok := term[w]
		if !ok {
			t = len(g.Terminals)
			term[w] = t
			g.Terminals = append(g.Terminals, w)
		}
		g.Lexical = append(g.Lexical, LexicalRule{A: a, T: t, P: r.p})
	}
	for a, x := range sum {
		if !(math.Abs(x-1) <= 1e-6) {
			return nil, fmt.Errorf("%s:%d: the rules of %s sum to %v, want 1", name, firstLine[g.NonTerminals[a]], g.NonTerminals[a], x)
		}
	}
	return g, nil
}

// PCFG is a grammar restricted to strings of a fixed length L: p(x) is the
// grammar's probability of x divided by the probability Z_L that it
// generates a string of length L. Posteriors under evidence come from the
// inside–outside recursions with soft leaf evidence, in float64 (see
// docs/oracles.md). A PCFG is immutable and safe for concurrent use.
type PCFG struct {
	g     *Grammar
	v     *soft.Vocab
	L, N  int
	K     int
	lexBy [][]LexicalRule // by nonterminal
	bin   []BinaryRule
	in0   []float64 // (L+1)×N: in0[n*N+A] = P(A ⇒* some string of length n)
	logZ0 float64
	nfe   atomic.Int64
	pool  sync.Pool // *pcfgScratch
}

type pcfgScratch struct {
	lik     []float64 // L×K
	in, out []float64 // L×L×N, index (i*L+j)*N+A for span [i, j]
	marg    []float64 // L×K
}

// NewPCFG restricts g to strings of length L. Its vocabulary is the
// terminals in order followed by "[MASK]". It returns an error if g
// generates no string of length L.
func NewPCFG(g *Grammar, L int) (*PCFG, error) {
	if g == nil || len(g.NonTerminals) == 0 {
		return nil, fmt.Errorf("oracle: NewPCFG: empty grammar")
	}
	if L < 1 {
		return nil, fmt.Errorf("oracle: NewPCFG: length %d < 1", L)
	}
	N := len(g.NonTerminals)
	if g.Start < 0 || g.Start >= N {
		return nil, fmt.Errorf("oracle: NewPCFG: start %d outside [0, %d)", g.Start, N)
	}
	T := len(g.Terminals)
	if T == 0 {
		return nil, fmt.Errorf("oracle: NewPCFG: grammar has no terminals")
	}
	v, err := soft.NewVocab(append(append([]string(nil), g.Terminals...), "[MASK]"), soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		return nil, fmt.Errorf("oracle: NewPCFG: %v", err)
	}
	p := &PCFG{g: g, v: v, L: L, N: N, K: v.Size(), lexBy: make([][]LexicalRule, N)}
	for j, r := range g.Lexical {
		if r.A < 0 || r.A >= N || r.T < 0 || r.T >= T || !(r.P >= 0) {
			return nil, fmt.Errorf("oracle: NewPCFG: lexical rule %d is out of range or has probability %v", j, r.P)
		}
		if r.P > 0 {
			p.lexBy[r.A] = append(p.lexBy[r.A], r)
		}
	}
	for j, r := range g.Binary {
		if r.A < 0 || r.A >= N || r.B < 0 || r.B >= N || r.C < 0 || r.C >= N || !(r.P >= 0) {
			return nil, fmt.Errorf("oracle: NewPCFG: binary rule %d is out of range or has probability %v", j, r.P)
		}
		if r.P > 0 {
			p.bin = append(p.bin, r)
		}
	}
	p.in0 = make([]float64, (L+1)*N)
	for A, lex := range p.lexBy {
		for _, r := range lex {
			p.in0[N+A] += r.P
		}
	}
	for n := 2; n <= L; n++ {
		for _, r := range p.bin {
			acc := 0.0
			for k := 1; k < n; k++ {
				acc += p.in0[k*N+r.B] * p.in0[(n-k)*N+r.C]
			}
			p.in0[n*N+r.A] += r.P * acc
		}
	}
	z0 := p.in0[L*N+g.Start]
	if !(z0 > 0) {
		return nil, fmt.Errorf("oracle: NewPCFG: the grammar generates no string of length %d", L)
	}
	p.logZ0 = math.Log(z0)
	K := p.K
	p.pool.New = func() any {
		return &pcfgScratch{lik: make([]float64, L*K), in: make([]float64, L*L*N), out: make([]float64, L*L*N), marg: make([]float64, L*K)}
	}
	return p, nil
}

// Grammar returns the grammar (read-only).
func (p *PCFG) Grammar() *Grammar { return p.g }

// Vocab returns the vocabulary: the terminals and "[MASK]".
func (p *PCFG) Vocab() *soft.Vocab { return p.v }

// Len returns the string length L.
func (p *PCFG) Len() int { return p.L }

// NFE returns the number of Denoise calls so far.
func (p *PCFG) NFE() int64 { return p.nfe.Load() }

// LengthProb returns Z_L, the probability that the grammar generates a
// string of length L.
func (p *PCFG) LengthProb() float64 { return math.Exp(p.logZ0) }

// inside fills sc.in from the likelihoods sc.lik and returns the inside
// probability of the whole string.
func (p *PCFG) inside(sc *pcfgScratch) float64 {
	L, N, K := p.L, p.N, p.K
	in := sc.in
	clear(in)
	for i := 0; i < L; i++ {
		lik := sc.lik[i*K : (i+1)*K]
		cell := in[(i*L+i)*N : (i*L+i+1)*N]
		for A, lex := range p.lexBy {
			acc := 0.0
			for _, r := range lex {
				acc += r.P * lik[r.T]
			}
			cell[A] = acc
		}
	}
	for span := 2; span <= L; span++ {
		for i := 0; i+span <= L; i++ {
			j := i + span - 1
			cell := in[(i*L+j)*N : (i*L+j+1)*N]
			for _, r := range p.bin {
				acc := 0.0
				for k := i; k < j; k++ {
					acc += in[(i*L+k)*N+r.B] * in[((k+1)*L+j)*N+r.C]
				}
				cell[r.A] += r.P * acc
			}
		}
	}
	return in[(L-1)*N+p.g.Start]
}

// outside fills sc.out from sc.in.
func (p *PCFG) outside(sc *pcfgScratch) {
	L, N := p.L, p.N
	in, out := sc.in, sc.out
	clear(out)
	out[(L-1)*N+p.g.Start] = 1
	for span := L; span >= 2; span-- {
		for i := 0; i+span <= L; i++ {
			j := i + span - 1
			cell := out[(i*L+j)*N : (i*L+j+1)*N]
			for _, r := range p.bin {
				a := cell[r.A] * r.P
				if a == 0 {
					continue
				}
				for k := i; k < j; k++ {
					left, right := (i*L+k)*N, ((k+1)*L+j)*N
					out[left+r.B] += a * in[right+r.C]
					out[right+r.C] += a * in[left+r.B]
				}
			}
		}
	}
}

func (p *PCFG) marginals(dst []float64, ev *soft.Dense, sc *pcfgScratch) (float64, error) {
	if err := checkEvidence(ev, p.L, p.K); err != nil {
		return 0, err
	}
	L, N, K := p.L, p.N, p.K
	mask := p.v.Mask()
	logScale := 0.0
	for i := 0; i < L; i++ {
		ls, err := likRow(sc.lik[i*K:(i+1)*K], ev.Data[i*K:(i+1)*K], mask, i)
		if err != nil {
			return 0, err
		}
		logScale += ls
	}
	z := p.inside(sc)
	if !(z > 0) {
		return 0, contradictory(exclusive(sc.lik, L, K, mask))
	}
	p.outside(sc)
	clear(dst)
	for i := 0; i < L; i++ {
		row := dst[i*K : (i+1)*K]
		lik := sc.lik[i*K : (i+1)*K]
		cell := sc.out[(i*L+i)*N : (i*L+i+1)*N]
		sum := 0.0
		for A, lex := range p.lexBy {
			o := cell[A]
			if o == 0 {
				continue
			}
			for _, r := range lex {
				x := o * r.P * lik[r.T]
				row[r.T] += x
				sum += x
			}
		}
		inv := 1 / sum
		for t := range row {
			row[t] *= inv
		}
	}
	return math.Log(z) - p.logZ0 + logScale, nil
}

// Marginals writes into dst (L×K, row-major) the exact posterior marginals
// in float64 and returns the log normaliser log Σ_x p(x) Π_i lik_i(x_i),
// with lik_i(v) = e_i(v) + e_i(MASK) taken unscaled from the evidence. It
// does not count an NFE.
func (p *PCFG) Marginals(dst []float64, ev *soft.Dense) (float64, error) {
	if len(dst) != p.L*p.K {
		return 0, fmt.Errorf("oracle: Marginals: dst has %d entries, want %d", len(dst), p.L*p.K)
	}
	sc := p.pool.Get().(*pcfgScratch)
	defer p.pool.Put(sc)
	return p.marginals(dst, ev, sc)
}

// Denoise writes the exact posterior marginals given the evidence into dst.
// It counts one NFE, does not allocate in steady state and is safe for
// concurrent use.
func (p *PCFG) Denoise(dst, ev *soft.Dense, t float64) error {
	p.nfe.Add(1)
	if err := checkShapes(dst, ev, p.L, p.K); err != nil {
		return err
	}
	sc := p.pool.Get().(*pcfgScratch)
	defer p.pool.Put(sc)
	if _, err := p.marginals(sc.marg, ev, sc); err != nil {
		return err
	}
	to32(dst.Data, sc.marg)
	return nil
}

// LogProb returns log p(x | length L) = log inside(x) − log Z_L; −Inf if
// the grammar cannot generate x.
func (p *PCFG) LogProb(x []int32) (float64, error) {
	if err := checkSeq(x, p.L, p.K); err != nil {
		return 0, err
	}
	sc := p.pool.Get().(*pcfgScratch)
	defer p.pool.Put(sc)
	clear(sc.lik)
	for i, id := range x {
		if id == p.v.Mask() {
			return math.Inf(-1), nil
		}
		sc.lik[i*p.K+int(id)] = 1
	}
	z := p.inside(sc)
	if z == 0 {
		return math.Inf(-1), nil
	}
	return math.Log(z) - p.logZ0, nil
}

// Valid reports whether the grammar generates x.
func (p *PCFG) Valid(x []int32) bool {
	lp, err := p.LogProb(x)
	return err == nil && !math.IsInf(lp, -1)
}

// Sample writes an exact sample of length L into dst (len Len(), else it
// panics): top-down, a nonterminal A spanning n positions picks a rule and
// split with probability P(A→B C)·in0(k, B)·in0(n−k, C) / in0(n, A).
func (p *PCFG) Sample(dst []int32, rng *rand.Rand) {
	if len(dst) != p.L {
		panic(fmt.Sprintf("oracle: PCFG.Sample: dst has length %d, want %d", len(dst), p.L))
	}
	p.sample(dst, p.g.Start, rng)
}

func (p *PCFG) sample(dst []int32, A int, rng *rand.Rand) {
	n, N := len(dst), p.N
	if n == 1 {
		u := rng.Float64() * p.in0[N+A]
		lex := p.lexBy[A]
		for _, r := range lex {
			u -= r.P
			if u < 0 {
				dst[0] = int32(r.T)
				return
			}
		}
		dst[0] = int32(lex[len(lex)-1].T)
		return
	}
	u := rng.Float64() * p.in0[n*N+A]
	var lastR BinaryRule
	lastK := -1
	for _, r := range p.bin {
		if r.A != A {
			continue
		}
		for k := 1; k < n; k++ {
			w := r.P * p.in0[k*N+r.B] * p.in0[(n-k)*N+r.C]
			if w == 0 {
				continue
			}
			lastR, lastK = r, k
			u -= w
			if u < 0 {
				p.sample(dst[:k], r.B, rng)
				p.sample(dst[k:], r.C, rng)
				return
			}
		}
	}
	p.sample(dst[:lastK], lastR.B, rng)
	p.sample(dst[lastK:], lastR.C, rng)
}

// Unigram writes into dst (len K) the token frequencies averaged over
// positions, dst[v] = (1/L) Σ_i p(x_i = v). It panics if len(dst) != K.
func (p *PCFG) Unigram(dst []float64) {
	if len(dst) != p.K {
		panic(fmt.Sprintf("oracle: Unigram: dst has length %d, want %d", len(dst), p.K))
	}
	sc := p.pool.Get().(*pcfgScratch)
	defer p.pool.Put(sc)
	if _, err := p.marginals(sc.marg, soft.AllMask(p.L, p.K, p.v.Mask()), sc); err != nil {
		panic(fmt.Sprintf("oracle: Unigram: %v", err)) // impossible: Z_L > 0
	}
	clear(dst)
	for i := 0; i < p.L; i++ {
		for t := range dst {
			dst[t] += sc.marg[i*p.K+t] / float64(p.L)
		}
	}
}

// Entropy returns the entropy of the length-L distribution with EntropyOf.
func (p *PCFG) Entropy(opt EntropyOptions) (Estimate, error) { return EntropyOf(p, opt) }

// AgreementGrammarText is the built-in grammar of AgreementPCFG: singular
// and plural noun phrases whose verbs agree with them, optional
// adjectives, and object relative clauses ("the dog that the cats chase
// sleeps") that nest, so agreement spans the clause.
const AgreementGrammarText = `# Subject–verb agreement with nested object relative clauses (CNF).
start S
S -> NPs VPs 0.5
S -> NPp VPp 0.5
NPs -> Det Ns 0.6
NPs -> Det ANs 0.15
NPs -> NPs0 RC 0.25
NPs0 -> Det Ns 0.8
NPs0 -> Det ANs 0.2
ANs -> Adj Ns 1
NPp -> Det Np 0.6
NPp -> Det ANp 0.15
NPp -> NPp0 RC 0.25
NPp0 -> Det Np 0.8
NPp0 -> Det ANp 0.2
ANp -> Adj Np 1
RC -> That GapS 1          # that + a clause missing its object
GapS -> NPs Vts 0.5
GapS -> NPp Vtp 0.5
VPs -> Vts NPs 0.25
VPs -> Vts NPp 0.25
VPs -> sleeps 0.25
VPs -> runs 0.25
VPp -> Vtp NPs 0.25
VPp -> Vtp NPp 0.25
VPp -> sleep 0.25
VPp -> run 0.25
Det -> the 1
That -> that 1
Adj -> big 0.5
Adj -> old 0.5
Ns -> dog 0.5
Ns -> cat 0.5
Np -> dogs 0.5
Np -> cats 0.5
Vts -> chases 0.5
Vts -> sees 0.5
Vtp -> chase 0.5
Vtp -> see 0.5
`

// AgreementPCFG returns the built-in agreement grammar
// (AgreementGrammarText) restricted to length L. It generates every length
// L ≥ 3; L = 7 holds "the dog that the cats chase sleeps",
// where the verb at position 6 agrees with "dog" at position 1 across a
// plural relative clause.
func AgreementPCFG(L int) (*PCFG, error) {
	g, err := ParseGrammar(strings.NewReader(AgreementGrammarText), "agreement")
	if err != nil {
		return nil, err
	}
	return NewPCFG(g, L)
}
