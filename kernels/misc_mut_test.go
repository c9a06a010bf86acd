package kernels

import (
	"math"
	"strings"
	"testing"
)

// Tests written to kill surviving mutants of ppmi.go, tabulated.go and
// rates.go.

func TestPPMIEmbeddingsOptionsAndSign(t *testing.T) {
	seqs := [][]int32{{0, 1, 2, 3, 1, 0, 2, 3, 3, 1}, {2, 0, 1, 3, 0, 2}}
	// Window 1 and Dim = n are allowed.
	emb, err := PPMIEmbeddings(seqs, 4, PPMIOptions{Window: 1, Dim: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PPMIEmbeddings(seqs, 4, PPMIOptions{Dim: 1}); err != nil {
		t.Fatalf("Dim 1: %v", err)
	}
	// Each column's entry of largest magnitude is positive.
	for j := 0; j < 4; j++ {
		best := 0.0
		for i := 0; i < 4; i++ {
			if x := float64(emb[i*4+j]); math.Abs(x) > math.Abs(best) {
				best = x
			}
		}
		if !(best >= 0) {
			t.Errorf("column %d: largest entry %v is negative", j, best)
		}
	}
	for _, c := range []struct {
		seqs [][]int32
		opt  PPMIOptions
	}{
		{seqs, PPMIOptions{Dim: 5}},
		{seqs, PPMIOptions{Window: -1}},
		{seqs, PPMIOptions{Alpha: 1.5}},
		{[][]int32{{0, 4}}, PPMIOptions{}},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%+v: panic %v", c.opt, r)
				}
			}()
			if _, err := PPMIEmbeddings(c.seqs, 4, c.opt); err == nil {
				t.Errorf("%v %+v accepted", c.seqs, c.opt)
			}
		}()
	}
}

func TestTabulatedPairs(t *testing.T) {
	// Q̄(0,t) at every time and Q(s,t) for consecutive s < t: grid
	// {0, 0.5, 0.5, 1} gives (0,0), (0,0.5), (0,1), (0.5,1); grid {0.5, 1}
	// gives (0,0.5), (0,1), (0.5,1) (no (0.5,0.5)).
	base, _ := NewAbsorbing(3, 2, Linear{})
	for _, c := range []struct {
		grid []float64
		want [][2]float64
	}{
		{[]float64{0, 0.5, 0.5, 1}, [][2]float64{{0, 0}, {0, 0.5}, {0, 1}, {0.5, 1}}},
		{[]float64{1, 0.5}, [][2]float64{{0, 0.5}, {0, 1}, {0.5, 1}}},
	} {
		tb, err := NewTabulated(base, c.grid)
		if err != nil {
			t.Fatal(err)
		}
		if len(tb.table) != len(c.want) {
			t.Errorf("grid %v: %d tables, want %v", c.grid, len(tb.table), c.want)
		}
		for _, p := range c.want {
			if _, ok := tb.table[p]; !ok {
				t.Errorf("grid %v: no table for %v", c.grid, p)
			}
		}
	}
	// 39 pairs (a grid of 20 times) of 2700×2700 is more than 2²⁸ entries.
	big, _ := NewAbsorbing(2700, 0, Linear{})
	grid := make([]float64, 20)
	for i := range grid {
		grid[i] = float64(i+1) / 20
	}
	if _, err := NewTabulated(big, grid); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("39×2700² table: %v", err)
	}
}

func TestHierarchicalMaskRates(t *testing.T) {
	// RatesInto(x = MASK): every token reaches MASK when the MASK level's
	// clock rings, integrated rate w_MASK·Δσ, and MASK itself gets 0.
	// Linear, s = 0.2, t = 0.6: α(t)/α(s) = 0.4/0.8, Δσ = ln 2; w_MASK = 0.5.
	h := &Hierarchy{N: 2, Labels: [][]int32{{0, 1}}}
	k, err := NewHierarchical(h, 2, []float64{1, 2, 0.5}, Linear{})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 3)
	k.RatesInto(dst, 2, 0.2, 0.6)
	want := 0.5 * math.Ln2
	if !(math.Abs(float64(dst[0])-want) <= 1e-6 && math.Abs(float64(dst[1])-want) <= 1e-6 && dst[2] == 0) {
		t.Fatalf("RatesInto(MASK) = %v, want [%v %v 0]", dst, want, want)
	}
	func() {
		defer func() {
			r := recover()
			if s, ok := r.(string); !ok || !strings.Contains(s, "outside [0, 3)") {
				t.Errorf("x = K: panic %v", r)
			}
		}()
		k.RatesInto(dst, 3, 0.2, 0.6)
	}()
}
