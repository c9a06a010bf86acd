package decode

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// MarkovScorer is a JointScorer that is a first-order Markov chain over the
// K tokens: p(x) = init[x_1]·Π trans[x_{i−1}·K + x_i].
type MarkovScorer interface {
	JointScorer
	Markov() (init, trans []float64)
}

// Viterbi is the exact maximiser over the top-K lattice of the end state of
// log p(x) + Σ_i log ℓ_i(x_i) + BeliefWeight·Σ_i log b_i(x_i)
// (Decoded.Score, ℓ the evidence of the end state) for a scorer that
// is a first-order Markov chain over the tokens (MarkovScorer; any other
// scorer is an error), by dynamic programming over the candidates in
// O(L·K²) (ties: the first candidate in lattice order). With BeliefWeight 0
// it is the mode of π of FinalState restricted to the lattice, as MAP; if
// every candidate has probability zero the top-1 candidates are returned
// with Score −Inf.
// Evals is L. K 0 means 4; BeliefWeight must be finite, and the chain's
// init and trans entries that the lattice reads finite and non-negative
// (any other value is an error).
type Viterbi struct {
	K            int
	BeliefWeight float64
}

// Name implements FinalDecoder.
func (Viterbi) Name() string { return "Viterbi" }

// Decode implements FinalDecoder; rng is not used.
func (v Viterbi) Decode(ctx context.Context, s *FinalState, sc JointScorer, _ *rand.Rand) (Decoded, error) {
	mc, ok := sc.(MarkovScorer)
	if !ok {
		return Decoded{}, fmt.Errorf("decode.Viterbi: scorer %T is not a MarkovScorer", sc)
	}
	if v.K < 0 {
		return Decoded{}, fmt.Errorf("decode.Viterbi: K %d < 0", v.K)
	}
	if math.IsNaN(v.BeliefWeight) || math.IsInf(v.BeliefWeight, 0) {
		return Decoded{}, fmt.Errorf("decode.Viterbi: BeliefWeight %v is not finite", v.BeliefWeight)
	}
	lat, err := s.Lattice(orDefault(v.K, 4))
	if err != nil {
		return Decoded{}, fmt.Errorf("decode.Viterbi: %w", err)
	}
	return viterbi(mc, lat, v.BeliefWeight)
}

func viterbi(sc MarkovScorer, lat *Lattice, beliefWeight float64) (Decoded, error) {
	init, trans := sc.Markov()
	K := len(init)
	if len(trans) != K*K {
		return Decoded{}, fmt.Errorf("decode.Viterbi: transition matrix has %d entries, want %d", len(trans), K*K)
	}
	L, kk := lat.L, lat.Kmax
	score := make([]float64, L*kk)
	back := make([]int, L*kk)
	// lg is the log of a chain entry, which must be a finite non-negative
	// weight (only the entries the lattice uses are read).
	var bad error
	lg := func(name string, ps []float64, j int) float64 {
		p := ps[j]
		if !(p >= 0 && p <= math.MaxFloat64) && bad == nil {
			bad = fmt.Errorf("decode.Viterbi: %s[%d] = %v is not a finite non-negative weight", name, j, p)
		}
		return math.Log(p)
	}
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
			local += lat.logLik(i, j)
			if i == 0 {
				score[j] = lg("init", init, int(v)) + local
				continue
			}
			best, arg := math.Inf(-1), 0
			for a := 0; a < lat.N[i-1]; a++ {
				u, _ := lat.Cand(i-1, a)
				s := score[(i-1)*kk+a] + lg("trans", trans, int(u)*K+int(v))
				if s > best {
					best, arg = s, a
				}
			}
			score[i*kk+j] = best + local
			back[i*kk+j] = arg
		}
	}
	if bad != nil {
		return Decoded{}, bad
	}
	best, arg := math.Inf(-1), 0
	for j := 0; j < lat.N[L-1]; j++ {
		if s := score[(L-1)*kk+j]; s > best {
			best, arg = s, j
		}
	}
	if math.IsInf(best, -1) {
		return allZero(lat, L), nil
	}
	x := make([]int32, L)
	for i := L - 1; i >= 0; i-- {
		x[i], _ = lat.Cand(i, arg)
		arg = back[i*kk+arg]
	}
	return Decoded{Tokens: x, Score: best, Evals: L}, nil
}
