package decode

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/softdiff/softdiff/soft"
)

// Lattice holds the candidates of a final joint decode: for each position
// the top-k tokens of a soft state (beliefs), with their log-beliefs.
// Candidates of zero belief are dropped, so position i has N[i] ≤ k
// candidates, best first.
type Lattice struct {
	L, Kmax int
	IDs     []int32   // L×Kmax, candidate j of position i at i*Kmax+j
	LogB    []float64 // log-belief of each candidate
	N       []int     // number of candidates per position
}

// NewLattice returns the top-k lattice of bel (rows are distributions, the
// MASK column carries no mass). It returns an error if a row has no
// positive entry.
func NewLattice(bel *soft.Dense, k int) (*Lattice, error) {
	if k < 1 {
		return nil, fmt.Errorf("decode.NewLattice: k=%d < 1", k)
	}
	k = min(k, bel.K)
	lat := &Lattice{L: bel.L, Kmax: k, IDs: make([]int32, bel.L*k), LogB: make([]float64, bel.L*k), N: make([]int, bel.L)}
	vals := make([]float32, k)
	for i := 0; i < bel.L; i++ {
		ids := lat.IDs[i*k : (i+1)*k]
		soft.TopK(ids, vals, bel.Row(i))
		n := 0
		for j, v := range vals {
			if v > 0 {
				lat.LogB[i*k+j] = math.Log(float64(v))
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("decode.NewLattice: row %d has no positive belief", i)
		}
		lat.N[i] = n
	}
	return lat, nil
}

// Cand returns candidate j of position i and its log-belief.
func (l *Lattice) Cand(i, j int) (int32, float64) { return l.IDs[i*l.Kmax+j], l.LogB[i*l.Kmax+j] }

// beliefScore returns Σ_i log-belief of x's candidates (x must lie on the
// lattice; tokens off it score −Inf).
func (l *Lattice) beliefScore(x []int32) float64 {
	var s float64
	for i, v := range x {
		found := false
		for j := 0; j < l.N[i]; j++ {
			if id, lb := l.Cand(i, j); id == v {
				s += lb
				found = true
				break
			}
		}
		if !found {
			return math.Inf(-1)
		}
	}
	return s
}

// Decoded is the outcome of a joint decoder: the chosen configuration, its
// score (the decoder's objective, documented per decoder) and the number of
// joint-scorer evaluations it used.
type Decoded struct {
	Tokens []int32
	Score  float64
	Evals  int
}

// ---------------------------------------------------------------- beam

// BeamOptions configures Beam. Width 0 means 4.
type BeamOptions struct {
	Width int
	// BeliefWeight w adds w·Σ_i log b_i(x_i) to the joint log-probability.
	BeliefWeight float64
}

type beamEntry struct {
	x          []int32
	joint, bel float64
}

func (e beamEntry) score(w float64) float64 {
	if math.IsInf(e.joint, -1) {
		return math.Inf(-1)
	}
	return e.joint + w*e.bel
}

// Beam is a coordinate-wise beam search over the lattice scored by a
// JointScorer, which scores whole sequences only: every beam entry is a full
// sequence, starting from the top-1 candidates; sweeping positions left to
// right, each entry is expanded by every candidate of the position, all
// expansions are scored, and the Width best distinct ones are kept. Entries
// of probability zero are ranked among themselves by their belief score, so
// the search can walk through invalid sequences towards valid ones. The
// score is log p(x) + BeliefWeight·Σ log b_i(x_i). Cost: at most
// L·Width·k scorer calls (Decoded.Evals).
func Beam(ctx context.Context, sc JointScorer, lat *Lattice, opts BeamOptions) (Decoded, error) {
	B := opts.Width
	if B == 0 {
		B = 4
	}
	if B < 0 {
		return Decoded{}, fmt.Errorf("decode.Beam: width %d < 0", B)
	}
	w := opts.BeliefWeight
	x0 := make([]int32, lat.L)
	for i := range x0 {
		x0[i], _ = lat.Cand(i, 0)
	}
	evals := 0
	score := func(x []int32) (beamEntry, error) {
		evals++
		lp, err := sc.LogProb(x)
		if err != nil {
			return beamEntry{}, err
		}
		return beamEntry{x: x, joint: lp, bel: lat.beliefScore(x)}, nil
	}
	e0, err := score(x0)
	if err != nil {
		return Decoded{}, err
	}
	beam := []beamEntry{e0}
	var next []beamEntry
	less := func(a, b beamEntry) int { // descending by (score, belief), then lexicographic
		sa, sb := a.score(w), b.score(w)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		case a.bel > b.bel:
			return -1
		case a.bel < b.bel:
			return 1
		}
		return slices.Compare(a.x, b.x)
	}
	for i := 0; i < lat.L; i++ {
		if err := ctx.Err(); err != nil {
			return Decoded{}, err
		}
		next = next[:0]
		for _, e := range beam {
			next = append(next, e) // its own token at i is one of the candidates (or kept)
			for j := 0; j < lat.N[i]; j++ {
				v, _ := lat.Cand(i, j)
				if v == e.x[i] {
					continue
				}
				x := slices.Clone(e.x)
				x[i] = v
				ne, err := score(x)
				if err != nil {
					return Decoded{}, err
				}
				next = append(next, ne)
			}
		}
		slices.SortFunc(next, less)
		next = slices.CompactFunc(next, func(a, b beamEntry) bool { return slices.Equal(a.x, b.x) })
		beam = append(beam[:0], next[:min(B, len(next))]...)
	}
	best := beam[0]
	return Decoded{Tokens: best.x, Score: best.score(w), Evals: evals}, nil
}

