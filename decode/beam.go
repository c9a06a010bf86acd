package decode

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Beam is a coordinate-wise beam search over the top-K lattice of the end
// state (FinalState.Lattice), scored by a JointScorer, which scores whole
// sequences only: every beam entry is a full sequence, starting from the
// top-1 candidates; sweeping positions left to right, each entry is
// expanded by every candidate of the position, all expansions are scored,
// and the Width best distinct ones are kept (ties: higher belief score, then
// the lexicographically smaller sequence). Entries of probability zero are
// ranked among themselves by their belief score, so the search can walk
// through invalid sequences; but the belief score says nothing about where
// the valid ones are, so when every valid candidate differs from the
// top-1 sequence at several positions and the beam is narrower than the
// invalid prefixes on the way, the result is the best-belief invalid
// sequence with Score −Inf (TestBeamZeroProbabilityPlateau). A scorer that
// is finite off the support (a model's pseudo-likelihood) guides the same
// search; decode.MAP is exact over the lattice.
//
// Its objective, Decoded.Score, is
// log p(x) + Σ_i log ℓ_i(x_i) + BeliefWeight·Σ_i log b_i(x_i), ℓ the
// evidence of the end state: with BeliefWeight 0 it seeks the mode of the
// posterior π of FinalState among the candidates (committed positions
// pinned). It is a heuristic: never above the exact MAP.
// Cost: at most L·Width·K scorer calls (Decoded.Evals). Width 0 means 4, K 0
// means 4; BeliefWeight must be finite.
type Beam struct {
	Width, K     int
	BeliefWeight float64
}

// Name implements FinalDecoder.
func (Beam) Name() string { return "beam" }

// Decode implements FinalDecoder; rng is not used.
func (b Beam) Decode(ctx context.Context, s *FinalState, sc JointScorer, _ *rand.Rand) (Decoded, error) {
	if b.Width < 0 || b.K < 0 {
		return Decoded{}, fmt.Errorf("decode.Beam: width %d or K %d < 0", b.Width, b.K)
	}
	if math.IsNaN(b.BeliefWeight) || math.IsInf(b.BeliefWeight, 0) {
		return Decoded{}, fmt.Errorf("decode.Beam: BeliefWeight %v is not finite", b.BeliefWeight)
	}
	lat, err := s.Lattice(orDefault(b.K, 4))
	if err != nil {
		return Decoded{}, fmt.Errorf("decode.Beam: %w", err)
	}
	return beamSearch(ctx, sc, lat, orDefault(b.Width, 4), b.BeliefWeight)
}

// orDefault returns n, or def when n is 0.
func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
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

func beamSearch(ctx context.Context, sc JointScorer, lat *Lattice, B int, w float64) (Decoded, error) {
	if sc == nil {
		return Decoded{}, errNoScorer
	}
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
		if err := checkLogProb(lp, fmt.Sprint(x)); err != nil {
			return beamEntry{}, fmt.Errorf("decode.Beam: %w", err)
		}
		bel, lik := lat.scores(x)
		if !math.IsInf(lp, -1) && lik != 0 {
			lp += lik // the evidence of the end state: π's log-density
		}
		return beamEntry{x: x, joint: lp, bel: bel}, nil
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
