package oracle

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/softdiff/softdiff/internal/simdgemm"
	"github.com/softdiff/softdiff/soft"
)

// HMM is a hidden Markov model with S hidden states over the K ids of a
// vocabulary (the MASK column of the emission matrix is 0), generating
// sequences of a fixed length L. Posteriors under evidence come from the
// scaled forward–backward recursions in float64 (see docs/oracles.md). An
// HMM is immutable and safe for concurrent use.
type HMM struct {
	v       *soft.Vocab
	L, S, K int
	init    []float64 // S
	trans   []float64 // S×S, trans[a*S+b] = p(b | a)
	transT  []float64 // S×S transpose of trans
	emit    []float64 // S×K, emit[s*K+v] = p(v | s)
	emitSum []float64 // S, Σ_v emit[s,v] (1 up to rounding)
	emit32  []float32 // S×K float32 copy for the token-posterior product
	emitT32 []float32 // K×S transpose of emit32
	emitT   []float64 // K×S transpose of emit (a token's column contiguous, for sparse rows)
	// B operands of the blocked products (kernel_gemm.go), packed once
	emitChunks []*simdgemm.PackedB // ⌈K/gemmChunk⌉ row blocks of emitT32
	emitPacked *simdgemm.PackedB   // emit32 (S×K)
	nfe        atomic.Int64
	pool       sync.Pool // *hmmScratch
}

type hmmScratch struct {
	b, alpha, pred, beta []float64 // L×S
	c, m                 []float64 // L
	sup                  []int32   // L×K support of the token mass
	nsup                 []int32   // L
	q                    []float64 // K
	w, u                 []float64 // S
	q32, w32             []float32 // K, S
	q32b, w32b           []float32 // K, S
	rows                 []int32   // L: rows taking a blocked product
	acc                  []float64 // L×S: emission accumulators
	apack                []float32 // L·gemmChunk: gathered evidence chunk
	tile                 []float32 // L×S: one chunk's emission products
	wpack                []float32 // gemmGroup·S: state weights of one group
	qrows                []float32 // gemmGroup·K: token products of one group
	gemm                 simdgemm.Context
}

