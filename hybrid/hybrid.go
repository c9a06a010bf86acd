// Package hybrid holds the hybrid state of softdiff's samplers: per position a
// continuous part, the log-evidence λ_i ∈ R^K (and optionally a point in an
// embedding space), kept apart from a discrete part, the committed identity
// (a token id or soft.NoToken).
//
// Evidence versus belief. λ_i is evidence: what has been observed about
// position i, a log-likelihood over tokens. Its normalised form softmax(λ_i)
// is handed to a denoiser as Pearl virtual evidence; the denoiser returns the
// belief, the posterior marginal given all the evidence and the model's prior.
// A committed position is handed over as hard (one-hot) evidence, whatever its
// λ; a position that has received no evidence at all is handed over as a
// one-hot MASK row (no evidence), so that learned models and oracles see the
// canonical "nothing observed" input.
//
// The invariant of the state: continuous refinement (Refine, AddEvidence,
// SetEvidence) never changes a committed identity. Identity changes only
// through Commit, Release, or Jump (a kernel move of a committed token).
package hybrid

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

// Denoiser is the model a hybrid state reads beliefs through; it has the
// method set of decode.Denoiser (declared here too so that this package does
// not import its consumer).
type Denoiser interface {
	Denoise(dst, evidence *soft.Dense, t float64) error
}

// State is the hybrid state of L positions over a vocabulary of K states, one
// of which (Mask) is the MASK state. λ over the MASK column is never used:
// evidence is a likelihood over tokens, and MASK is not a token.
//
// A State is not safe for concurrent mutation; distinct positions may be
// refined concurrently.
type State struct {
	L, K int
	mask int32

	// Lambda is the L×K row-major log-evidence. Entries of the MASK column are
	// ignored. Callers may read it; write through the methods so the
	// "has evidence" flags stay right.
	Lambda []float32
	ident  []int32 // committed identity or soft.NoToken
	hasEv  []bool  // λ_i has received evidence

	// Emb is the optional L×D embedding-space state (nil unless EnableEmbedding).
	Emb []float32
	D   int
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
	s := &State{L: L, K: K, mask: mask,
		Lambda: make([]float32, L*K),
		ident:  make([]int32, L),
		hasEv:  make([]bool, L),
	}
	for i := range s.ident {
		s.ident[i] = soft.NoToken
	}
	return s
}

// Mask returns the MASK id.
func (s *State) Mask() int32 { return s.mask }

// Reset clears all evidence, identities and the embedding state.
func (s *State) Reset() {
	clear(s.Lambda)
	clear(s.hasEv)
	clear(s.Emb)
	for i := range s.ident {
		s.ident[i] = soft.NoToken
	}
}

// Row returns λ_i (a view).
func (s *State) Row(i int) []float32 { return s.Lambda[i*s.K : (i+1)*s.K] }

// Identity returns the committed token of position i, or soft.NoToken.
func (s *State) Identity(i int) int32 { return s.ident[i] }

// Committed reports whether position i has an identity.
func (s *State) Committed(i int) bool { return s.ident[i] != soft.NoToken }

// NumCommitted returns the number of committed positions.
func (s *State) NumCommitted() int {
	n := 0
	for _, id := range s.ident {
		if id != soft.NoToken {
			n++
		}
	}
	return n
}

// HasEvidence reports whether λ_i has received any evidence.
func (s *State) HasEvidence(i int) bool { return s.hasEv[i] }

// Tokens copies the identities into dst (soft.NoToken where uncommitted). It
// panics if len(dst) != L.
func (s *State) Tokens(dst []int32) {
	if len(dst) != s.L {
		panic(fmt.Sprintf("hybrid.Tokens: len(dst)=%d, want L=%d", len(dst), s.L))
	}
	copy(dst, s.ident)
}

// Refine adds scale·delta to λ_i: continuous refinement. It never changes the
// identity of position i. It panics if len(delta) != K.
func (s *State) Refine(i int, delta []float32, scale float32) {
	if len(delta) != s.K {
		panic(fmt.Sprintf("hybrid.Refine: len(delta)=%d, want K=%d", len(delta), s.K))
	}
	row := s.Row(i)
	for v, d := range delta {
		row[v] += scale * d
	}
	row[s.mask] = 0
	s.hasEv[i] = true
}

// SetEvidence overwrites λ_i with lambda (copied). Identity unchanged. It
// panics if len(lambda) != K.
func (s *State) SetEvidence(i int, lambda []float32) {
	if len(lambda) != s.K {
		panic(fmt.Sprintf("hybrid.SetEvidence: len=%d, want K=%d", len(lambda), s.K))
	}
	row := s.Row(i)
	copy(row, lambda)
	row[s.mask] = 0
	s.hasEv[i] = true
}

// ClearEvidence sets λ_i back to no evidence. Identity unchanged.
func (s *State) ClearEvidence(i int) {
	clear(s.Row(i))
	s.hasEv[i] = false
}