// ---------------------------------------------------------------- exact MAP

// HMMScorer is a JointScorer that is a hidden Markov model: S hidden states,
// initial distribution init (S), transitions trans (S×S row-major,
// trans[a*S+b] = p(b | a)) and emissions emit (S×K row-major over the
// vocabulary). oracle.HMM implements it.
type HMMScorer interface {
	JointScorer
	States() int
	Params() (init, trans, emit []float64)
}

// MAPOptions configures MAP. MaxNodes 0 means 1 000 000.
type MAPOptions struct {
	BeliefWeight float64
	MaxNodes     int
}

// ErrSearchLimit is returned when an exact search exceeds its node budget.
var ErrSearchLimit = errors.New("decode: search node limit reached")

type mapNode struct {
	parent   int32
	tok      int32
	depth    int32
	alpha    []float64 // normalised forward vector over states
	logScale float64   // log of the normaliser taken out of alpha
	prio     float64
}

type mapHeap struct {
	nodes []mapNode
	h     []int32
}

func (q *mapHeap) Len() int { return len(q.h) }
func (q *mapHeap) Less(a, b int) bool {
	na, nb := &q.nodes[q.h[a]], &q.nodes[q.h[b]]
	if na.prio != nb.prio {
		return na.prio > nb.prio
	}
	return na.depth > nb.depth
}
func (q *mapHeap) Swap(a, b int) { q.h[a], q.h[b] = q.h[b], q.h[a] }
func (q *mapHeap) Push(x any)    { q.h = append(q.h, x.(int32)) }
func (q *mapHeap) Pop() any {
	x := q.h[len(q.h)-1]
	q.h = q.h[:len(q.h)-1]
	return x
}

