package decode

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// MAP is the exact maximiser over the top-K lattice of the end state
// (FinalState.Lattice) of
//
//	log p(x) + Σ_i log ℓ_i(x_i) + BeliefWeight·Σ_i log b_i(x_i),
//
// its Decoded.Score, ℓ the evidence of the end state. With BeliefWeight 0
// it is the mode of the posterior π of FinalState restricted to the
// lattice (committed positions pinned). For an HMMScorer,
// p(x) = Σ_h p(h, x) with hidden states summed (the token MAP, not Viterbi),
// found by an A* search over prefixes with exact forward vectors; for any
// other scorer by enumerating the lattice in lexicographic order (ties: the
// first found). Both are exact; they stop with ErrSearchLimit past MaxNodes
// search nodes or configurations (0 means 1 000 000). If every candidate
// has probability zero the top-1 candidates are returned with Score −Inf.
// Evals counts expanded nodes (A*) or scored configurations. K 0 means 4;
// BeliefWeight must be finite.
type MAP struct {
	K            int
	BeliefWeight float64
	MaxNodes     int
}

// Name implements FinalDecoder.
func (MAP) Name() string { return "MAP" }

// Decode implements FinalDecoder; rng is not used.
func (m MAP) Decode(ctx context.Context, s *FinalState, sc JointScorer, _ *rand.Rand) (Decoded, error) {
	if m.K < 0 || m.MaxNodes < 0 {
		return Decoded{}, fmt.Errorf("decode.MAP: K %d or MaxNodes %d < 0", m.K, m.MaxNodes)
	}
	if math.IsNaN(m.BeliefWeight) || math.IsInf(m.BeliefWeight, 0) {
		return Decoded{}, fmt.Errorf("decode.MAP: BeliefWeight %v is not finite", m.BeliefWeight)
	}
	if sc == nil {
		return Decoded{}, errNoScorer
	}
	lat, err := s.Lattice(orDefault(m.K, 4))
	if err != nil {
		return Decoded{}, fmt.Errorf("decode.MAP: %w", err)
	}
	maxNodes := orDefault(m.MaxNodes, 1_000_000)
	if h, ok := sc.(HMMScorer); ok {
		return astarMAP(ctx, h, lat, m.BeliefWeight, maxNodes)
	}
	return enumMAP(ctx, sc, lat, m.BeliefWeight, maxNodes)
}

// errNoScorer is the error of a joint decoder called without a scorer.
var errNoScorer = errors.New("decode: joint decoder without a scorer")

// allZero is the outcome of a search in which every configuration has
// probability zero: the top-1 candidates, Score −Inf.
func allZero(lat *Lattice, evals int) Decoded {
	x := make([]int32, lat.L)
	for i := range x {
		x[i], _ = lat.Cand(i, 0)
	}
	return Decoded{Tokens: x, Score: math.Inf(-1), Evals: evals}
}

// enumMAP maximises log p(x) + w·Σ log b_i(x_i) over the lattice by
// enumeration.
func enumMAP(ctx context.Context, sc JointScorer, lat *Lattice, w float64, maxNodes int) (Decoded, error) {
	L := lat.L
	size := 1.0
	for i := 0; i < L; i++ {
		size *= float64(lat.N[i])
	}
	if size > float64(maxNodes) {
		return Decoded{}, fmt.Errorf("%w (%v configurations > %d)", ErrSearchLimit, size, maxNodes)
	}
	x := make([]int32, L)
	best := allZero(lat, 0)
	evals := 0
	var rec func(i int, bel, lik float64) error
	rec = func(i int, bel, lik float64) error {
		if i == L {
			if evals%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			evals++
			lp, err := sc.LogProb(x)
			if err != nil {
				return err
			}
			if err := checkLogProb(lp, fmt.Sprint(x)); err != nil {
				return fmt.Errorf("decode.MAP: %w", err)
			}
			obj := lp
			if !math.IsInf(lp, -1) {
				if w != 0 {
					obj += w * bel
				}
				obj += lik
			}
			if obj > best.Score {
				best.Score = obj
				copy(best.Tokens, x)
			}
			return nil
		}
		for j := 0; j < lat.N[i]; j++ {
			var lb float64
			x[i], lb = lat.Cand(i, j)
			if err := rec(i+1, bel+lb, lik+lat.logLik(i, j)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := rec(0, 0, 0); err != nil {
		return Decoded{}, err
	}
	best.Evals = evals
	return best, nil
}

// HMMScorer is a JointScorer that is a hidden Markov model: S hidden states,
// initial distribution init (S), transitions trans (S×S row-major,
// trans[a*S+b] = p(b | a)) and emissions emit (S×K row-major over the
// vocabulary). oracle.HMM implements it.
type HMMScorer interface {
	JointScorer
	States() int
	Params() (init, trans, emit []float64)
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

// astarMAP is MAP's search for an HMM scorer: best-first (A*) over
// prefixes, a node holding the exact forward vector
// α_i(h) = p(x_1..i, h_i = h)·Π ω, ω_i(v) = ℓ_i(v)·b_i(v)^w, with priority
// log Σ_h α_i(h)·U_i(h) and the admissible bound of a backward pass that
// sums over states and maxes over candidate tokens,
//
//	U_{L−1}(h) = 1,   U_i(h) = Σ_h' T(h, h')·max_{v ∈ C_{i+1}} E(h', v)·ω_{i+1}(v)·U_{i+1}(h').
//
// Since U bounds every completion, the first complete sequence popped is
// optimal. Evals counts expanded nodes.
func astarMAP(ctx context.Context, sc HMMScorer, lat *Lattice, w float64, maxNodes int) (Decoded, error) {
	init, trans, emit := sc.Params()
	S := sc.States()
	if len(init) != S || len(trans) != S*S || len(emit)%S != 0 {
		return Decoded{}, fmt.Errorf("decode.MAP: HMM parameters of inconsistent size (S=%d)", S)
	}
	K := len(emit) / S
	L := lat.L
	for i := 0; i < L; i++ {
		for j := 0; j < lat.N[i]; j++ {
			if v, _ := lat.Cand(i, j); int(v) >= K {
				return Decoded{}, fmt.Errorf("decode.MAP: candidate %d at position %d outside the HMM's %d tokens", v, i, K)
			}
		}
	}
	omega := func(i, j int) float64 { // ℓ_i(v)·b_i(v)^w
		_, lb := lat.Cand(i, j)
		e := lat.logLik(i, j)
		if w != 0 {
			e += w * lb
		}
		if e == 0 {
			return 1
		}
		return math.Exp(e)
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
	return allZero(lat, evals), nil
}
