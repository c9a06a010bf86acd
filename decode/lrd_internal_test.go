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
