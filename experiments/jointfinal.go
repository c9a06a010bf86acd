package experiments

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// withJointFinal returns base with a joint final decode: the sampler runs as
// usual, but its last parallel draw is replaced by importance resampling of
// `particles` whole candidates from the same final beliefs, weighted by the
// joint scorer p/q (decode.ImportanceResample; EDLM's rule). The NFE is
// unchanged (the final beliefs are the ones the last step would use); the
// joint-scorer calls are stated separately (= particles).
//
//   - Soft and hybrid samplers (decode.SoftSL, decode.Hybrid) end with one
//     denoiser call whose beliefs Result.Beliefs holds; IR replaces the
//     parallel draw from them.
//   - Hard samplers that commit a fixed number of tokens per step (LLaDA):
//     the run is recorded, the state before its last step is taken, and IR
//     draws the remaining positions from that step's beliefs (committed
//     positions are hard evidence, one-hot in the beliefs, so they stay).
//
// scorer is the joint scorer (the exact testbed).
// jointParticles is the number of candidates of every joint final decode.
const jointParticles = 8

// withJoint marks a step-count sampler for a joint final decode.
func withJoint(base samplerSpec) samplerSpec {
	s := base
	s.name = base.name + " + IR"
	s.family = base.family + "+joint"
	s.joint = true
	return s
}

func jointFinal(name string, alg decode.Algorithm, scorer decode.JointScorer, particles int) func(context.Context, decode.Denoiser, *soft.Vocab, int, int, *rand.Rand) ([]int32, int, error) {
	return func(ctx context.Context, den decode.Denoiser, v *soft.Vocab, L, steps int, rng *rand.Rand) ([]int32, int, error) {
		_, hard := alg.(decode.LLaDA)
		res, err := decode.Generate(ctx, den, v, L, alg, decode.Options{Steps: steps, Rand: rng, Workers: 1, CompleteOnError: true, Record: hard})
		if err != nil {
			return nil, 0, err
		}
		bel, nfe := res.Beliefs, res.NFE
		if hard {
			// Beliefs before the last step: all MASK for one step, else the
			// recorded state before the final step.
			ev := soft.AllMask(L, v.Size(), v.Mask())
			if steps > 1 && len(res.Trajectory) >= 2 {
				prev := res.Trajectory[len(res.Trajectory)-2]
				for i, tok := range prev {
					if tok != v.Mask() {
						row := ev.Row(i)
						clear(row)
						row[tok] = 1
					}
				}
			}
			bel = soft.NewDense(L, v.Size())
			if err := den.Denoise(bel, ev, 1/float64(steps)); err != nil {
				// The state before the last step is already impossible
				// (exact oracle): keep the sampler's own output.
				return res.Tokens, nfe, nil
			}
		}
		if bel == nil {
			return nil, 0, fmt.Errorf("%s: no final beliefs", name)
		}
		d, err := decode.ImportanceResample(rng, scorer, bel, decode.ResampleOptions{N: particles})
		if err != nil {
			return nil, 0, err
		}
		return d.Tokens, nfe, nil
	}
}