// NewHMM builds an HMM over v generating length-L sequences. S = len(init);
// trans is S×S row-major with trans[a*S+b] = p(b | a); emit is S×K row-major
// over K = v.Size() with a zero MASK column. Entries must be finite and
// ≥ 0 and every distribution must sum to 1 within 1e-6 (it is then
// renormalised); errors name the entry or row. The slices are copied.
func NewHMM(v *soft.Vocab, L int, init, trans, emit []float64) (*HMM, error) {
	if v == nil {
		return nil, fmt.Errorf("oracle: NewHMM: nil vocabulary")
	}
	if L < 1 {
		return nil, fmt.Errorf("oracle: NewHMM: length %d < 1", L)
	}
	S, K := len(init), v.Size()
	if S < 1 {
		return nil, fmt.Errorf("oracle: NewHMM: no states (len(init) = 0)")
	}
	if len(trans) != S*S {
		return nil, fmt.Errorf("oracle: NewHMM: trans has %d entries, want S×S = %d", len(trans), S*S)
	}
	if len(emit) != S*K {
		return nil, fmt.Errorf("oracle: NewHMM: emit has %d entries, want S×K = %d×%d = %d", len(emit), S, K, S*K)
	}
	h := &HMM{v: v, L: L, S: S, K: K,
		init: append([]float64(nil), init...), trans: append([]float64(nil), trans...),
		emit: append([]float64(nil), emit...), emitSum: make([]float64, S), emit32: make([]float32, S*K)}
	if err := normRow(h.init, "init", -1); err != nil {
		return nil, err
	}
	for a := 0; a < S; a++ {
		if err := normRow(h.trans[a*S:(a+1)*S], "trans", a); err != nil {
			return nil, err
		}
	}
	h.transT = make([]float64, S*S)
	for a := 0; a < S; a++ {
		for b := 0; b < S; b++ {
			h.transT[b*S+a] = h.trans[a*S+b]
		}
	}
	mask := v.Mask()
	for s := 0; s < S; s++ {
		row := h.emit[s*K : (s+1)*K]
		if mask >= 0 && row[mask] != 0 {
			return nil, fmt.Errorf("oracle: NewHMM: emit[%d][%d] (MASK) = %v, must be 0", s, mask, row[mask])
		}
		if err := normRow(row, "emit", s); err != nil {
			return nil, err
		}
		sum := 0.0
		for v, x := range row {
			sum += x
			h.emit32[s*K+v] = float32(x)
		}
		h.emitSum[s] = sum
	}
	h.emitT32 = make([]float32, K*S)
	h.emitT = make([]float64, K*S)
	for s := 0; s < S; s++ {
		for v := 0; v < K; v++ {
			h.emitT32[v*S+s] = h.emit32[s*K+v]
			h.emitT[v*S+s] = h.emit[s*K+v]
		}
	}
	h.packPanels()
	h.pool.New = func() any {
		return &hmmScratch{
			rows: make([]int32, L), acc: make([]float64, L*S), apack: make([]float32, L*gemmChunk), tile: make([]float32, L*S),
			wpack: make([]float32, gemmGroup*S), qrows: make([]float32, gemmGroup*K),
			b: make([]float64, L*S), alpha: make([]float64, L*S), pred: make([]float64, L*S), beta: make([]float64, L*S),
			c: make([]float64, L), m: make([]float64, L), sup: make([]int32, L*K), nsup: make([]int32, L),
			q: make([]float64, K), w: make([]float64, S), u: make([]float64, S), q32: make([]float32, K), w32: make([]float32, S), q32b: make([]float32, K), w32b: make([]float32, S),
		}
	}
	return h, nil
}

// normRow checks a distribution (finite, ≥ 0, sum 1 within 1e-6) and
// renormalises it. row < 0 names the slice alone.
func normRow(p []float64, name string, row int) error {
	where := func(j int) string {
		if row < 0 {
			return fmt.Sprintf("%s[%d]", name, j)
		}
		return fmt.Sprintf("%s[%d][%d]", name, row, j)
	}
	sum := 0.0
	for j, x := range p {
		if !(x >= 0) || math.IsInf(x, 0) {
			return fmt.Errorf("oracle: NewHMM: %s = %v (want finite and ≥ 0)", where(j), x)
		}
		sum += x
	}
	if !(math.Abs(sum-1) <= 1e-6) {
		if row < 0 {
			return fmt.Errorf("oracle: NewHMM: %s sums to %v, want 1", name, sum)
		}
		return fmt.Errorf("oracle: NewHMM: %s row %d sums to %v, want 1", name, row, sum)
	}
	for j := range p {
		p[j] /= sum
	}
	return nil
}

// Vocab returns the vocabulary.
func (h *HMM) Vocab() *soft.Vocab { return h.v }

// Len returns the sequence length L.
func (h *HMM) Len() int { return h.L }

// States returns the number of hidden states S.
func (h *HMM) States() int { return h.S }

// NFE returns the number of Denoise calls so far (DenoiseBatch counts one
// per sequence).
func (h *HMM) NFE() int64 { return h.nfe.Load() }

// Params returns read-only views of the (renormalised) parameters: init
// (S), trans (S×S, trans[a*S+b] = p(b|a)) and emit (S×K, emit[s*K+v] =
// p(v|s)). Callers must not modify them.
func (h *HMM) Params() (init, trans, emit []float64) { return h.init, h.trans, h.emit }

// WithLen returns an HMM with the same parameters generating length-L
// sequences.
func (h *HMM) WithLen(L int) (*HMM, error) { return NewHMM(h.v, L, h.init, h.trans, h.emit) }

