package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

// genSchedule draws one of the four schedules with random parameters.
func genSchedule(t *rapid.T) Schedule {
	switch rapid.IntRange(0, 3).Draw(t, "sched") {
	case 0:
		return Linear{}
	case 1:
		return Cosine{Eps: rapid.Float64Range(0, 1e-2).Draw(t, "cosEps")}
	case 2:
		return LogLinear{Eps: rapid.Float64Range(1e-4, 1e-2).Draw(t, "llEps")}
	default:
		return Geometric{SigmaMin: rapid.Float64Range(1e-5, 1e-2).Draw(t, "smin"), SigmaMax: rapid.Float64Range(8, 30).Draw(t, "smax")}
	}
}

// matrix returns Q(s,t) row by row, computed by Transition on one-hot rows.
func matrix(k Kernel, s, t float64) *soft.Dense {
	K := k.States()
	id := soft.NewDense(K, K)
	for i := 0; i < K; i++ {
		id.Data[i*K+i] = 1
	}
	out := soft.NewDense(K, K)
	k.Transition(out, id, s, t)
	return out
}

// genTimes draws 0 ≤ s ≤ u ≤ t ≤ 1.
func genTimes(t *rapid.T) (float64, float64, float64) {
	a := rapid.Float64Range(0, 1).Draw(t, "t1")
	b := rapid.Float64Range(0, 1).Draw(t, "t2")
	c := rapid.Float64Range(0, 1).Draw(t, "t3")
	if a > b {
		a, b = b, a
	}
	if b > c {
		b, c = c, b
	}
	if a > b {
		a, b = b, a
	}
	return a, b, c
}

// checkStochastic fails unless every row of q is non-negative and sums to 1.
func checkStochastic(t *rapid.T, q *soft.Dense, what string) {
	for i := 0; i < q.L; i++ {
		var s float64
		for j, x := range q.Row(i) {
			if !(x >= 0) {
				t.Fatalf("%s: row %d col %d = %v < 0", what, i, j, x)
			}
			s += float64(x)
		}
		if !(math.Abs(s-1) <= 1e-5) {
			t.Fatalf("%s: row %d sums to %v", what, i, s)
		}
	}
}

// checkKernel runs the kernel-generic properties (docs/kernels.md) on k:
// stochastic rows, Q(0,0) = I, Q(0,1) ≈ prior within priorTol (max abs),
// Chapman–Kolmogorov, posterior = brute-force Bayes, and Monte-Carlo
// sampling within a binomial bound; the likelihood columns and rates of
// the reverse processes (checkReverseParts).
// Rows listed in fixed (states the kernel never moves, such as a MASK the
// uniform kernel excludes) are skipped in the endpoint check.
func checkKernel(t *rapid.T, k Kernel, priorTol float64, fixed ...int) {
	K := k.States()
	s, u, tt := genTimes(t)
	qsu := matrix(k, s, u)
	qst := matrix(k, s, tt)
	checkStochastic(t, qsu, "Q(s,u)")
	checkStochastic(t, qst, "Q(s,t)")
	// Identity at equal times (Q(0,0) = I, and any Q(s,s)).
	q00 := matrix(k, s, s)
	for i := 0; i < K; i++ {
		for j := 0; j < K; j++ {
			want := 0.0
			if i == j {
				want = 1
			}
			if !(math.Abs(float64(q00.Data[i*K+j])-want) <= 1e-6) {
				t.Fatalf("Q(%v,%v)[%d,%d] = %v, want %v", s, s, i, j, q00.Data[i*K+j], want)
			}
		}
	}
	// Endpoint: every row of Q̄(0,1) is the prior within priorTol.
	prior := make([]float32, K)
	k.Prior(prior)
	q01 := matrix(k, 0, 1)
	for i := 0; i < K; i++ {
		if slices.Contains(fixed, i) {
			continue
		}
		for j := 0; j < K; j++ {
			if !(math.Abs(float64(q01.Data[i*K+j]-prior[j])) <= priorTol) {
				t.Fatalf("Q(0,1)[%d,%d] = %v, prior %v (tol %v)", i, j, q01.Data[i*K+j], prior[j], priorTol)
			}
		}
	}
	// Chapman–Kolmogorov: Q(s,t) = Q(s,u)·Q(u,t), the right side by applying
	// Transition(u,t) to the rows of Q(s,u).
	ck := soft.NewDense(K, K)
	k.Transition(ck, qsu, u, tt)
	for i := range ck.Data {
		if !(math.Abs(float64(ck.Data[i]-qst.Data[i])) <= 2e-5) {
			t.Fatalf("Chapman–Kolmogorov (%v,%v,%v) entry %d: %v vs %v", s, u, tt, i, ck.Data[i], qst.Data[i])
		}
	}
	// Marginal equals Transition from 0.
	src := randomRows(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1)), 3, K)
	m1, m2 := soft.NewDense(3, K), soft.NewDense(3, K)
	k.Marginal(m1, src, tt)
	k.Transition(m2, src, 0, tt)
	for i := range m1.Data {
		if m1.Data[i] != m2.Data[i] {
			t.Fatalf("Marginal differs from Transition(0,t) at %d", i)
		}
	}
	if pk, ok := k.(Posteriorer); ok {
		checkPosterior(t, k, pk, s, tt)
	}
	if fs, ok := k.(ForwardSampler); ok {
		checkSampler(t, k, fs, tt)
	}
	checkReverseParts(t, k, s, tt)
}

