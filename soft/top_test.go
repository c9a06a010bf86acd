package soft

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// A hand example: K = 6, MASK 5, listed {2: 0.5, 0: 0.25}, one unused
// slot, residual 0.25 over the 3 tokens 1, 3, 4 (not listed, not MASK):
// each 0.25/3 = 0.083333336 (float32).
func TestTopRowExpandByHand(t *testing.T) {
	r := TopRow{K: 6, Mask: 5, IDs: []int32{2, 0, -1}, Probs: []float32{0.5, 0.25, 0}, Resid: 0.25}
	third := float32(0.25 / 3.0)
	want := []float32{0.25, third, 0.5, third, third, 0}
	got := make([]float32, 6)
	r.Expand(got)
	if !slices.Equal(got, want) {
		t.Fatalf("Expand = %v, want %v", got, want)
	}
	if r.Rest() != 3 || r.Share() != third {
		t.Fatalf("Rest %d Share %v, want 3, %v", r.Rest(), r.Share(), third)
	}
	if id, gap := r.Margin(); id != 2 || gap != 0.25 {
		t.Fatalf("Margin = %d, %v, want 2, 0.25", id, gap)
	}
	if r.Prob(4) != third || r.Prob(5) != 0 || r.Prob(0) != 0.25 {
		t.Fatalf("Prob: %v %v %v", r.Prob(4), r.Prob(5), r.Prob(0))
	}
	if err := r.Check(nil); err != nil {
		t.Fatal(err)
	}
	// The share is the argmax when it beats the listed tokens: listed
	// {3: 0.1}, residual 0.9 over tokens 0, 1, 2, 4 (0.225 each): argmax 0
	// (smallest shared id), gap 0 (a tie among the shared tokens).
	r2 := TopRow{K: 6, Mask: 5, IDs: []int32{3}, Probs: []float32{0.1}, Resid: 0.9}
	if id, gap := r2.Margin(); id != 0 || gap != 0 {
		t.Fatalf("Margin = %d, %v, want 0, 0", id, gap)
	}
}

// randomTopRow draws a row with some ties: listed probabilities from a few
// values, sometimes equal to the share.
func randomTopRow(rng *rand.Rand, K, k int, mask int32) TopRow {
	r := TopRow{K: K, Mask: mask, IDs: make([]int32, k), Probs: make([]float32, k)}
	perm := rng.Perm(K)
	n := 0
	for _, v := range perm {
		if n == k {
			break
		}
		if int32(v) == mask {
			continue
		}
		r.IDs[n] = int32(v)
		n++
	}
	used := 1 + rng.IntN(k)
	for j := used; j < k; j++ {
		r.IDs[j] = -1
	}
	vals := []float32{0.5, 0.25, 0.125, 0.0625, 0.03125}
	var sum float64
	for j := 0; j < used; j++ {
		p := vals[rng.IntN(len(vals))] / float32(used)
		if sum+float64(p) > 1 {
			p = 0
		}
		r.Probs[j] = p
		sum += float64(p)
	}
	r.Resid = float32(1 - sum)
	switch rng.IntN(4) {
	case 0: // make the share equal to a listed probability when possible
		if rest := r.Rest(); rest > 0 && r.Probs[0] > 0 {
			target := float64(r.Probs[0]) * float64(rest)
			if target+sum-float64(r.Probs[0])*0 <= 1+RowSumTol && target <= 1 {
				r.Resid = float32(target)
			}
		}
	case 1:
		r.Resid = 0
	}
	return r
}

// Argmax, Margin and Prob equal those of the expanded dense row (soft.Argmax
// and soft.Margin read the dense row independently), ties included.
func TestTopRowStatsMatchExpansion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	for it := 0; it < 3000; it++ {
		K := 1 + rng.IntN(12)
		k := 1 + rng.IntN(K)
		mask := int32(rng.IntN(K+1)) - 1 // NoToken or a state
		if mask >= 0 && k == K {
			k = max(K-1, 1)
		}
		if mask >= 0 && K == 1 {
			mask = NoToken
		}
		r := randomTopRow(rng, K, k, mask)
		p := make([]float32, K)
		r.Expand(p)
		if got, want := r.Argmax(), Argmax(p); got != want {
			t.Fatalf("it %d: Argmax %d, dense %d (row %+v, dense %v)", it, got, want, r, p)
		}
		gi, gg := r.Margin()
		wi, wg := Margin(p)
		if gi != wi || gg != wg {
			t.Fatalf("it %d: Margin %d %v, dense %d %v (row %+v, dense %v)", it, gi, gg, wi, wg, r, p)
		}
		for v := int32(0); int(v) < K; v++ {
			if r.Prob(v) != p[v] {
				t.Fatalf("it %d: Prob(%d) %v, dense %v", it, v, r.Prob(v), p[v])
			}
		}
	}
}

func TestTopRowCheck(t *testing.T) {
	ok := func() TopRow {
		return TopRow{K: 6, Mask: 5, IDs: []int32{2, 0, -1}, Probs: []float32{0.5, 0.25, 0}, Resid: 0.25}
	}
	seen := make([]uint64, 1)
	cases := []struct {
		what string
		edit func(*TopRow)
	}{
		{"probability NaN", func(r *TopRow) { r.Probs[0] = nan }},
		{"unused slot", func(r *TopRow) { r.Probs[2] = 0.1 }},
		{"not a token", func(r *TopRow) { r.IDs[0] = 5 }},
		{"not a token", func(r *TopRow) { r.IDs[0] = 6 }},
		{"listed twice", func(r *TopRow) { r.IDs[1] = 2 }},
		{"residual", func(r *TopRow) { r.Resid = -0.25 }},
		{"not 1", func(r *TopRow) { r.Resid = 0.3 }},
	}
	for _, c := range cases {
		for _, s := range [][]uint64{nil, seen} {
			r := ok()
			c.edit(&r)
			err := r.Check(s)
			if err == nil || !strings.Contains(err.Error(), c.what) {
				t.Errorf("%s: got %v", c.what, err)
			}
			if s != nil && s[0] != 0 {
				t.Fatalf("%s: bitset left %b", c.what, s[0])
			}
		}
	}
	full := TopRow{K: 2, Mask: 1, IDs: []int32{0}, Probs: []float32{0.75}, Resid: 0.25}
	if err := full.Check(nil); err == nil || !strings.Contains(err.Error(), "no token is left") {
		t.Errorf("full row: %v", err)
	}
}