// forward runs the scaled forward and backward passes on the evidence,
// filling sc.b, pred, alpha, beta, c, m, sup, nsup. It returns log Z.
// fast selects float32 emission products for dense evidence rows (the
// blocked product when there are at least gemmMinRows of them, see
// kernel_gemm.go); otherwise every sum is in float64.
func (h *HMM) forward(ev *soft.Dense, sc *hmmScratch, fast bool) (float64, error) {
	L, S, K := h.L, h.S, h.K
	mask := h.v.Mask()
	D := K
	if mask >= 0 {
		D--
	}
	if err := h.scan(ev, sc, fast); err != nil {
		return 0, err
	}
	blocked := false
	if fast {
		rows := sc.rows[:0]
		for i := 0; i < L; i++ {
			if 4*int(sc.nsup[i]) > K {
				rows = append(rows, int32(i))
			}
		}
		if len(rows) >= gemmMinRows {
			h.emitGEMM(ev.Data, sc, rows)
			blocked = true
		}
	}
	logZ := 0.0
	for i := 0; i < L; i++ {
		e := ev.Data[i*K : (i+1)*K]
		m := sc.m[i]
		n := int(sc.nsup[i])
		sup := sc.sup[i*K : i*K+n]
		b := sc.b[i*S : (i+1)*S]
		switch {
		case fast && 4*n > K && blocked:
			// b was written by emitGEMM.
		case fast && 4*n > K:
			// Dense row: contiguous float32 dot products with float64
			// accumulation (emit32's MASK column is 0).
			emitDot(b, h.emit32, h.emitT32, e)
			for s := range b {
				b[s] += m * h.emitSum[s]
			}
		default:
			// b[s] = m·Σ_v B(s,v) + Σ_{v ∈ sup} B(s,v)·e[v], each b[s]
			// summed in the order of sup, reading B's columns contiguously.
			for s := range b {
				b[s] = m * h.emitSum[s]
			}
			for _, v := range sup {
				ev := float64(e[v])
				col := h.emitT[int(v)*S : int(v+1)*S]
				for s, x := range col {
					b[s] += x * ev
				}
			}
		}
		pred := sc.pred[i*S : (i+1)*S]
		if i == 0 {
			copy(pred, h.init)
		} else {
			gemvT64(pred, h.trans, sc.alpha[(i-1)*S:i*S])
		}
		alpha := sc.alpha[i*S : (i+1)*S]
		c := 0.0
		for s := range alpha {
			alpha[s] = pred[s] * b[s]
			c += alpha[s]
		}
		if !(c > 0) {
			pos := []int{}
			for j := 0; j <= i; j++ {
				if sc.m[j] == 0 && int(sc.nsup[j]) < D {
					pos = append(pos, j)
				}
			}
			return 0, contradictory(pos)
		}
		inv := 1 / c
		for s := range alpha {
			alpha[s] *= inv
		}
		sc.c[i] = c
		logZ += math.Log(c)
	}
	h.backward(sc)
	return logZ, nil
}

// scan validates the evidence and records each row's MASK mass (sc.m), the
// size of the support of its token mass (sc.nsup) and the support itself
// (sc.sup), except, when fast, for dense rows (support > K/4), whose
// products never read it.
func (h *HMM) scan(ev *soft.Dense, sc *hmmScratch, fast bool) error {
	K := h.K
	mask := h.v.Mask()
	for i := 0; i < h.L; i++ {
		e := ev.Data[i*K : (i+1)*K]
		m := 0.0
		if mask >= 0 {
			m = float64(e[mask])
		}
		if fast {
			nnz, ok := scanRow(e)
			if m > 0 {
				nnz--
			}
			if ok && 4*nnz > K {
				sc.nsup[i] = int32(nnz)
				sc.m[i] = m
				continue
			}
			if ok {
				// Validated: only the support is left to find.
				sc.nsup[i] = int32(support(sc.sup[i*K:(i+1)*K], e, int(mask), nnz))
				sc.m[i] = m
				continue
			}
		}
		sup := sc.sup[i*K : (i+1)*K]
		n := 0
		for v, x := range e {
			if !(x >= 0 && x <= math.MaxFloat32) {
				return fmt.Errorf("oracle: evidence row %d col %d is %v (want finite and ≥ 0)", i, v, x)
			}
			if x > 0 && int32(v) != mask {
				sup[n] = int32(v)
				n++
			}
		}
		sc.nsup[i] = int32(n)
		sc.m[i] = m
	}
	return nil
}