// Commit gives position i the identity tok. It panics if tok is not a token
// id in [0, K) other than MASK.
func (s *State) Commit(i int, tok int32) {
	if tok < 0 || int(tok) >= s.K || tok == s.mask {
		panic(fmt.Sprintf("hybrid.Commit: token %d at position %d is not a token id", tok, i))
	}
	s.ident[i] = tok
}

// Release removes the identity of position i (re-masks it); its evidence λ_i
// is kept, so a released position still carries what was observed.
func (s *State) Release(i int) { s.ident[i] = soft.NoToken }

// Jump moves the identity of a committed position i to tok (a kernel move).
// It panics if position i is not committed or tok is not a token id.
func (s *State) Jump(i int, tok int32) {
	if s.ident[i] == soft.NoToken {
		panic(fmt.Sprintf("hybrid.Jump: position %d is not committed", i))
	}
	s.Commit(i, tok)
}

// EvidenceRow writes the evidence row of position i into dst (length K):
// one-hot at the identity if committed; one-hot MASK if no evidence;
// otherwise softmax of λ_i over the non-MASK states, MASK mass 0, so that the
// virtual-evidence likelihood of token v is exactly proportional to exp(λ_i(v)).
// It returns an error if λ_i is not finite.
func (s *State) EvidenceRow(dst []float32, i int) error {
	if len(dst) != s.K {
		panic(fmt.Sprintf("hybrid.EvidenceRow: len(dst)=%d, want K=%d", len(dst), s.K))
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
// read a committed position's belief given everything but its identity.
func (s *State) SoftEvidenceRow(dst []float32, i int) error {
	if len(dst) != s.K {
		panic(fmt.Sprintf("hybrid.SoftEvidenceRow: len(dst)=%d, want K=%d", len(dst), s.K))
	}
	if !s.hasEv[i] {
		clear(dst)
		dst[s.mask] = 1
		return nil
	}
	row := s.Row(i)
	m := int(s.mask)
	lo, hi := row[:m], row[m+1:] // the token columns
	mx := float32(math.Inf(-1))
	for _, seg := range [2][]float32{lo, hi} {
		for _, x := range seg {
			if !(x-x == 0) { // NaN or ±Inf
				return s.badLambda(i)
			}
			mx = max(mx, x)
		}
	}
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

// Evidence writes the L×K evidence of the whole state into dst (see
// EvidenceRow). It panics if dst is not L×K.
func (s *State) Evidence(dst *soft.Dense) error {
	if dst.L != s.L || dst.K != s.K {
		panic(fmt.Sprintf("hybrid.Evidence: dst is %d×%d, want %d×%d", dst.L, dst.K, s.L, s.K))
	}
	for i := 0; i < s.L; i++ {
		if err := s.EvidenceRow(dst.Row(i), i); err != nil {
			return err
		}
	}
	return nil
}

// Beliefs writes the evidence into ev and the denoiser's beliefs given it
// into dst (both L×K, caller-owned): one function evaluation.
func (s *State) Beliefs(dst, ev *soft.Dense, den Denoiser, t float64) error {
	if err := s.Evidence(ev); err != nil {
		return err
	}
	return den.Denoise(dst, ev, t)
}

// EnableEmbedding allocates the optional L×D embedding-space state (zeros).
func (s *State) EnableEmbedding(D int) {
	if D < 1 {
		panic(fmt.Sprintf("hybrid.EnableEmbedding: D=%d", D))
	}
	s.D = D
	s.Emb = make([]float32, s.L*D)
}

// EmbeddingRow returns the embedding state of position i (a view); it panics
// if the embedding state is not enabled.
func (s *State) EmbeddingRow(i int) []float32 {
	if s.Emb == nil {
		panic("hybrid.EmbeddingRow: embedding state not enabled")
	}
	return s.Emb[i*s.D : (i+1)*s.D]
}

// ProjectEmbedding sets the embedding state of every position to the expected
// embedding Σ_v e_i(v)·emb[v] of its evidence row e_i (committed positions get
// their token's embedding). emb is K×D row-major; scratch is a K-vector. It
// panics on shape mismatch or if the embedding state is not enabled.
func (s *State) ProjectEmbedding(emb, scratch []float32) error {
	if s.Emb == nil {
		panic("hybrid.ProjectEmbedding: embedding state not enabled")
	}
	for i := 0; i < s.L; i++ {
		if err := s.EvidenceRow(scratch, i); err != nil {
			return err
		}
		soft.ExpectedEmbedding(s.EmbeddingRow(i), scratch, emb)
	}
	return nil
}

// MarkEvidence records that λ_i holds evidence after a caller wrote Lambda
// directly (a bulk update); identity unchanged.
func (s *State) MarkEvidence(i int) {
	s.Row(i)[s.mask] = 0
	s.hasEv[i] = true
}