// MAP returns the exact maximiser over the lattice of
//
//	log p(x) + BeliefWeight·Σ_i log b_i(x_i),   p(x) = Σ_h p(h, x),
//
// for an HMM scorer. The token MAP of an HMM is not Viterbi (which maxes
// over hidden paths); hidden states are summed. The search is best-first
// (A*) over prefixes: a node holds the exact forward vector
// α_i(h) = p(x_1..i, h_i = h)·Π ω, ω_i(v) = b_i(v)^w, and its priority is
// log Σ_h α_i(h)·U_i(h) with the admissible bound from a backward pass that
// sums over states and maxes over candidate tokens,
//
//	U_{L−1}(h) = 1,   U_i(h) = Σ_h' T(h, h')·max_{v ∈ C_{i+1}} E(h', v)·ω_{i+1}(v)·U_{i+1}(h').
//
// Since U bounds every completion, the first complete sequence popped is
// optimal. The search is exact but may grow exponentially with L on hard
// lattices; it stops with ErrSearchLimit after MaxNodes nodes. Score is the
// objective; Evals counts expanded nodes.
func MAP(ctx context.Context, sc HMMScorer, lat *Lattice, opts MAPOptions) (Decoded, error) {
	init, trans, emit := sc.Params()
	S := sc.States()
	if len(init) != S || len(trans) != S*S || len(emit)%S != 0 {
		return Decoded{}, fmt.Errorf("decode.MAP: HMM parameters of inconsistent size (S=%d)", S)
	}
	K := len(emit) / S
	L := lat.L
	w := opts.BeliefWeight
	maxNodes := opts.MaxNodes
	if maxNodes == 0 {
		maxNodes = 1_000_000
	}
	for i := 0; i < L; i++ {
		for j := 0; j < lat.N[i]; j++ {
			if v, _ := lat.Cand(i, j); int(v) >= K {
				return Decoded{}, fmt.Errorf("decode.MAP: candidate %d at position %d outside the HMM's %d tokens", v, i, K)
			}
		}
	}
	omega := func(i, j int) float64 {
		_, lb := lat.Cand(i, j)
		if w == 0 {
			return 1
		}
		return math.Exp(w * lb)
	}
	// backward bound, in log space per position to avoid underflow:
	// U_i = exp(logU[i]) · u[i] with u normalised to max 1.
	U := make([]float64, L*S)
	logU := make([]float64, L)
	for h := 0; h < S; h++ {
		U[(L-1)*S+h] = 1
	}
	m := make([]float64, S)
	for i := L - 2; i >= 0; i-- {
		for h2 := 0; h2 < S; h2++ {
			best := 0.0
			for j := 0; j < lat.N[i+1]; j++ {
				v, _ := lat.Cand(i+1, j)
				best = max(best, emit[h2*K+int(v)]*omega(i+1, j))
			}
			m[h2] = best * U[(i+1)*S+h2]
		}
		mx := 0.0
		for h := 0; h < S; h++ {
			var s float64
			for h2 := 0; h2 < S; h2++ {
				s += trans[h*S+h2] * m[h2]
			}
			U[i*S+h] = s
			mx = max(mx, s)
		}
		if mx > 0 {
			for h := 0; h < S; h++ {
				U[i*S+h] /= mx
			}
			logU[i] = logU[i+1] + math.Log(mx)
		} else {
			logU[i] = math.Inf(-1)
		}
	}
	q := &mapHeap{}
	prio := func(alpha []float64, logScale float64, depth int) float64 {
		if depth == L {
			return logScale
		}
		var s float64
		for h, a := range alpha {
			s += a * U[(depth-1)*S+h]
		}
		return logScale + math.Log(s) + logU[depth-1]
	}
	expand := func(parent int32, depth int, prev []float64, prevScale float64) {
		i := depth // position to fill
		for j := 0; j < lat.N[i]; j++ {
			v, _ := lat.Cand(i, j)
			alpha := make([]float64, S)
			var z float64
			for h2 := 0; h2 < S; h2++ {
				var s float64
				if prev == nil {
					s = init[h2]
				} else {
					for h, a := range prev {
						s += a * trans[h*S+h2]
					}
				}
				alpha[h2] = s * emit[h2*K+int(v)] * omega(i, j)
				z += alpha[h2]
			}
			if z == 0 {
				continue
			}
			for h2 := range alpha {
				alpha[h2] /= z
			}
			ls := prevScale + math.Log(z)
			n := mapNode{parent: parent, tok: v, depth: int32(depth + 1), alpha: alpha, logScale: ls}
			n.prio = prio(alpha, ls, depth+1)
			q.nodes = append(q.nodes, n)
			heap.Push(q, int32(len(q.nodes)-1))
		}
	}
	expand(-1, 0, nil, 0)
	evals := 0
	for q.Len() > 0 {
		if evals%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Decoded{}, err
			}
		}
		id := heap.Pop(q).(int32)
		n := q.nodes[id]
		evals++
		if int(n.depth) == L {
			x := make([]int32, L)
			for k := id; k >= 0; k = q.nodes[k].parent {
				x[q.nodes[k].depth-1] = q.nodes[k].tok
			}
			return Decoded{Tokens: x, Score: n.prio, Evals: evals}, nil
		}
		if len(q.nodes) >= maxNodes {
			return Decoded{}, fmt.Errorf("%w (%d nodes)", ErrSearchLimit, maxNodes)
		}
		expand(id, int(n.depth), n.alpha, n.logScale)
		q.nodes[id].alpha = nil // no longer needed
	}
	return Decoded{}, errors.New("decode.MAP: every lattice configuration has probability zero")
}

// ---------------------------------------------------------------- Viterbi

// MarkovScorer is a JointScorer that is a first-order Markov chain over the
// K tokens: p(x) = init[x_1]·Π trans[x_{i−1}·K + x_i].
type MarkovScorer interface {
	JointScorer
	Markov() (init, trans []float64)
}