// backward runs the scaled backward pass into sc.beta.
func (h *HMM) backward(sc *hmmScratch) {
	L, S := h.L, h.S
	last := sc.beta[(L-1)*S : L*S]
	for s := range last {
		last[s] = 1
	}
	for i := L - 2; i >= 0; i-- {
		beta := sc.beta[i*S : (i+1)*S]
		next := sc.beta[(i+1)*S : (i+2)*S]
		bn := sc.b[(i+1)*S : (i+2)*S]
		inv := 1 / sc.c[i+1]
		u := sc.u
		for s := range u {
			u[s] = bn[s] * next[s] * inv
		}
		gemvT64(beta, h.transT, u)
	}
}

// posterior writes position i's token posterior into out (len K, float64).
func (h *HMM) posterior(out []float64, ev *soft.Dense, sc *hmmScratch, i int) {
	S, K := h.S, h.K
	e := ev.Data[i*K : (i+1)*K]
	pred := sc.pred[i*S : (i+1)*S]
	beta := sc.beta[i*S : (i+1)*S]
	m := sc.m[i]
	w := sc.w
	for s := range w {
		w[s] = pred[s] * beta[s]
	}
	clear(out)
	sum := 0.0
	if m == 0 {
		for _, v := range sc.sup[i*K : i*K+int(sc.nsup[i])] {
			acc := 0.0
			for s, x := range h.emitT[int(v)*S : int(v+1)*S] {
				acc += w[s] * x
			}
			p := acc * float64(e[v])
			out[v] = p
			sum += p
		}
	} else {
		q := sc.q
		clear(q)
		for s, ws := range w {
			if ws != 0 {
				axpy64(q, ws, h.emit[s*K:(s+1)*K])
			}
		}
		for v, x := range q {
			p := x * (float64(e[v]) + m)
			out[v] = p
			sum += p
		}
	}
	if mk := h.v.Mask(); mk >= 0 {
		sum -= out[mk]
		out[mk] = 0
	}
	inv := 1 / sum
	for v := range out {
		out[v] *= inv
	}
}

// Marginals writes into dst (L×K, row-major) the exact posterior marginals
// in float64 and returns the log normaliser log Σ_x p(x) Π_i lik_i(x_i),
// with lik_i(v) = e_i(v) + e_i(MASK) taken unscaled from the evidence. It
// does not count an NFE.
func (h *HMM) Marginals(dst []float64, ev *soft.Dense) (float64, error) {
	if len(dst) != h.L*h.K {
		return 0, fmt.Errorf("oracle: Marginals: dst has %d entries, want %d", len(dst), h.L*h.K)
	}
	if err := checkEvidence(ev, h.L, h.K); err != nil {
		return 0, err
	}
	sc := h.pool.Get().(*hmmScratch)
	defer h.pool.Put(sc)
	logZ, err := h.forward(ev, sc, false)
	if err != nil {
		return 0, err
	}
	for i := 0; i < h.L; i++ {
		h.posterior(dst[i*h.K:(i+1)*h.K], ev, sc, i)
	}
	return logZ, nil
}

