package decode

import (
	"errors"
	"fmt"
	"math"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// ReverseKernel is what the reverse samplers of any kernel (KernelReverse,
// KernelCTMC) read of a forward process: its transitions and marginals
// (kernels.Kernel) and the columns of its transitions, P(x_t | x_s = ·)
// (kernels.Likelihooder). Every kernel of package kernels implements it.
type ReverseKernel interface {
	kernels.Kernel
	kernels.Likelihooder
}

// CTMCKernel is a ReverseKernel with known forward rates (kernels.Rater),
// what KernelCTMC integrates. Every kernel of package kernels implements it.
type CTMCKernel interface {
	ReverseKernel
	kernels.Rater
}

// noisy is the state x_t of a reverse sampler of a kernel: one kernel state
// per free position, kept by the sampler (the run's identities stay MASK
// until x_0 is drawn), and handed to the denoiser as the likelihood rows
// ℓ_i(v) = P(x_t,i | x_0 = v).
type noisy struct {
	r    *Run
	k    ReverseKernel
	mask int32
	t    []float64 // grid points, from 1 down
	free []int
	xt   []int32     // x_t per free position
	like *soft.Dense // F×K: ℓ rows at the last evidence time (MASK column 0, max 1)
	w    *soft.Dense // F×K: belief / ℓ, scaled to max 1
	m    *soft.Dense // F×K scratch: w·Q̄(0,·)
	col  *soft.Dense // F×K scratch: columns of Q, then the draw weights
	// one-row views of the four, for the sequential variant
	likeV, wV, mV, colV []*soft.Dense
}

// newNoisy validates k and the grid g against r, and draws x_1 from the
// kernel's prior for every free position, in increasing order.
func newNoisy(r *Run, k ReverseKernel, g Grid, views bool) (*noisy, error) {
	if k == nil {
		return nil, errors.New("needs a Kernel")
	}
	K := r.Vocab().Size()
	if k.States() != K {
		return nil, fmt.Errorf("kernel has %d states, vocabulary %d", k.States(), K)
	}
	if km, ok := k.(interface{ Mask() int32 }); ok {
		if m := km.Mask(); m != soft.NoToken && m != r.Mask() {
			return nil, fmt.Errorf("kernel's MASK state %d is not the vocabulary's MASK %d", m, r.Mask())
		}
	}
	t, err := times(g, r.Steps(), 1, 0)
	if err != nil {
		return nil, err
	}
	for i, x := range t {
		if !(x >= 0 && x <= 1) || i > 0 && !(x <= t[i-1]) {
			return nil, fmt.Errorf("grid point %d is %v: a kernel's time runs from 1 down to 0", i, x)
		}
	}
	prior := make([]float32, K)
	k.Prior(prior)
	if err := soft.ValidateRow(prior); err != nil {
		return nil, fmt.Errorf("kernel prior: %w", err)
	}
	F := len(r.Free())
	n := &noisy{r: r, k: k, mask: r.Mask(), t: t, free: r.Free(), xt: make([]int32, F),
		like: soft.NewDense(F, K), w: soft.NewDense(F, K), m: soft.NewDense(F, K), col: soft.NewDense(F, K)}
	rng := r.Rand()
	for f := range n.xt {
		n.xt[f] = soft.Sample(rng, prior)
	}
	if views {
		for f := 0; f < F; f++ {
			n.likeV = append(n.likeV, n.like.Rows(f, f+1))
			n.wV = append(n.wV, n.w.Rows(f, f+1))
			n.mV = append(n.mV, n.m.Rows(f, f+1))
			n.colV = append(n.colV, n.col.Rows(f, f+1))
		}
	}
	return n, nil
}

// ends returns the step's times t > s (s = 0 on the last step) and whether
// it is the last.
func (n *noisy) ends(k int) (t, s float64, last bool) {
	t, s = n.t[k], n.t[k+1]
	if last = k >= n.r.Steps()-1; last {
		s = 0
	}
	return t, s, last
}

// KernelEvidence writes into row i of dst the evidence that the noisy
// state xt[i] of kernel k at time t carries about x_0, exactly as
// KernelReverse and KernelCTMC hand it to the denoiser: the likelihood
// ℓ(v) = P_t(x_t = xt[i] | x_0 = v) (kernels.Likelihooder at s = 0), with
// the MASK column set to 0 (x_0 is never MASK) and the row scaled to
// maximum 1. A learned kernel denoiser is trained on these rows for x_t
// drawn by the kernel's forward sampler (kernels.ForwardSampler), so that
// it sees at inference what it saw in training. A mask outside [0, K)
// (soft.NoToken: a kernel without MASK) zeroes no column. dst must be
// len(xt)×k.States() (kernels.Likelihooder's rule; it panics otherwise). It
// returns an error naming the position for a row with a non-finite or
// negative entry, or with no positive one (a state no token reaches).
func KernelEvidence(dst *soft.Dense, k kernels.Likelihooder, xt []int32, t float64, mask int32) error {
	k.Likelihood(dst, xt, 0, t)
	for i := range xt {
		if err := scaleEvidence(dst.Row(i), mask); err != nil {
			return fmt.Errorf("position %d (state %d): %w", i, xt[i], err)
		}
	}
	return nil
}

// scaleEvidence sets the MASK entry of a likelihood row to 0 and scales the
// row to maximum 1.
func scaleEvidence(row []float32, mask int32) error {
	if mask >= 0 && int(mask) < len(row) {
		row[mask] = 0
	}
	var mx float32
	for v, x := range row {
		if !(x >= 0) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("kernel likelihood of token %d is %v", v, x)
		}
		mx = max(mx, x)
	}
	if !(mx > 0) {
		return errors.New("likelihood 0 under every token")
	}
	inv := 1 / mx
	for v := range row {
		row[v] *= inv
	}
	return nil
}

