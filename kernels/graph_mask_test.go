package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// TestGraphMaskRate: the graph kernel's MASK clock. A token jumps to MASK
// at rate MaskRate per unit of σ = −log α, so from time 0 it is masked by t
// with probability 1 − e^{−rate·σ(t)} = 1 − α(t)^rate, and from s to t with
// probability 1 − (α(t)/α(s))^rate; MASK is absorbing. The references are
// computed here from the log-linear schedule's formula α(t) = 1 − (1−ε)t,
// ε = 10⁻³ (MDLM's; written out, not read from Tau or the Schedule), on a
// 4-cycle graph (kNN lists i±1, k = 2) with MASK as state 4, Scale 1.5 and
// MaskRate 2 (so a halved or ignored rate, or the rate applied to τ instead
// of σ, moves the values by far more than the float32 tolerance 1e-6):
//
//	t = 0.1: α = 0.9001, masked 1 − 0.9001² = 0.18982
//	t = 0.5: α = 0.5005, masked 1 − 0.5005² = 0.74950
//	t = 0.9: α = 0.1009, masked 1 − 0.1009² = 0.98982
//
// Checked three ways: the MASK column of Marginal (one-hot token rows), of
// Transition from s = 0.5 to t = 0.9 ((0.1009/0.5005)² = 0.040641, masked
// 0.959359), and the masked fraction of 40000 Sample draws at t = 0.5
// (five standard errors: 5·sqrt(0.7495·0.2505/40000) = 0.0108). The token
// mass of a row is 1 minus the MASK mass, and a MASK row stays MASK.
func TestGraphMaskRate(t *testing.T) {
	nbr := []int32{1, 3, 2, 0, 3, 1, 0, 2}
	adj, err := NewKNNAdjacency(nbr, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	const mask, rate, eps = 4, 2.0, 1e-3
	g, err := NewGraph(adj, mask, LogLinear{}, GraphOptions{Scale: 1.5, MaskRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	alpha := func(t float64) float64 { return 1 - (1-eps)*t }
	masked := func(s, t float64) float64 { return 1 - math.Pow(alpha(t)/alpha(s), rate) }
	for _, c := range []struct{ t, want float64 }{{0.1, 0.18982}, {0.5, 0.74950}, {0.9, 0.98982}} {
		if got := masked(0, c.t); !(math.Abs(got-c.want) <= 1e-5) {
			t.Fatalf("reference at t = %v: formula gives %v, hand value %v", c.t, got, c.want)
		}
	}
	if got := masked(0.5, 0.9); !(math.Abs(got-0.959359) <= 1e-6) {
		t.Fatalf("reference 0.5→0.9: formula gives %v, hand value 0.959359", got)
	}
	src := soft.NewDense(5, 5)
	for v := range 5 {
		src.Row(v)[v] = 1
	}
	dst := soft.NewDense(5, 5)
	check := func(what string, want float64) {
		t.Helper()
		for v := range 4 {
			row := dst.Row(v)
			var tok float64
			for j := range 4 {
				tok += float64(row[j])
			}
			if !(math.Abs(float64(row[mask])-want) <= 1e-6) || !(math.Abs(tok-(1-want)) <= 1e-5) {
				t.Errorf("%s, token %d: MASK mass %v and token mass %v, want %v and %v", what, v, row[mask], tok, want, 1-want)
			}
		}
		if m := dst.Row(mask); !(m[mask] == 1) {
			t.Errorf("%s: MASK row %v, want MASK kept with probability 1", what, m)
		}
	}
	for _, tt := range []float64{0.1, 0.5, 0.9} {
		g.Marginal(dst, src, tt)
		check(fmt.Sprintf("Marginal t = %v", tt), masked(0, tt))
	}
	g.Transition(dst, src, 0.5, 0.9)
	check("Transition 0.5 → 0.9", masked(0.5, 0.9))

	const n = 40000
	x0 := make([]int32, n)
	for i := range x0 {
		x0[i] = int32(i % 4)
	}
	x0[0] = mask // a MASK start stays MASK
	xt := make([]int32, n)
	g.Sample(xt, x0, 0.5, rand.New(rand.NewPCG(3, 4)))
	if xt[0] != mask {
		t.Fatalf("Sample moved a MASK start to %d", xt[0])
	}
	cnt := 0
	for _, x := range xt[1:] {
		if x == mask {
			cnt++
		}
	}
	p := masked(0, 0.5)
	if f := float64(cnt) / (n - 1); !(math.Abs(f-p) <= 5*math.Sqrt(p*(1-p)/(n-1))) {
		t.Fatalf("Sample at t = 0.5 masked %.4f of the tokens, want %.4f", f, p)
	}
}