// Denoise writes the exact posterior marginals given the evidence into dst
// (the state recursions in float64; the S×K products of dense rows in
// float32 with float64 sums over the vocabulary, blocked when a sequence has
// at least six such rows: see kernel_gemm.go and docs/oracles.md). It counts one NFE, does not allocate in steady
// state and is safe for concurrent use.
func (h *HMM) Denoise(dst, ev *soft.Dense, t float64) error {
	h.nfe.Add(1)
	if err := checkShapes(dst, ev, h.L, h.K); err != nil {
		return err
	}
	sc := h.pool.Get().(*hmmScratch)
	defer h.pool.Put(sc)
	if _, err := h.forward(ev, sc, true); err != nil {
		return err
	}
	K := h.K
	rows := sc.rows[:0]
	for i := 0; i < h.L; i++ {
		if !(sc.m[i] == 0 && 4*int(sc.nsup[i]) <= K) {
			rows = append(rows, int32(i))
		}
	}
	if len(rows) >= gemmMinRows && simdgemm.Vector {
		for i := 0; i < h.L; i++ {
			if sc.m[i] == 0 && 4*int(sc.nsup[i]) <= K {
				h.sparsePosterior(dst.Data[i*K:(i+1)*K], ev.Data[i*K:(i+1)*K], sc, i)
			}
		}
		h.posteriorGEMM(dst.Data, ev.Data, sc, rows)
		return nil
	}
	pending := -1
	for i := 0; i < h.L; i++ {
		if sc.m[i] == 0 && 4*int(sc.nsup[i]) <= K {
			h.sparsePosterior(dst.Data[i*K:(i+1)*K], ev.Data[i*K:(i+1)*K], sc, i)
			continue
		}
		if pending < 0 {
			pending = i
			continue
		}
		// Two dense rows share the loads of the emission matrix.
		h.weights32(sc.w32, sc, pending)
		h.weights32(sc.w32b, sc, i)
		gemvT2(sc.q32, sc.q32b, sc.w32, sc.w32b, h.emit32, h.S, K)
		finish(dst.Data[pending*K:(pending+1)*K], sc.q32, ev.Data[pending*K:(pending+1)*K], sc.m[pending])
		finish(dst.Data[i*K:(i+1)*K], sc.q32b, ev.Data[i*K:(i+1)*K], sc.m[i])
		pending = -1
	}
	if pending >= 0 {
		h.weights32(sc.w32, sc, pending)
		gemvT(sc.q32, sc.w32, h.emit32, h.S, K)
		finish(dst.Data[pending*K:(pending+1)*K], sc.q32, ev.Data[pending*K:(pending+1)*K], sc.m[pending])
	}
	return nil
}

// sparsePosterior writes the posterior of a position without MASK mass,
// whose support is the evidence's support sc.sup.
func (h *HMM) sparsePosterior(dst, e []float32, sc *hmmScratch, i int) {
	S, K := h.S, h.K
	pred := sc.pred[i*S : (i+1)*S]
	beta := sc.beta[i*S : (i+1)*S]
	w := sc.w
	for s := range w {
		w[s] = pred[s] * beta[s]
	}
	clear(dst)
	sup := sc.sup[i*K : i*K+int(sc.nsup[i])]
	q := sc.q[:len(sup)]
	sum := 0.0
	for j, v := range sup {
		acc := 0.0
		for s, x := range h.emitT[int(v)*S : int(v+1)*S] {
			acc += w[s] * x
		}
		q[j] = acc * float64(e[v])
		sum += q[j]
	}
	inv := 1 / sum
	for j, v := range sup {
		dst[v] = float32(q[j] * inv)
	}
}

// weights32 writes position i's state weights pred·beta in float32.
func (h *HMM) weights32(w []float32, sc *hmmScratch, i int) {
	S := h.S
	pred := sc.pred[i*S : (i+1)*S]
	beta := sc.beta[i*S : (i+1)*S]
	for s := range w {
		w[s] = float32(pred[s] * beta[s])
	}
}

