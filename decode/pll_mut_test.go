package decode

import (
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// tableDen is an exact denoiser over n tokens (MASK id n) for the laws
// tabs[L] over sequences of length L (index Σ_i x_i·n^(L−1−i)): beliefs
// b_i(v) ∝ Σ_{x: x_i = v} p(x)·Π_j (e_j(x_j) + e_j(MASK)), an error
// beginning "contradictory evidence" when that sum is 0 everywhere.
type tableDen struct {
	n    int
	tabs map[int][]float64
}

func (d tableDen) Denoise(dst, ev *soft.Dense, _ float64) error {
	L, K := ev.L, d.n+1
	p, ok := d.tabs[L]
	if !ok || dst.L != L || dst.K != K || ev.K != K {
		return errors.New("tableDen: shape")
	}
	acc := make([]float64, L*K)
	var z float64
	x := make([]int, L)
	for idx := range p {
		c := idx
		for i := L - 1; i >= 0; i-- {
			x[i] = c % d.n
			c /= d.n
		}
		w := p[idx]
		for i, v := range x {
			w *= float64(ev.Data[i*K+v]) + float64(ev.Data[i*K+d.n])
		}
		z += w
		for i, v := range x {
			acc[i*K+v] += w
		}
	}
	if z == 0 {
		return errors.New("contradictory evidence: tableDen")
	}
	for j := range acc {
		dst.Data[j] = float32(acc[j] / z)
	}
	return nil
}

// pllTabs: a law over 3 binary positions, p(000 … 111) = (0.05, 0.10,
// 0.15, 0.20, 0.05, 0.15, 0.10, 0.20), and one over 2, p(00 … 11) =
// (0.1, 0.2, 0.3, 0.4).
var pllTabs = map[int][]float64{
	3: {0.05, 0.10, 0.15, 0.20, 0.05, 0.15, 0.10, 0.20},
	2: {0.1, 0.2, 0.3, 0.4},
}

// TestPLLByHand: PLL(x) = Σ_i log p(x)/(p(x) + p(x with x_i flipped)) for
// binary tokens. By hand: 011 (0.20): flips 111 (0.20), 001 (0.10), 010
// (0.15): ½·⅔·4/7 = 4/21; 100 (0.05): flips 000 (0.05), 110 (0.10), 101
// (0.15): ½·⅓·¼ = 1/24; 01 (0.2): flips 11 (0.4), 00 (0.1): ⅓·⅔ = 2/9.
// Each LogProb is L denoiser calls, whatever the number of workers.
func TestPLLByHand(t *testing.T) {
	v := mutVocab(t, 2)
	for _, workers := range []int{1, 2, 3} {
		p, err := NewPLL(tableDen{2, pllTabs}, v)
		if err != nil {
			t.Fatal(err)
		}
		p.Workers = workers
		for _, c := range []struct {
			x    []int32
			want float64
		}{
			{[]int32{0, 1, 1}, 4.0 / 21},
			{[]int32{1, 0, 0}, 1.0 / 24},
			{[]int32{0, 1}, 2.0 / 9},
		} {
			lp, err := p.LogProb(c.x)
			if err != nil {
				t.Fatal(err)
			}
			if !(math.Abs(lp-math.Log(c.want)) <= 1e-6) {
				t.Fatalf("workers %d: PLL(%v) = %v, want log %v = %v", workers, c.x, lp, c.want, math.Log(c.want))
			}
		}
		if p.NFE() != 8 {
			t.Fatalf("workers %d: NFE %d, want 3+3+2", workers, p.NFE())
		}
	}
}

// TestPLLTokenIDs: ids must be tokens: 0 and 1 are, MASK (2) and K = 3
// are not, nor −1.
func TestPLLTokenIDs(t *testing.T) {
	p, err := NewPLL(tableDen{2, pllTabs}, mutVocab(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range [][]int32{{3, 0}, {0, 2}, {-1, 0}} {
		if _, err := p.LogProb(x); err == nil {
			t.Fatalf("%v accepted", x)
		}
	}
}

// TestPLLScratchLength: a pooled scratch of another length is not reused:
// with one P and one worker the pool hands the LogProb goroutine the
// scratch put there (length 3), and PLL(01) must still be 2/9 (reusing it
// would leave row 2 of the evidence empty: contradictory, −Inf).
func TestPLLScratchLength(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p, err := NewPLL(tableDen{2, pllTabs}, mutVocab(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	p.Workers = 1
	p.pool.Put(&pllScratch{ev: soft.NewDense(3, 3), bel: soft.NewDense(3, 3)})
	lp, err := p.LogProb([]int32{0, 1})
	if err != nil || !(math.Abs(lp-math.Log(2.0/9)) <= 1e-6) {
		t.Fatalf("PLL(01) = %v, %v, want log 2/9", lp, err)
	}
}
