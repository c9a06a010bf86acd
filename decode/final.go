package decode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/softdiff/softdiff/soft"
)

// FinalState is the end state of a run as a final decoder reads it: the
// evidence handed to the last successful denoiser call, the identities at
// that call and the beliefs it returned. A run keeps it in Result.Final
// (under Options.Record or Options.Final); BeliefState builds one from
// beliefs alone.
//
// The target of a joint final decode is the posterior of the model given
// that evidence,
//
//	π(x) ∝ p(x) · Π_i ℓ_i(x_i),   ℓ_i(v) = e_i(v) + e_i(MASK),
//
// e_i the evidence row (so a committed position's ℓ_i is the indicator of
// its token and a position without evidence has ℓ_i = 1). For an exact
// denoiser the beliefs are π's marginals, which makes Π_i b_i(x_i) the
// natural proposal. A FinalState is outside data to a decoder: every decoder
// validates it (Validate) and returns an error, never panics.
type FinalState struct {
	Vocab    *soft.Vocab
	Beliefs  *soft.Dense // L×K beliefs of the last successful call
	Evidence *soft.Dense // L×K evidence that call was given
	Tokens   []int32     // identities at that call, the MASK id where uncommitted
	Fixed    []bool      // fixed positions (length L, or nil for none)
}

// BeliefState returns the end state of beliefs computed without evidence
// (the prior marginals of a model, or beliefs a caller obtained elsewhere
// and wants decoded as if nothing had been observed): all-MASK evidence,
// nothing committed, nothing fixed.
func BeliefState(v *soft.Vocab, bel *soft.Dense) (*FinalState, error) {
	if v == nil || bel == nil {
		return nil, errors.New("decode.BeliefState: nil vocabulary or beliefs")
	}
	if v.Mask() == soft.NoToken || bel.K != v.Size() {
		return nil, fmt.Errorf("decode.BeliefState: beliefs over %d states for a vocabulary of %d (with MASK)", bel.K, v.Size())
	}
	x := make([]int32, bel.L)
	for i := range x {
		x[i] = v.Mask()
	}
	return &FinalState{Vocab: v, Beliefs: bel, Evidence: soft.AllMask(bel.L, bel.K, v.Mask()), Tokens: x}, nil
}

// Len returns the sequence length.
func (s *FinalState) Len() int { return s.Beliefs.L }

// Validate checks the shapes and ids of s and that every evidence entry is
// finite and non-negative (not the values of the beliefs: a decoder that
// reads them checks the rows it reads).
func (s *FinalState) Validate() error {
	switch {
	case s == nil:
		return errors.New("nil final state")
	case s.Vocab == nil || s.Beliefs == nil || s.Evidence == nil:
		return errors.New("final state without vocabulary, beliefs or evidence")
	case s.Vocab.Mask() == soft.NoToken:
		return errors.New("final state: vocabulary has no MASK token")
	}
	L, K := s.Beliefs.L, s.Vocab.Size()
	if L < 1 || s.Beliefs.K != K || s.Evidence.L != L || s.Evidence.K != K || len(s.Beliefs.Data) != L*K || len(s.Evidence.Data) != L*K {
		return fmt.Errorf("final state: beliefs %d×%d, evidence %d×%d, vocabulary %d", s.Beliefs.L, s.Beliefs.K, s.Evidence.L, s.Evidence.K, K)
	}
	if len(s.Tokens) != L || (s.Fixed != nil && len(s.Fixed) != L) {
		return fmt.Errorf("final state: %d tokens and %d fixed flags for length %d", len(s.Tokens), len(s.Fixed), L)
	}
	for i, id := range s.Tokens {
		if id < 0 || int(id) >= K {
			return fmt.Errorf("final state: token %d at position %d outside [0, %d)", id, i, K)
		}
		if s.fixed(i) && id == s.Vocab.Mask() {
			return fmt.Errorf("final state: fixed position %d has no token", i)
		}
	}
	for j, e := range s.Evidence.Data {
		if !(e >= 0 && e <= math.MaxFloat32) {
			return fmt.Errorf("final state: evidence %v at position %d, id %d is not a finite non-negative weight", e, j/K, j%K)
		}
	}
	return nil
}

// checkLogProb returns an error for a scorer value that is no
// log-probability, NaN or +Inf (−Inf is probability zero); where names the
// sequence scored.
func checkLogProb(lp float64, where string) error {
	if math.IsNaN(lp) || math.IsInf(lp, 1) {
		return fmt.Errorf("scorer returned %v for %s: not a log-probability", lp, where)
	}
	return nil
}

func (s *FinalState) fixed(i int) bool { return s.Fixed != nil && s.Fixed[i] }

// committed reports whether position i had an identity at the final call.
func (s *FinalState) committed(i int) bool { return s.Tokens[i] != s.Vocab.Mask() }

// checkDecoded checks a decoder's output: length L, token ids, fixed
// positions unchanged.
func (s *FinalState) checkDecoded(x []int32) error {
	if len(x) != s.Len() {
		return fmt.Errorf("decoded %d tokens for length %d", len(x), s.Len())
	}
	for i, id := range x {
		if id < 0 || int(id) >= s.Vocab.Size() || id == s.Vocab.Mask() {
			return fmt.Errorf("decoded id %d at position %d is not a token", id, i)
		}
		if s.fixed(i) && id != s.Tokens[i] {
			return fmt.Errorf("decoded token %d at fixed position %d (fixed %d)", id, i, s.Tokens[i])
		}
	}
	return nil
}

