package decode

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// TestMeanKLBelow checks that meanKLBelow's answer compares with tol as
// the plain mean of soft.KL does (its contract: the mean, or a bound on it
// below tol), on pairs of belief matrices whose mean KL is far below,
// near, and far above tol: q is p with each entry scaled by 1 + ε·g
// (g standard normal), KL ≈ ε²/2, with ε chosen around √(2·tol); rows are
// left unnormalised after the perturbation (Σp ≠ Σq, as float32 beliefs
// are), so that the bound's margins matter. Where the bound decides, the
// returned value must also be ≥ the mean (an upper bound).
func TestMeanKLBelow(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 10))
	const L, K = 12, 300
	below, exact := 0, 0
	for trial := 0; trial < 300; trial++ {
		tol := []float64{1e-3, 1e-6, 1e-9}[trial%3]
		eps := math.Sqrt(2*tol) * math.Exp(2*(rng.Float64()-0.5)) // KL from tol/e² to e²·tol
		if trial%10 == 0 {
			eps = 0 // equal rows
		}
		p, q := soft.NewDense(L, K), soft.NewDense(L, K)
		for i := 0; i < L; i++ {
			pr, qr := p.Row(i), q.Row(i)
			var z float64
			for v := range pr {
				pr[v] = float32(math.Exp(rng.NormFloat64()))
				z += float64(pr[v])
			}
			for v := range pr {
				pr[v] = float32(float64(pr[v]) / z)
				qr[v] = float32(float64(pr[v]) * (1 + eps*rng.NormFloat64()))
				if qr[v] <= 0 {
					qr[v] = pr[v]
				}
			}
		}
		rows := []int{0, 2, 3, 5, 7, 8, 11}
		var sum float64
		for _, i := range rows {
			sum += soft.KL(p.Row(i), q.Row(i))
		}
		mean := sum / float64(len(rows))
		got := meanKLBelow(p, q, rows, tol)
		if (got < tol) != (mean < tol) {
			t.Fatalf("trial %d: meanKLBelow %.17g, mean %.17g, tol %g: different sides", trial, got, mean, tol)
		}
		if got != mean {
			below++
			if !(got >= mean && got < tol) {
				t.Fatalf("trial %d: bound %.17g not in [mean %.17g, tol %g)", trial, got, mean, tol)
			}
		} else {
			exact++
		}
	}
	if below < 30 || exact < 30 {
		t.Fatalf("paths not exercised: %d decided by the bound, %d exact", below, exact)
	}
	if got := meanKLBelow(soft.NewDense(1, 4), soft.NewDense(1, 4), nil, 1e-3); got != 0 {
		t.Fatalf("no rows: %g", got)
	}
}

// TestMeanKLBelowAtTheBound: with tol set to the rows' mean bound itself
// (tol·n = Σ KLBound, so the bound is not certainly below tol: the margin
// 1 + 1e-9 must make it fall back to the KLs), the answer is the plain
// mean of the KLs, which lies below tol (each KL is at most its bound, and
// here well below it: q is p perturbed by 1%, where KL ≈ half the
// χ² bound). A margin divided instead of multiplied, or subtracted, would
// return the bound, equal to tol, and LRD would not stop.
func TestMeanKLBelowAtTheBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 30))
	const L, K = 6, 200
	p, q := soft.NewDense(L, K), soft.NewDense(L, K)
	for i := 0; i < L; i++ {
		pr, qr := p.Row(i), q.Row(i)
		for v := range pr {
			pr[v] = float32(1 + rng.Float64())
			qr[v] = pr[v] * float32(1+0.01*rng.NormFloat64())
		}
	}
	rows := []int{0, 1, 3, 4}
	var ub, sum float64
	for _, i := range rows {
		ub += soft.KLBound(p.Row(i), q.Row(i))
		sum += soft.KL(p.Row(i), q.Row(i))
	}
	n := float64(len(rows))
	tol := ub / n
	mean := sum / n
	if !(mean < tol) {
		t.Fatalf("set-up: mean KL %g not below the mean bound %g", mean, tol)
	}
	if got := meanKLBelow(p, q, rows, tol); got != mean {
		t.Fatalf("meanKLBelow at tol = mean bound %.17g: got %.17g, want the KLs' mean %.17g", tol, got, mean)
	}
}