// Viterbi returns the exact maximiser over the lattice of log p(x) +
// BeliefWeight·Σ log b_i(x_i) for a first-order Markov chain scorer, by
// dynamic programming over the candidates (O(L·k²)). Score is the
// objective.
func Viterbi(sc MarkovScorer, lat *Lattice, beliefWeight float64) (Decoded, error) {
	init, trans := sc.Markov()
	K := len(init)
	if len(trans) != K*K {
		return Decoded{}, fmt.Errorf("decode.Viterbi: transition matrix has %d entries, want %d", len(trans), K*K)
	}
	L, kk := lat.L, lat.Kmax
	score := make([]float64, L*kk)
	back := make([]int, L*kk)
	lg := func(p float64) float64 { return math.Log(p) }
	for i := 0; i < L; i++ {
		for j := 0; j < lat.N[i]; j++ {
			v, lb := lat.Cand(i, j)
			if int(v) >= K {
				return Decoded{}, fmt.Errorf("decode.Viterbi: candidate %d outside the chain's %d tokens", v, K)
			}
			local := beliefWeight * lb
			if beliefWeight == 0 {
				local = 0
			}
			if i == 0 {
				score[j] = lg(init[v]) + local
				continue
			}
			best, arg := math.Inf(-1), 0
			for a := 0; a < lat.N[i-1]; a++ {
				u, _ := lat.Cand(i-1, a)
				s := score[(i-1)*kk+a] + lg(trans[int(u)*K+int(v)])
				if s > best {
					best, arg = s, a
				}
			}
			score[i*kk+j] = best + local
			back[i*kk+j] = arg
		}
	}
	best, arg := math.Inf(-1), 0
	for j := 0; j < lat.N[L-1]; j++ {
		if s := score[(L-1)*kk+j]; s > best {
			best, arg = s, j
		}
	}
	if math.IsInf(best, -1) {
		return Decoded{}, errors.New("decode.Viterbi: every lattice configuration has probability zero")
	}
	x := make([]int32, L)
	for i := L - 1; i >= 0; i-- {
		x[i], _ = lat.Cand(i, arg)
		arg = back[i*kk+arg]
	}
	return Decoded{Tokens: x, Score: best, Evals: L}, nil
}

// ---------------------------------------------------------------- importance resampling

// ResampleOptions configures ImportanceResample. N 0 means 8.
type ResampleOptions struct {
	N int
	// NoProposalCorrection weights candidates by p(x) alone instead of the
	// importance weight p(x)/q(x).
	NoProposalCorrection bool
}

// ImportanceResample draws N whole sequences from the factorised proposal
// q(x) = Π_i b_i(x_i) of the beliefs bel, weights each by the importance
// weight p(x)/q(x) of the joint scorer's p (EDLM, Xu et al. 2025, "Energy-
// Based Diffusion Language Models for Text Generation", arXiv 2410.21357:
// the target is q(x)·exp(−E(x)) with residual energy E(x) = log q(x) −
// log p(x), so the weight exp(−E) is p/q; EDLM's code is inconsistent about
// the sign, this is the sign that makes the resampled law tend to p as N
// grows), and returns one drawn in proportion to its weight. Score is
// log p(x) of the returned sequence; Evals = N. If every candidate has p = 0
// the first candidate is returned with Score −Inf.
func ImportanceResample(rng *rand.Rand, sc JointScorer, bel *soft.Dense, opts ResampleOptions) (Decoded, error) {
	n := opts.N
	if n == 0 {
		n = 8
	}
	if n < 0 {
		return Decoded{}, fmt.Errorf("decode.ImportanceResample: N=%d < 0", n)
	}
	xs := make([][]int32, n)
	logw := make([]float64, n)
	logp := make([]float64, n)
	mx := math.Inf(-1)
	for c := range xs {
		x := make([]int32, bel.L)
		var lq float64
		for i := range x {
			row := bel.Row(i)
			x[i] = soft.Sample(rng, row)
			lq += math.Log(float64(row[x[i]]))
		}
		lp, err := sc.LogProb(x)
		if err != nil {
			return Decoded{}, err
		}
		xs[c], logp[c] = x, lp
		logw[c] = lp
		if !opts.NoProposalCorrection {
			logw[c] = lp - lq
		}
		mx = max(mx, logw[c])
	}
	if math.IsInf(mx, -1) {
		return Decoded{Tokens: xs[0], Score: math.Inf(-1), Evals: n}, nil
	}
	var z float64
	for _, lw := range logw {
		z += math.Exp(lw - mx)
	}
	u := rng.Float64() * z
	var c float64
	pick := n - 1
	for j, lw := range logw {
		c += math.Exp(lw - mx)
		if u < c {
			pick = j
			break
		}
	}
	return Decoded{Tokens: xs[pick], Score: logp[pick], Evals: n}, nil
}

// ---------------------------------------------------------------- MBR