// checkPosterior compares Posterior with Bayes' rule computed by brute
// force from the dense matrices: q(x_s=j | x_t, x0) ∝ Σ_y Q(s,t)[j,y] xt(y)
// · Σ_x x0(x) Q̄(0,s)[x,j].
func checkPosterior(t *rapid.T, k Kernel, pk Posteriorer, s, tt float64) {
	K := k.States()
	q0s := matrix(k, 0, s)
	qst := matrix(k, s, tt)
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "pseed"), 2))
	x0 := randomRows(rng, 1, K).Row(0)
	// xt: a state reachable from x0 (sample one from x0·Q̄(0,t)) as one-hot,
	// or a soft row.
	xt := make([]float32, K)
	if rapid.Bool().Draw(t, "softxt") {
		copy(xt, randomRows(rng, 1, K).Row(0))
	} else {
		m := soft.NewDense(1, K)
		src, _ := soft.FromProbs(1, K, append([]float32(nil), x0...))
		k.Marginal(m, src, tt)
		xt[soft.Sample(rng, m.Row(0))] = 1
	}
	want := make([]float64, K)
	var z float64
	for j := 0; j < K; j++ {
		var like, pri float64
		for y := 0; y < K; y++ {
			like += float64(qst.Data[j*K+y]) * float64(xt[y])
		}
		for x := 0; x < K; x++ {
			pri += float64(x0[x]) * float64(q0s.Data[x*K+j])
		}
		want[j] = like * pri
		z += want[j]
	}
	got := make([]float32, K)
	err := pk.Posterior(got, xt, x0, s, tt)
	if z < 1e-12 {
		return // (near-)impossible evidence: covered by the error test
	}
	if err != nil {
		t.Fatalf("Posterior: %v (brute-force normaliser %v)", err, z)
	}
	var sum float64
	for j := range got {
		sum += float64(got[j])
		if !(math.Abs(float64(got[j])-want[j]/z) <= 1e-4) {
			t.Fatalf("Posterior[%d] = %v, brute-force Bayes %v (s=%v t=%v)", j, got[j], want[j]/z, s, tt)
		}
	}
	if !(math.Abs(sum-1) <= 1e-5) {
		t.Fatalf("posterior sums to %v", sum)
	}
}

// checkSampler draws n samples of x_t for one x_0 and checks each state's
// frequency against the closed-form marginal within 5 binomial standard
// deviations plus 1/n.
func checkSampler(t *rapid.T, k Kernel, fs ForwardSampler, tt float64) {
	K := k.States()
	const n = 4000
	x := int32(rapid.IntRange(0, K-1).Draw(t, "x0"))
	x0 := make([]int32, n)
	for i := range x0 {
		x0[i] = x
	}
	xs := make([]int32, n)
	fs.Sample(xs, x0, tt, rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "sseed"), 3)))
	counts := make([]float64, K)
	for _, y := range xs {
		counts[y]++
	}
	row := soft.NewDense(1, K)
	src := soft.NewDense(1, K)
	src.Data[x] = 1
	k.Marginal(row, src, tt)
	for j := 0; j < K; j++ {
		p := float64(row.Data[j])
		f := counts[j] / n
		// 5 binomial standard deviations, plus 5 counts for small n·p
		// where the normal approximation fails (Poisson(0.125) reaches 3
		// with probability 3e-4: rapid found that case; reaching 6 has
		// probability 5e-9).
		bound := 5*math.Sqrt(p*(1-p)/n) + 5.0/n
		if !(math.Abs(f-p) <= bound) {
			t.Fatalf("x0=%d t=%v state %d: frequency %v, closed form %v (bound %v)", x, tt, j, f, p, bound)
		}
	}
}

