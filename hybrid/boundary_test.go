package hybrid_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softdiff/softdiff/hybrid"
)

// The shape and token checks at their boundaries: L = 0 and the last token
// id K−1 are valid; mask = K and token K are not.
func TestShapeAndTokenBoundaries(t *testing.T) {
	assert.NotPanics(t, func() { hybrid.New(0, 3, 2) }, "an empty state is valid")
	assert.Panics(t, func() { hybrid.New(-1, 3, 2) })
	assert.Panics(t, func() { hybrid.New(2, 1, 0) }, "K < 2")
	assert.NotPanics(t, func() { hybrid.New(2, 3, 2) }, "mask K−1 is inside [0, K)")
	assert.Panics(t, func() { hybrid.New(2, 3, 3) }, "mask K is outside [0, K)")
	assert.Panics(t, func() { hybrid.New(2, 3, -1) })

	s := hybrid.New(2, 4, 0) // MASK 0, tokens 1, 2, 3
	assert.NotPanics(t, func() { s.Commit(0, 3) }, "K−1 is a token id")
	assert.Equal(t, int32(3), s.Identity(0))
	assert.Panics(t, func() { s.Commit(1, 4) }, "K is not a token id")
	assert.Panics(t, func() { s.Commit(1, 0) }, "MASK is not a token id")
	assert.Panics(t, func() { s.Commit(1, -1) })
}

// The error names the first non-finite entry, not an earlier finite one:
// row (MASK 0) = [0, 0.5, −2, +Inf, 0] holds finite non-zero entries before
// the +Inf at token 3.
func TestEvidenceErrorNamesTheBadToken(t *testing.T) {
	s := hybrid.New(1, 5, 0)
	copy(s.Row(0), []float32{0, 0.5, -2, float32(math.Inf(1)), 0})
	s.MarkEvidence(0)
	err := s.EvidenceRow(make([]float32, 5), 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "position 0, token 3 is +Inf")
	err = s.SoftEvidenceRow(make([]float32, 5), 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "token 3 is +Inf")
}