// evidence writes the likelihood rows of x_t at time t into the run's
// evidence, for every free position.
func (n *noisy) evidence(t float64) error {
	n.k.Likelihood(n.like, n.xt, 0, t)
	for f := range n.free {
		if err := n.setEvidence(f); err != nil {
			return err
		}
	}
	return nil
}

// setEvidence scales like row f (scaleEvidence) and copies it into the
// evidence of its position.
func (n *noisy) setEvidence(f int) error {
	row := n.like.Row(f)
	if err := scaleEvidence(row, n.mask); err != nil {
		return fmt.Errorf("position %d (state %d): %w", n.free[f], n.xt[f], err)
	}
	copy(n.r.Evidence(n.free[f]), row)
	return nil
}

// weights writes w(v) = b(v)/ℓ(v) (scaled to maximum 1) into row f of w:
// the denoiser's posterior over x_0 divided by the likelihood of x_t, so
// that Σ_v w(v)·P(x_s, x_t | v) is the posterior-averaged joint. Tokens
// with ℓ(v) = 0 are dropped (an exact posterior has no mass there).
func (n *noisy) weights(f int, b []float32) error {
	l, w := n.like.Row(f), n.w.Row(f)
	var mx float64
	for v, bv := range b {
		if bv > 0 && l[v] > 0 {
			mx = math.Max(mx, float64(bv)/float64(l[v]))
		}
	}
	if !(mx > 0) || math.IsInf(mx, 0) {
		return fmt.Errorf("position %d: the belief has no mass on a token from which state %d is reachable", n.free[f], n.xt[f])
	}
	for v, bv := range b {
		w[v] = 0
		if bv > 0 && l[v] > 0 {
			w[v] = float32(float64(bv) / float64(l[v]) / mx)
		}
	}
	return nil
}

// draw returns x_s for position f, drawn in proportion to col(j)·m(j)
// (both rows already computed); the products, scaled to maximum 1, replace
// col.
func (n *noisy) draw(f int) (int32, error) {
	c, m := n.col.Row(f), n.m.Row(f)
	var mx float64
	for j, x := range c {
		if p := float64(x) * float64(m[j]); p > mx {
			mx = p
		}
	}
	if !(mx > 0) || math.IsInf(mx, 0) {
		return 0, fmt.Errorf("position %d: the reverse step from state %d reaches no state (largest weight %v)", n.free[f], n.xt[f], mx)
	}
	for j, x := range c {
		p := float64(x) * float64(m[j]) / mx
		if !(p > 0) {
			p = 0
		}
		c[j] = float32(p)
	}
	return soft.Sample(n.r.Rand(), c), nil
}

// observe hands the denoiser the evidence of x_t at time t and reads its
// beliefs: on the last step it commits x_0 for every free position and
// reports done; otherwise it writes every position's weights b/ℓ.
func (n *noisy) observe(t float64, last bool) (done bool, err error) {
	r := n.r
	if err := n.evidence(t); err != nil {
		return false, err
	}
	if err := r.Denoise(t); err != nil {
		return false, err
	}
	r.MeanEntropy()
	if last {
		n.finish()
		return true, nil
	}
	bel := r.Beliefs()
	for f, i := range n.free {
		if err := n.weights(f, bel.Row(i)); err != nil {
			return false, err
		}
	}
	return false, nil
}

// finish commits x_0 for every free position, drawn from its belief, in
// increasing order.
func (n *noisy) finish() {
	r := n.r
	bel, rng := r.Beliefs(), r.Rand()
	for _, i := range n.free {
		r.SetToken(i, soft.Sample(rng, bel.Row(i)))
	}
}
