package decode

import (
	"fmt"
	"math"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// mutVocab is the vocabulary of n tokens t0 … t(n−1) and MASK (id n).
func mutVocab(t testing.TB, n int) *soft.Vocab {
	t.Helper()
	toks := make([]string, n+1)
	for i := range n {
		toks[i] = fmt.Sprintf("t%d", i)
	}
	toks[n] = "[MASK]"
	v, err := soft.NewVocab(toks, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mutState is the end state over n tokens whose beliefs are the given rows
// (each of n+1 entries, MASK last), with all-MASK evidence and nothing
// committed.
func mutState(t testing.TB, n int, rows ...[]float32) *FinalState {
	t.Helper()
	v := mutVocab(t, n)
	bel := soft.NewDense(len(rows), n+1)
	for i, r := range rows {
		copy(bel.Row(i), r)
	}
	s, err := BeliefState(v, bel)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFinalStateValidateIDs: token ids are valid in [0, K) (K = 3 with
// MASK): 0 is a token, K is not, −1 is not; a fixed position must hold a
// token (not MASK).
func TestFinalStateValidateIDs(t *testing.T) {
	s := mutState(t, 2, []float32{0.5, 0.5, 0}, []float32{0.5, 0.5, 0})
	m := s.Vocab.Mask()
	for _, c := range []struct {
		tok   []int32
		fixed []bool
		ok    bool
	}{
		{[]int32{0, m}, nil, true},
		{[]int32{m, 1}, nil, true},
		{[]int32{3, m}, nil, false},
		{[]int32{-1, m}, nil, false},
		{[]int32{1, m}, []bool{true, false}, true},
		{[]int32{m, m}, []bool{true, false}, false},
	} {
		s.Tokens, s.Fixed = c.tok, c.fixed
		if err := s.Validate(); (err == nil) != c.ok {
			t.Fatalf("tokens %v fixed %v: err %v, want ok %v", c.tok, c.fixed, err, c.ok)
		}
	}
}

// TestCheckDecodedRules: a decoded sequence has length L, token ids in
// [0, K) other than MASK (K = 3, MASK 2), and the fixed position 0 keeps
// its token 1.
func TestCheckDecodedRules(t *testing.T) {
	s := mutState(t, 2, []float32{0.5, 0.5, 0}, []float32{0.5, 0.5, 0})
	s.Tokens, s.Fixed = []int32{1, s.Vocab.Mask()}, []bool{true, false}
	for _, c := range []struct {
		x  []int32
		ok bool
	}{
		{[]int32{1, 0}, true},
		{[]int32{1, 1}, true},
		{[]int32{0, 0}, false}, // fixed position changed
		{[]int32{1, 2}, false}, // MASK
		{[]int32{1, 3}, false}, // id K
		{[]int32{1, -1}, false},
		{[]int32{1}, false},
	} {
		if err := s.checkDecoded(c.x); (err == nil) != c.ok {
			t.Fatalf("%v: err %v, want ok %v", c.x, err, c.ok)
		}
	}
}

// TestNewLatticeOneState: beliefs over a single state (K = 1) are a valid
// lattice, one candidate per position with log-belief 0.
func TestNewLatticeOneState(t *testing.T) {
	bel := soft.NewDense(2, 1)
	bel.Data[0], bel.Data[1] = 1, 1
	lat, err := NewLattice(bel, 3)
	if err != nil {
		t.Fatal(err)
	}
	if lat.Kmax != 1 || lat.N[0] != 1 || lat.N[1] != 1 || lat.IDs[0] != 0 || lat.IDs[1] != 0 || lat.LogB[0] != 0 {
		t.Fatalf("lattice %+v", lat)
	}
}

// TestLatticeScoresOffLattice: scores sums the log-beliefs and
// log-likelihoods of x's candidates and gives −Inf to a token that is not
// among a position's N[i] candidates, even where the slot after the last
// candidate holds that id (a full row: the next row's first slot; a short
// row: the unused slot, id 0).
func TestLatticeScoresOffLattice(t *testing.T) {
	full := mkLattice([][]int32{{0, 1}, {2, 3}}, [][]float64{{-0.1, -0.2}, {-0.3, -0.4}}, [][]float64{{-1, -2}, {-3, -4}})
	if b, l := full.scores([]int32{1, 3}); !(math.Abs(b+0.6) <= 1e-12) || l != -6 {
		t.Fatalf("scores(1 3) = %v, %v, want −0.6, −6", b, l)
	}
	if b, l := full.scores([]int32{2, 2}); !math.IsInf(b, -1) || !math.IsInf(l, -1) {
		t.Fatalf("scores(2 2) = %v, %v, want −Inf (2 is not a candidate of position 0)", b, l)
	}
	short := mkLattice([][]int32{{0, 1}, {2}}, nil, nil) // slot (1, 1) holds id 0
	if b, _ := short.scores([]int32{0, 0}); !math.IsInf(b, -1) {
		t.Fatalf("scores(0 0) = %v, want −Inf", b)
	}
}
