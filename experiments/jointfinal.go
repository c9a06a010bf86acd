package experiments

import "github.com/softdiff/softdiff/decode"

// jointParticles is the number of candidates of every joint final decode:
// the sampler runs as usual, but what it commits after its last denoiser
// call is replaced by importance resampling of jointParticles whole
// candidates from its end state (decode.Options.Final with
// decode.ImportanceResample; EDLM's rule), scored by the model's own joint
// scorer (testbed.scorerFor: the exact joint under the exact oracle, the
// pseudo-likelihood of the model under a model with error). withOracleScorer
// makes the upper-bound variant that scores with the exact joint whatever the
// model. The NFE is unchanged; the joint-scorer calls (jointParticles
// sequences, each L denoiser calls for a pseudo-likelihood) are not counted
// in it.
const jointParticles = 8

// withJoint marks a step-count sampler for a joint final decode.
func withJoint(base samplerSpec) samplerSpec {
	s := base
	s.name = base.name + " + IR"
	s.family = base.family + "+joint"
	s.joint = true
	return s
}

// oracleScorerLabel marks the rows of joint decodes that score with the
// exact joint under a model with error.
const oracleScorerLabel = " (oracle scorer, upper bound)"

// withOracleScorer marks a joint sampler to score with the testbed's exact
// joint even under a model with error: the upper bound of what a joint
// final decode can repair.
func withOracleScorer(base samplerSpec) samplerSpec {
	s := base
	s.name = base.name + oracleScorerLabel
	s.family = base.family + "-oracle"
	s.oracleScorer = true
	return s
}

// jointOptions sets the joint final decode of sp on opts.
func jointOptions(sp samplerSpec, scorer decode.JointScorer, opts decode.Options) decode.Options {
	if sp.joint {
		opts.Final, opts.Scorer = decode.ImportanceResample{N: jointParticles}, scorer
	}
	return opts
}
