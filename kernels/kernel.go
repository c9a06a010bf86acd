package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/softdiff/softdiff/soft"
)

// Kernel is a forward corruption process over States() states (a MASK state,
// when the kernel has one, counts).
//
// Transition writes into each row of dst the distribution of x_t when x_s is
// distributed as the same row of src: dst = src·Q(s, t), for 0 ≤ s ≤ t ≤ 1.
// Marginal is Transition from time 0: dst = src·Q̄(0, t), each src row a
// distribution over x_0. Prior writes the limit distribution Q̄(0, 1) reaches
// (for every x_0, within the schedule's tolerance α(1)).
//
// Transition and Marginal panic if dst and src differ in shape, if their
// width is not States(), or if the times are not 0 ≤ s ≤ t ≤ 1; src rows are
// not validated (pass soft.Dense.Validate'd data). dst may equal src.
// Implementations are safe for concurrent use.
type Kernel interface {
	States() int
	Marginal(dst, src *soft.Dense, t float64)
	Transition(dst, src *soft.Dense, s, t float64)
	Prior(dst []float32)
}

// Posteriorer is implemented by kernels that give the reverse-step
// posterior. Posterior writes q(x_s | x_t, x_0) for s ≤ t:
//
//	dst[j] ∝ [Q(s,t)·xt](j) · [x0·Q̄(0,s)](j)
//
// where xt is read as virtual evidence on x_t (a one-hot row is the observed
// state) and x0 as a distribution over x_0 (a denoiser's soft prediction).
// For one-hot xt and x0 this is Bayes' rule q(x_t|x_s) q(x_s|x_0) / q(x_t|x_0).
// It returns an error when the normaliser is zero (xt impossible under x0).
type Posteriorer interface {
	Posterior(dst, xt, x0 []float32, s, t float64) error
}

// ForwardSampler is implemented by kernels that draw x_t ~ q(x_t | x_0)
// exactly, position by position: dst[i] from x0[i], using only rng.
type ForwardSampler interface {
	Sample(dst, x0 []int32, t float64, rng *rand.Rand)
}

func checkPair(name string, k int, dst, src *soft.Dense) {
	if dst.L != src.L || dst.K != src.K {
		panic(fmt.Sprintf("kernels: %s: dst is %d×%d, src is %d×%d", name, dst.L, dst.K, src.L, src.K))
	}
	if src.K != k {
		panic(fmt.Sprintf("kernels: %s: rows have %d states, kernel has %d", name, src.K, k))
	}
}

func checkLen(name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels: %s: length %d, want %d", name, got, want))
	}
}

// f64Pool holds float64 scratch slices for posteriors.
var f64Pool sync.Pool

func getF64(n int) *[]float64 {
	if p, ok := f64Pool.Get().(*[]float64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float64, n)
	return &s
}

var f32Pool sync.Pool

func getF32(n int) *[]float32 {
	if p, ok := f32Pool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// finishPosterior writes dst = normalise(like ⊙ prior) and reports a zero
// normaliser as an error.
func finishPosterior(dst []float32, like, prior []float64) error {
	var z float64
	for j := range like {
		like[j] *= prior[j]
		z += like[j]
	}
	if !(z > 0) {
		return fmt.Errorf("kernels: posterior: x_t has zero probability under x_0 (normaliser %v)", z)
	}
	inv := 1 / z
	for j := range like {
		dst[j] = float32(like[j] * inv)
	}
	return nil
}

// posteriorRows runs the generic posterior with pooled scratch: back writes
// Q(s,t)·xt into like, fwd writes x0·Q̄(0,s) into prior.
func posteriorRows(dst, xt, x0 []float32, k int, back, fwd func(out []float64, in []float32)) error {
	checkLen("Posterior dst", len(dst), k)
	checkLen("Posterior xt", len(xt), k)
	checkLen("Posterior x0", len(x0), k)
	lp, pp := getF64(k), getF64(k)
	defer f64Pool.Put(lp)
	defer f64Pool.Put(pp)
	back(*lp, xt)
	fwd(*pp, x0)
	return finishPosterior(dst, *lp, *pp)
}