// logLik returns Σ_i log ℓ_i(x_i) of the evidence over the positions
// uncommitted at the end state (−Inf where a row excludes x_i).
func (s *FinalState) logLik(x []int32) float64 {
	m := s.Vocab.Mask()
	var l float64
	for i, v := range x {
		if s.committed(i) {
			continue
		}
		e := s.Evidence.Row(i)
		l += math.Log(float64(e[v]) + float64(e[m]))
	}
	return l
}

// FinalDecoder chooses a whole sequence from the end state of a run, scoring
// candidates jointly with sc: Beam, MAP, Viterbi, ImportanceResample, MBR.
// Committed and fixed positions of the state keep their tokens; the others
// are chosen jointly. Each decoder's doc says which distribution it targets
// (see FinalState). rng is the random stream of decoders that draw; Name is
// the decoder's name in tables. Decode must not modify s.
//
// Pass one as Options.Final to decode inside Generate, or call it on
// Result.Final to compare several decoders on one end state.
type FinalDecoder interface {
	Name() string
	Decode(ctx context.Context, s *FinalState, sc JointScorer, rng *rand.Rand) (Decoded, error)
}

// Decoded is the outcome of a final decoder: the chosen sequence, its score
// (the decoder's objective, documented per decoder) and the number of
// joint-scorer evaluations it used.
type Decoded struct {
	Tokens []int32
	Score  float64
	Evals  int
}

// Lattice holds the candidates of a final joint decode: for each position
// the top-k tokens of the beliefs (a soft.Sparse of k entries per row, the
// form a large-vocabulary model hands over), with their log-beliefs and the
// log-likelihood of the evidence of the end state at each (nil: no
// evidence). Candidates of zero belief are dropped, so position i has
// N[i] ≤ k candidates, best first (ties to the smaller id).
type Lattice struct {
	L, Kmax int
	IDs     []int32   // L×Kmax, candidate j of position i at i*Kmax+j
	LogB    []float64 // log-belief of each candidate
	LogL    []float64 // log ℓ_i of each candidate (nil: all 0)
	N       []int     // number of candidates per position
}

// NewLattice returns the top-k lattice of bel (rows are distributions, the
// MASK column carries no mass). It returns an error if bel is nil or empty,
// k < 1, or a row has no positive entry.
func NewLattice(bel *soft.Dense, k int) (*Lattice, error) {
	if bel == nil || bel.L < 1 || bel.K < 1 || len(bel.Data) != bel.L*bel.K {
		return nil, errors.New("decode.NewLattice: nil or empty beliefs")
	}
	if k < 1 {
		return nil, fmt.Errorf("decode.NewLattice: k=%d < 1", k)
	}
	return newLattice(bel, k, nil, soft.NoToken)
}

// Lattice returns the top-k lattice of s: at a committed or fixed position
// the one candidate is its token (with log-belief 0), elsewhere the top-k
// beliefs, each with the log-likelihood of its position's evidence.
func (s *FinalState) Lattice(k int) (*Lattice, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, fmt.Errorf("decode: lattice k=%d < 1", k)
	}
	lat, err := newLattice(s.Beliefs, k, s.Tokens, s.Vocab.Mask())
	if err != nil {
		return nil, err
	}
	m := s.Vocab.Mask()
	for i := 0; i < lat.L; i++ {
		if s.committed(i) {
			continue // the token's own evidence: ℓ = 1
		}
		e := s.Evidence.Row(i)
		for j := 0; j < lat.N[i]; j++ {
			if l := math.Log(float64(e[lat.IDs[i*lat.Kmax+j]]) + float64(e[m])); l != 0 {
				if lat.LogL == nil {
					lat.LogL = make([]float64, len(lat.LogB))
				}
				lat.LogL[i*lat.Kmax+j] = l
			}
		}
	}
	return lat, nil
}

// newLattice builds the lattice of bel, pinning positions whose pin entry is
// not mask (pin nil: none).
func newLattice(bel *soft.Dense, k int, pin []int32, mask int32) (*Lattice, error) {
	k = min(k, bel.K)
	sp := soft.NewSparse(bel.L, bel.K, k)
	soft.SparseTopK(sp, bel, 1)
	lat := &Lattice{L: bel.L, Kmax: k, IDs: sp.IDs, LogB: make([]float64, bel.L*k), N: make([]int, bel.L)}
	for i := 0; i < bel.L; i++ {
		if pin != nil && pin[i] != mask {
			lat.IDs[i*k], lat.LogB[i*k], lat.N[i] = pin[i], 0, 1
			continue
		}
		n := 0
		for j, v := range sp.Probs[i*k : (i+1)*k] {
			if v > 0 {
				lat.LogB[i*k+j] = math.Log(float64(v))
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("decode: lattice row %d has no positive belief", i)
		}
		lat.N[i] = n
	}
	return lat, nil
}

// Cand returns candidate j of position i and its log-belief.
func (l *Lattice) Cand(i, j int) (int32, float64) { return l.IDs[i*l.Kmax+j], l.LogB[i*l.Kmax+j] }

// logLik returns log ℓ of candidate j of position i.
func (l *Lattice) logLik(i, j int) float64 {
	if l.LogL == nil {
		return 0
	}
	return l.LogL[i*l.Kmax+j]
}

// scores returns Σ_i log-belief and Σ_i log-likelihood of x's candidates
// (x must lie on the lattice; tokens off it score −Inf).
func (l *Lattice) scores(x []int32) (bel, lik float64) {
	for i, v := range x {
		found := false
		for j := 0; j < l.N[i]; j++ {
			if id, lb := l.Cand(i, j); id == v {
				bel += lb
				lik += l.logLik(i, j)
				found = true
				break
			}
		}
		if !found {
			return math.Inf(-1), math.Inf(-1)
		}
	}
	return bel, lik
}
