package experiments

import (
	"context"
	"math/rand/v2"
	"sort"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// Two hard samplers that package decode does not provide, used by the
// frequency-collapse and duplication experiments. Both draw tokens at
// temperature 1 from the denoiser's beliefs and, like decode's
// CompleteOnError, finish from the last beliefs if the denoiser rejects the
// evidence (an exact oracle after an invalid parallel commit).

// kernelAncestral runs the reverse process of an absorbing-type kernel with a
// closed-form posterior (kernels.Posteriorer), e.g. kernels.InfoAbsorbing,
// on the grid t_k = 1 − k/steps: a masked position moves from t to s to the
// state drawn from q(x_s | x_t = MASK, x_0 ~ belief). With token-dependent
// rates, which tokens appear early depends on their rate: the
// information-aware reverse process. It returns the tokens and the NFE.
func kernelAncestral(ctx context.Context, den decode.Denoiser, v *soft.Vocab, L int, k kernels.Posteriorer, steps int, rng *rand.Rand) ([]int32, int, error) {
	K, mask := v.Size(), v.Mask()
	ev := soft.AllMask(L, K, mask)
	bel, tmp := soft.NewDense(L, K), soft.NewDense(L, K)
	x := make([]int32, L)
	for i := range x {
		x[i] = mask
	}
	xt := make([]float32, K)
	xt[mask] = 1
	post := make([]float32, K)
	nfe, have := 0, false
	for step := 0; step < steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, nfe, err
		}
		t := 1 - float64(step)/float64(steps)
		s := 1 - float64(step+1)/float64(steps)
		if step == steps-1 {
			s = 0
		}
		nfe++
		if err := den.Denoise(tmp, ev, t); err != nil {
			if !have {
				return nil, nfe, err
			}
			break // finish from the last beliefs
		}
		bel, tmp = tmp, bel
		have = true
		for i := 0; i < L; i++ {
			if x[i] != mask {
				continue
			}
			if s == 0 {
				x[i] = soft.Sample(rng, bel.Row(i))
			} else if err := k.Posterior(post, xt, bel.Row(i), s, t); err != nil {
				return nil, nfe, err
			} else {
				x[i] = soft.Sample(rng, post)
			}
			if x[i] != mask {
				row := ev.Row(i)
				clear(row)
				row[x[i]] = 1
			}
		}
	}
	for i := range x {
		if x[i] == mask {
			x[i] = soft.Sample(rng, bel.Row(i))
		}
	}
	return x, nfe, nil
}

// cartOrder commits positions in order of Dream's CART weight (Ye et al.
// 2025, arXiv 2508.15487; kernels.CARTWeights): a masked position's weight
// grows with the visible tokens near it, w_i = ½ Σ_{unmasked j}
// p(1−p)^{|i−j|−1}, so positions next to context are decoded first. LLaDA's
// per-step counts; ties (e.g. the first step, no context) are broken at
// random.
func cartOrder(ctx context.Context, den decode.Denoiser, v *soft.Vocab, L, steps int, rng *rand.Rand) ([]int32, int, error) {
	K, mask := v.Size(), v.Mask()
	ev := soft.AllMask(L, K, mask)
	bel, tmp := soft.NewDense(L, K), soft.NewDense(L, K)
	x := make([]int32, L)
	masked := make([]bool, L)
	for i := range x {
		x[i], masked[i] = mask, true
	}
	w := make([]float64, L)
	idx := make([]int, 0, L)
	jit := make([]float64, L)
	nfe := 0
	for step, c := range lladaCounts(L, steps) {
		if err := ctx.Err(); err != nil {
			return nil, nfe, err
		}
		nfe++
		if err := den.Denoise(tmp, ev, 1-float64(step)/float64(steps)); err != nil {
			if step == 0 {
				return nil, nfe, err
			}
			break // finish from the last beliefs
		}
		bel, tmp = tmp, bel
		kernels.CARTWeights(w, masked, 0)
		idx = idx[:0]
		for i := 0; i < L; i++ {
			if masked[i] {
				idx = append(idx, i)
				jit[i] = rng.Float64()
			}
		}
		sort.Slice(idx, func(a, b int) bool {
			ia, ib := idx[a], idx[b]
			if w[ia] != w[ib] {
				return w[ia] > w[ib]
			}
			return jit[ia] < jit[ib]
		})
		for _, i := range idx[:min(c, len(idx))] {
			x[i] = soft.Sample(rng, bel.Row(i))
			masked[i] = false
			row := ev.Row(i)
			clear(row)
			row[x[i]] = 1
		}
	}
	for i := range x {
		if x[i] == mask {
			x[i] = soft.Sample(rng, bel.Row(i))
		}
	}
	return x, nfe, nil
}
