// Package hybrid holds the state of softdiff's soft and hybrid samplers:
// per position a continuous part, the log-evidence λ_i over the tokens,
// kept apart from a discrete part, the committed identity (a token id or
// soft.NoToken). decode.SoftSL and decode.Hybrid keep one State per run; a
// soft sampler written outside package decode can use it the same way.
//
// Evidence versus belief. λ_i is evidence: what has been observed about
// position i, a log-likelihood over tokens. Its normalised form softmax(λ_i)
// is handed to a denoiser as Pearl virtual evidence (EvidenceRow writes the
// row); the denoiser returns the belief, the posterior marginal given all
// the evidence and the model's prior. A committed position is handed over as
// hard (one-hot) evidence, whatever its λ; a position that has received no
// evidence at all is handed over as a one-hot MASK row (no evidence), so
// that learned models and oracles see the canonical "nothing observed"
// input.
//
// The invariant of the state: writing evidence (Row, then MarkEvidence)
// never changes a committed identity. Identity changes only through Commit,
// Release, or Jump (a move of a committed token).
//
// Errors and panics: the state holds the caller's own buffers. New panics
// on a bad shape, Commit and Jump on an id that is not a token (the
// caller's mistake); non-finite log-evidence, which a sampler's arithmetic
// can produce, is an error of EvidenceRow.
package hybrid

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

// State is the hybrid state of L positions over a vocabulary of K states, one
// of which is the MASK state. λ over the MASK column is never used:
// evidence is a likelihood over tokens, and MASK is not a token.
//
// A State is not safe for concurrent mutation; distinct positions may be
// written concurrently.
type State struct {
	l, k  int
	mask  int32
	lam   []float32 // L×K log-evidence
	ident []int32   // committed identity or soft.NoToken
	hasEv []bool    // λ_i has received evidence
}

// New returns a state of L positions over K states with no evidence and
// nothing committed. mask is the MASK id; it panics if mask is outside [0, K)
// or L < 0 or K < 2.
func New(L, K int, mask int32) *State {
	if L < 0 || K < 2 {
		panic(fmt.Sprintf("hybrid.New: bad shape L=%d K=%d", L, K))
	}
	if mask < 0 || int(mask) >= K {
		panic(fmt.Sprintf("hybrid.New: mask id %d outside [0, %d)", mask, K))
	}
	s := &State{l: L, k: K, mask: mask,
		lam:   make([]float32, L*K),
		ident: make([]int32, L),
		hasEv: make([]bool, L),
	}
	for i := range s.ident {
		s.ident[i] = soft.NoToken
	}
	return s
}

// Row returns λ_i, K entries (a view). A sampler adds its observations to
// it in place, then calls MarkEvidence(i); the MASK entry is ignored.
func (s *State) Row(i int) []float32 { return s.lam[i*s.k : (i+1)*s.k] }

// MarkEvidence records that λ_i holds evidence after the caller wrote Row(i);
// identity unchanged.
func (s *State) MarkEvidence(i int) {
	s.Row(i)[s.mask] = 0
	s.hasEv[i] = true
}

// HasEvidence reports whether λ_i has received any evidence.
func (s *State) HasEvidence(i int) bool { return s.hasEv[i] }

// Identity returns the committed token of position i, or soft.NoToken.
func (s *State) Identity(i int) int32 { return s.ident[i] }

// Commit gives position i the identity tok. It panics if tok is not a token
// id in [0, K) other than MASK.
func (s *State) Commit(i int, tok int32) {
	if tok < 0 || int(tok) >= s.k || tok == s.mask {
		panic(fmt.Sprintf("hybrid.Commit: token %d at position %d is not a token id", tok, i))
	}
	s.ident[i] = tok
}

// Release removes the identity of position i (re-masks it); its evidence λ_i
// is kept, so a released position still carries what was observed.
func (s *State) Release(i int) { s.ident[i] = soft.NoToken }

// Jump moves the identity of a committed position i to tok (a corrector
// move). It panics if position i is not committed or tok is not a token id.
func (s *State) Jump(i int, tok int32) {
	if s.ident[i] == soft.NoToken {
		panic(fmt.Sprintf("hybrid.Jump: position %d is not committed", i))
	}
	s.Commit(i, tok)
}

// Localisation returns max_v softmax(λ_i)(v) over the tokens, the mass its
// evidence alone puts on its most likely token (1/(K−1) with no evidence):
// computed as 1/Σ_v exp(λ_v − max λ).
func (s *State) Localisation(i int) float64 {
	row := s.Row(i)
	mx := float32(math.Inf(-1))
	for v, x := range row {
		if int32(v) != s.mask && x > mx {
			mx = x
		}
	}
	var z float64
	for v, x := range row {
		if int32(v) != s.mask {
			z += math.Exp(float64(x - mx))
		}
	}
	return 1 / z
}

// EvidenceRow writes the evidence row of position i into dst (length K):
// one-hot at the identity if committed; one-hot MASK if no evidence;
// otherwise softmax of λ_i over the non-MASK states, MASK mass 0, so that the
// virtual-evidence likelihood of token v is exactly proportional to exp(λ_i(v)).
// It returns an error if λ_i is not finite, and panics if len(dst) != K.
func (s *State) EvidenceRow(dst []float32, i int) error {
	if len(dst) != s.k {
		panic(fmt.Sprintf("hybrid.EvidenceRow: len(dst)=%d, want K=%d", len(dst), s.k))
	}
	if id := s.ident[i]; id != soft.NoToken {
		clear(dst)
		dst[id] = 1
		return nil
	}
	return s.SoftEvidenceRow(dst, i)
}

// SoftEvidenceRow writes the continuous part of position i's evidence into
// dst, ignoring its identity: one-hot MASK if λ_i holds no evidence,
// otherwise softmax of λ_i over the non-MASK states. Correctors use it to
// read a committed position's belief given everything but its identity. It
// returns an error if λ_i is not finite, and panics if len(dst) != K.
func (s *State) SoftEvidenceRow(dst []float32, i int) error {
	if len(dst) != s.k {
		panic(fmt.Sprintf("hybrid.SoftEvidenceRow: len(dst)=%d, want K=%d", len(dst), s.k))
	}
	if !s.hasEv[i] {
		clear(dst)
		dst[s.mask] = 1
		return nil
	}
	row := s.Row(i)
	m := int(s.mask)
	lo, hi := row[:m], row[m+1:]  // the token columns
	m0, ok0 := soft.MaxFinite(lo) // one fused scan: finiteness and maximum
	m1, ok1 := soft.MaxFinite(hi)
	if !ok0 || !ok1 {
		return s.badLambda(i)
	}
	mx := max(m0, m1)
	sum := soft.ExpShift(dst[:m], lo, mx) + soft.ExpShift(dst[m+1:], hi, mx)
	dst[m] = 0
	soft.Scale(dst, dst, float32(1/sum))
	return nil
}

// badLambda returns the error for the first non-finite entry of λ_i.
func (s *State) badLambda(i int) error {
	for v, x := range s.Row(i) {
		if int32(v) != s.mask && !(x-x == 0) {
			return fmt.Errorf("hybrid: log-evidence of position %d, token %d is %v", i, v, x)
		}
	}
	return nil
}
