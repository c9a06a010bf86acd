package decode

import (
	"errors"
	"fmt"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// Corrector is the hybrid sampler's move on committed positions.
type Corrector int

const (
	// CorrectNone: no corrector moves.
	CorrectNone Corrector = iota
	// CorrectGibbs redraws the token from its leave-one-out belief.
	CorrectGibbs
	// CorrectKernel proposes a token from a graded kernel and accepts it by
	// Metropolis–Hastings against the leave-one-out belief.
	CorrectKernel
)

// String returns "commit" (no corrector: the hybrid sampler only commits),
// "gibbs", "kernel", or "Corrector(n)".
func (c Corrector) String() string {
	switch c {
	case CorrectNone:
		return "commit"
	case CorrectGibbs:
		return "gibbs"
	case CorrectKernel:
		return "kernel"
	}
	return fmt.Sprintf("Corrector(%d)", int(c))
}

// Hybrid is softdiff's hybrid sampler: the continuous refinement and commit
// policy of SoftSL (embedded) kept apart from the discrete identity, plus a
// corrector that moves committed identities and may release them.
//
// After each refinement step k it makes Moves corrector moves (each one
// denoiser call, counted in the NFE, made at the diffusion time 1 − (k+1)/n
// of the next refinement call, n = Steps − 1): a committed free position i
// with token a is chosen uniformly; its leave-one-out belief b_i is read by
// handing the denoiser position i's continuous evidence softmax(λ_i) (or
// none) instead of its identity, everything else unchanged. If b_i(a) < ReleaseBelow the
// position is released (re-masked; λ_i kept). Otherwise CorrectGibbs draws
// a new token from b_i, and CorrectKernel draws a proposal v from the row
// Q(a, ·) of Kernel's transition over [0, JumpTime] (a graded move: a graph
// or hierarchy kernel proposes neighbours first) and accepts it with
// probability min(1, b_i(v)·Q(v, a) / (b_i(a)·Q(a, v))) — Metropolis–Hastings
// (Metropolis et al. 1953; Hastings 1970) targeting the conditional
// p(x_i | x_−i, λ_i), which leaves the joint of the committed identities
// invariant. Proposals of MASK or of the current token are rejected (a
// self-loop, which keeps detailed balance).
//
// Options: Steps is the number of refinement steps plus one, as for SoftSL
// (the corrector's calls come on top, so the NFE is Steps plus Moves per
// refinement step at most); BlockLen is not used; NoEntropy has no effect.
type Hybrid struct {
	SoftSL
	Corrector Corrector
	// Kernel and JumpTime give the CorrectKernel proposal; JumpTime lies in
	// [0, 1] (checked whatever the corrector), 0 meaning 0.1. The kernel's
	// States() must equal the vocabulary size.
	Kernel   kernels.Kernel
	JumpTime float64
	// Moves (≥ 0) is the number of corrector moves per refinement step.
	Moves int
	// ReleaseBelow (≥ 0, not NaN) releases a committed position whose
	// leave-one-out belief in its token is strictly below this value (0:
	// never release; above 1, +Inf included: release every position a move
	// visits).
	ReleaseBelow float64
}

// Name implements Algorithm: "Hybrid-" and the corrector ("commit" without
// one).
func (m Hybrid) Name() string { return "Hybrid-" + m.Corrector.String() }

type hybridRun struct {
	*slRun
	Hybrid
	cand      []int // committed free positions
	src, prop *soft.Dense
}

// Start implements Algorithm.
func (m Hybrid) Start(r *Run) (Stepper, error) {
	if m.Corrector < CorrectNone || m.Corrector > CorrectKernel || m.Moves < 0 || !(m.ReleaseBelow >= 0) ||
		!(m.JumpTime >= 0 && m.JumpTime <= 1) {
		return nil, fmt.Errorf("bad hybrid setting: corrector %v, moves %d, release %v, jump time %v (want [0, 1])", m.Corrector, m.Moves, m.ReleaseBelow, m.JumpTime)
	}
	K := r.Vocab().Size()
	if m.Corrector == CorrectKernel {
		if m.Kernel == nil {
			return nil, errors.New("CorrectKernel needs a Kernel")
		}
		if m.Kernel.States() != K {
			return nil, fmt.Errorf("kernel has %d states, vocabulary %d", m.Kernel.States(), K)
		}
	}
	if m.JumpTime == 0 {
		m.JumpTime = 0.1
	}
	sl, err := m.SoftSL.newRun(r)
	if err != nil {
		return nil, err
	}
	return &hybridRun{slRun: sl, Hybrid: m, cand: make([]int, 0, r.Len()),
		src: soft.NewDense(1, K), prop: soft.NewDense(1, K)}, nil
}

// Step implements Stepper.
func (h *hybridRun) Step(k int) (bool, error) {
	done, err := h.slRun.Step(k)
	if err != nil || done || h.Corrector == CorrectNone && h.ReleaseBelow == 0 {
		return done, err
	}
	r := h.r
	for range h.Moves {
		h.cand = h.cand[:0]
		for _, i := range r.Free() {
			if !r.Masked(i) {
				h.cand = append(h.cand, i)
			}
		}
		if len(h.cand) == 0 {
			break
		}
		i := h.cand[r.Rand().IntN(len(h.cand))]
		if err := h.move(i, 1-float64(k+1)/float64(max(h.n, 1))); err != nil {
			return false, err
		}
	}
	return false, nil
}

// move makes one corrector move at committed position i.
func (h *hybridRun) move(i int, t float64) error {
	r := h.r
	a := r.Token(i)
	row := r.Evidence(i)
	if err := h.st.SoftEvidenceRow(row, i); err != nil {
		return err
	}
	err := r.Denoise(t)
	clear(row) // the identity is hard evidence again
	row[a] = 1
	if err != nil {
		return err
	}
	if err := r.CheckBelief(i); err != nil { // committed rows are not checked by Denoise
		return err
	}
	b := r.Beliefs().Row(i)
	rng := r.Rand()
	if float64(b[a]) < h.ReleaseBelow {
		h.st.Release(i)
		r.SetToken(i, r.Mask())
		return nil
	}
	switch h.Corrector {
	case CorrectGibbs:
		v := soft.Sample(rng, b)
		if v != a {
			h.st.Jump(i, v)
			r.SetToken(i, v)
		}
	case CorrectKernel:
		q := h.prop.Row(0)
		src := h.src.Row(0)
		clear(src)
		src[a] = 1
		h.Kernel.Transition(h.prop, h.src, 0, h.JumpTime)
		v := soft.Sample(rng, q)
		if v == a || v == r.Mask() {
			return nil
		}
		qav := float64(q[v])
		clear(src)
		src[v] = 1
		h.Kernel.Transition(h.prop, h.src, 0, h.JumpTime)
		qva := float64(q[a])
		num := float64(b[v]) * qva
		den := float64(b[a]) * qav
		if den == 0 || rng.Float64()*den < num {
			h.st.Jump(i, v)
			r.SetToken(i, v)
		}
	}
	return nil
}
