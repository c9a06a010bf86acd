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
// `particles` whole candidates from the end state (decode.ImportanceResample
// on decode.Result.Final; EDLM's rule). The NFE is unchanged (the final
// beliefs are the ones the last step would use); the joint-scorer calls are
// stated separately (= particles).
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
		res, err := decode.Generate(ctx, den, v, L, alg, decode.Options{Steps: steps, Rand: rng, Workers: 1, CompleteOnError: true, Record: true})
		if err != nil {
			return nil, 0, err
		}
		fin := res.Final
		if fin == nil {
			return nil, 0, fmt.Errorf("%s: no final beliefs", name)
		}
		if hard {
			if res.Err != nil {
				// The state before the last step is already impossible
				// (exact oracle): keep the sampler's own output.
				return res.Tokens, res.NFE, nil
			}
			// The beliefs of the state before the last step at time 1/steps.
			st := *fin
			st.Beliefs = soft.NewDense(L, v.Size())
			if err := den.Denoise(st.Beliefs, fin.Evidence, 1/float64(steps)); err != nil {
				return res.Tokens, res.NFE, nil
			}
			fin = &st
		}
		d, err := decode.ImportanceResample{N: particles}.Decode(ctx, fin, scorer, rng)
		if err != nil {
			return nil, 0, err
		}
		return d.Tokens, res.NFE, nil
	}
}