// randomRows returns L random distributions over K states (some entries 0).
func randomRows(rng *rand.Rand, L, K int) *soft.Dense {
	d := soft.NewDense(L, K)
	for i := 0; i < L; i++ {
		r := d.Row(i)
		var s float64
		for j := range r {
			if rng.IntN(4) == 0 {
				continue
			}
			r[j] = float32(rng.ExpFloat64())
			s += float64(r[j])
		}
		if s == 0 {
			r[rng.IntN(K)] = 1
			s = 1
		}
		for j := range r {
			r[j] = float32(float64(r[j]) / s)
		}
	}
	return d
}

// alphaEnd is α(1)/α(0), the mass a masking kernel leaves unmasked at t=1.
func alphaEnd(s Schedule) float64 { return alphaRatio(s, 0, 1) }

func TestAbsorbingProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		K := rapid.IntRange(2, 9).Draw(t, "K")
		m := int32(rapid.IntRange(0, K-1).Draw(t, "mask"))
		sch := genSchedule(t)
		checkKernel(t, must(NewAbsorbing(K, m, sch)), alphaEnd(sch)+1e-6)
	})
}

func TestUniformProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		K := rapid.IntRange(3, 9).Draw(t, "K")
		m := soft.NoToken
		if rapid.Bool().Draw(t, "hasMask") {
			m = int32(rapid.IntRange(0, K-1).Draw(t, "mask"))
		}
		sch := genSchedule(t)
		k := must(NewUniform(K, m, sch))
		if m != soft.NoToken {
			checkKernel(t, k, alphaEnd(sch)+1e-6, int(m))
			return
		}
		checkKernel(t, k, alphaEnd(sch)+1e-6)
	})
}

func TestPosteriorMDLM(t *testing.T) {
	// MDLM ancestral step (docs/decode.md, MDLM): for xt = MASK and a
	// soft x0 without MASK mass, token mass x0(v)(α_s−α_t)/(1−α_t) and MASK
	// mass (1−α_s)/(1−α_t). LogLinear ε=1e-3: α(0.3)=0.7003, α(0.6)=0.4006.
	k := must(NewAbsorbing(4, 3, LogLinear{}))
	x0 := []float32{0.5, 0.3, 0.2, 0}
	xt := []float32{0, 0, 0, 1}
	got := make([]float32, 4)
	if err := k.Posterior(got, xt, x0, 0.3, 0.6); err != nil {
		t.Fatal(err)
	}
	as, at := 1-0.999*0.3, 1-0.999*0.6
	for v := 0; v < 3; v++ {
		want := float64(x0[v]) * (as - at) / (1 - at)
		if !(math.Abs(float64(got[v])-want) <= 1e-6) {
			t.Errorf("token %d: %v want %v", v, got[v], want)
		}
	}
	if want := (1 - as) / (1 - at); !(math.Abs(float64(got[3])-want) <= 1e-6) {
		t.Errorf("mask: %v want %v", got[3], want)
	}
	// Unmasked x_t = 1 is impossible under x0 with no mass on 1: an error.
	if err := k.Posterior(got, []float32{0, 1, 0, 0}, []float32{1, 0, 0, 0}, 0.3, 0.6); err == nil {
		t.Error("contradictory posterior returned no error")
	}
}

func ExampleAbsorbing() {
	k := must(NewAbsorbing(3, 2, Linear{}))
	x0, _ := soft.FromTokens([]int32{0}, 3)
	xt := soft.NewDense(1, 3)
	k.Marginal(xt, x0, 0.25)
	fmt.Println(xt.Row(0))
	// Output: [0.75 0 0.25]
}
