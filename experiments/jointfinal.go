package experiments

import "github.com/softdiff/softdiff/decode"

// jointParticles is the number of candidates of every joint final decode:
// the sampler runs as usual, but what it commits after its last denoiser
// call is replaced by importance resampling of jointParticles whole
// candidates from its end state (decode.Options.Final with
// decode.ImportanceResample; EDLM's rule), scored by the testbed's exact
// joint. The NFE is unchanged; the joint-scorer calls (= jointParticles)
// are not counted in it.
const jointParticles = 8

// withJoint marks a step-count sampler for a joint final decode.
func withJoint(base samplerSpec) samplerSpec {
	s := base
	s.name = base.name + " + IR"
	s.family = base.family + "+joint"
	s.joint = true
	return s
}

// jointOptions sets the joint final decode of sp on opts.
func jointOptions(sp samplerSpec, scorer decode.JointScorer, opts decode.Options) decode.Options {
	if sp.joint {
		opts.Final, opts.Scorer = decode.ImportanceResample{N: jointParticles}, scorer
	}
	return opts
}