// LogProb returns the exact log p(x) by the forward recursion; −Inf if x is
// impossible (for example, it holds MASK).
func (h *HMM) LogProb(x []int32) (float64, error) {
	if err := checkSeq(x, h.L, h.K); err != nil {
		return 0, err
	}
	S, K := h.S, h.K
	var buf [2 * 64]float64
	var alpha, next []float64
	if S <= 64 {
		alpha, next = buf[:S], buf[64:64+S]
	} else {
		alpha, next = make([]float64, S), make([]float64, S)
	}
	lp := 0.0
	for i, id := range x {
		if i == 0 {
			copy(next, h.init)
		} else {
			clear(next)
			for r, a := range alpha {
				if a == 0 {
					continue
				}
				tr := h.trans[r*S : (r+1)*S]
				for s := range next {
					next[s] += a * tr[s]
				}
			}
		}
		c := 0.0
		for s := range next {
			next[s] *= h.emit[s*K+int(id)]
			c += next[s]
		}
		if c == 0 {
			return math.Inf(-1), nil
		}
		for s := range next {
			next[s] /= c
		}
		lp += math.Log(c)
		alpha, next = next, alpha
	}
	return lp, nil
}

// Valid reports whether p(x) > 0.
func (h *HMM) Valid(x []int32) bool {
	lp, err := h.LogProb(x)
	return err == nil && !math.IsInf(lp, -1)
}

// Sample writes an exact sample into dst (len Len(), else it panics).
func (h *HMM) Sample(dst []int32, rng *rand.Rand) {
	if len(dst) != h.L {
		panic(fmt.Sprintf("oracle: HMM.Sample: dst has length %d, want %d", len(dst), h.L))
	}
	S, K := h.S, h.K
	s := sampleCat(rng, h.init, 1)
	for i := range dst {
		dst[i] = int32(sampleCat(rng, h.emit[s*K:(s+1)*K], h.emitSum[s]))
		if i+1 < len(dst) {
			s = sampleCat(rng, h.trans[s*S:(s+1)*S], 1)
		}
	}
}

// SampleBatch fills every dst[j] with an exact sample; sequence j draws from
// soft.BlockRand(seed, j), so the output does not depend on workers (≤ 0:
// GOMAXPROCS).
func (h *HMM) SampleBatch(dst [][]int32, seed uint64, workers int) {
	soft.ForBlocks(len(dst), 1, workers, func(b, lo, hi int) {
		for j := lo; j < hi; j++ {
			h.Sample(dst[j], soft.BlockRand(seed, j))
		}
	})
}

// StateMarginals writes into dst (L×S) the prior state marginals p(z_i = s).
func (h *HMM) StateMarginals(dst []float64) {
	S := h.S
	if len(dst) != h.L*S {
		panic(fmt.Sprintf("oracle: StateMarginals: dst has length %d, want %d", len(dst), h.L*S))
	}
	copy(dst, h.init)
	for i := 1; i < h.L; i++ {
		prev, cur := dst[(i-1)*S:i*S], dst[i*S:(i+1)*S]
		clear(cur)
		for r, a := range prev {
			for s, t := range h.trans[r*S : (r+1)*S] {
				cur[s] += a * t
			}
		}
	}
}

// Unigram writes into dst (len K) the token frequencies averaged over
// positions, dst[v] = (1/L) Σ_i p(x_i = v). It panics if len(dst) != K.
func (h *HMM) Unigram(dst []float64) {
	if len(dst) != h.K {
		panic(fmt.Sprintf("oracle: Unigram: dst has length %d, want %d", len(dst), h.K))
	}
	mu := make([]float64, h.L*h.S)
	h.StateMarginals(mu)
	avg := make([]float64, h.S)
	for i := 0; i < h.L; i++ {
		for s := range avg {
			avg[s] += mu[i*h.S+s] / float64(h.L)
		}
	}
	clear(dst)
	for s, a := range avg {
		for v, x := range h.emit[s*h.K : (s+1)*h.K] {
			dst[v] += a * x
		}
	}
}

// Entropy returns the entropy of the length-L distribution with EntropyOf:
// exact by enumeration when D^L ≤ opt.MaxEnum, else a Monte-Carlo estimate
// with its standard error.
func (h *HMM) Entropy(opt EntropyOptions) (Estimate, error) { return EntropyOf(h, opt) }