// MBR returns the minimum-Bayes-risk choice among samples under Hamming
// loss: the sample x_j maximising Σ_k w_k·(fraction of positions where x_j
// and x_k agree), with weights w (nil means uniform; they need not be
// normalised). Score is that expected agreement, in [0, 1] for normalised
// weights. Evals is 0 (no scorer calls).
func MBR(samples [][]int32, weights []float64) (Decoded, error) {
	if len(samples) == 0 {
		return Decoded{}, errors.New("decode.MBR: no samples")
	}
	if weights != nil && len(weights) != len(samples) {
		return Decoded{}, fmt.Errorf("decode.MBR: %d weights for %d samples", len(weights), len(samples))
	}
	L := len(samples[0])
	var wsum float64
	for k := range samples {
		if len(samples[k]) != L {
			return Decoded{}, fmt.Errorf("decode.MBR: sample %d has length %d, want %d", k, len(samples[k]), L)
		}
		wk := 1.0
		if weights != nil {
			wk = weights[k]
			if !(wk >= 0) || math.IsInf(wk, 1) {
				return Decoded{}, fmt.Errorf("decode.MBR: weight %d is %v", k, wk)
			}
		}
		wsum += wk
	}
	if !(wsum > 0) {
		return Decoded{}, errors.New("decode.MBR: weights sum to zero")
	}
	best, bj := math.Inf(-1), 0
	for j, xj := range samples {
		var s float64
		for k, xk := range samples {
			wk := 1.0
			if weights != nil {
				wk = weights[k]
			}
			agree := 0
			for i := range xj {
				if xj[i] == xk[i] {
					agree++
				}
			}
			s += wk * float64(agree) / float64(L)
		}
		s /= wsum
		if s > best {
			best, bj = s, j
		}
	}
	return Decoded{Tokens: slices.Clone(samples[bj]), Score: best}, nil
}

// ---------------------------------------------------------------- PLL

// PLL is a JointScorer built from any Denoiser: the pseudo-log-likelihood
// Σ_i log p(x_i | x_−i), where p(x_i | x_−i) is the belief at i when every
// other position is hard evidence and position i is masked. One LogProb is
// L denoiser calls, run in parallel on up to Workers goroutines (≤ 0 means
// GOMAXPROCS) and summed in position order, so the result does not depend
// on Workers. It counts its own denoiser calls (NFE). Safe for concurrent
// use when the denoiser is.
type PLL struct {
	den     Denoiser
	K       int
	mask    int32
	Workers int
	nfe     atomic.Int64
	pool    sync.Pool
}

type pllScratch struct {
	ev, bel *soft.Dense
}

// NewPLL returns the pseudo-log-likelihood scorer of den over v (which must
// have a MASK token).
func NewPLL(den Denoiser, v *soft.Vocab) (*PLL, error) {
	if v.Mask() == soft.NoToken {
		return nil, errors.New("decode.NewPLL: vocabulary has no MASK token")
	}
	return &PLL{den: den, K: v.Size(), mask: v.Mask()}, nil
}

// NFE returns the number of denoiser calls made so far.
func (p *PLL) NFE() int64 { return p.nfe.Load() }

// LogProb implements JointScorer with the pseudo-log-likelihood; −Inf if
// some x_i has belief 0.
func (p *PLL) LogProb(x []int32) (float64, error) {
	L := len(x)
	for i, v := range x {
		if v < 0 || int(v) >= p.K || v == p.mask {
			return 0, fmt.Errorf("decode.PLL: token %d at position %d is not a token id", v, i)
		}
	}
	terms := make([]float64, L)
	errs := make([]error, L)
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, L) {
		wg.Go(func() {
			sc, _ := p.pool.Get().(*pllScratch)
			if sc == nil || sc.ev.L != L {
				sc = &pllScratch{ev: soft.NewDense(L, p.K), bel: soft.NewDense(L, p.K)}
			}
			defer p.pool.Put(sc)
			for {
				i := int(next.Add(1) - 1)
				if i >= L {
					return
				}
				clear(sc.ev.Data)
				for j, v := range x {
					if j == i {
						sc.ev.Data[j*p.K+int(p.mask)] = 1
					} else {
						sc.ev.Data[j*p.K+int(v)] = 1
					}
				}
				p.nfe.Add(1)
				if err := p.den.Denoise(sc.bel, sc.ev, 0); err != nil {
					errs[i] = err
					continue
				}
				terms[i] = math.Log(float64(sc.bel.Row(i)[x[i]]))
			}
		})
	}
	wg.Wait()
	var s float64
	for i, t := range terms {
		if err := errs[i]; err != nil {
			// The Denoiser contract: zero-probability evidence is an error
			// beginning "contradictory evidence": x_−i itself is impossible.
			if strings.Contains(err.Error(), "contradictory evidence") {
				return math.Inf(-1), nil
			}
			return 0, fmt.Errorf("decode.PLL position %d: %w", i, err)
		}
		s += t
	}
	return s, nil
}
