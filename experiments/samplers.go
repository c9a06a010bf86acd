package experiments

import (
	"fmt"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// setting is one point of a sampler's sweep.
type setting struct {
	label string // e.g. "steps=3" or "τ=0.9"
	alg   decode.Algorithm
	steps int
}

// samplerSpec is a sampler and how to sweep its cost. Samplers that take a
// step count are run at each requested step count; adaptive ones (Fast-dLLM,
// EB) sweep their own threshold and their NFE is measured.
type samplerSpec struct {
	name, family string
	alg          decode.Algorithm // for step-count samplers
	adaptive     []setting        // for adaptive samplers
	// build, if set, makes the sampler for a testbed's denoiser (a sampler
	// that depends on the model, as the information-aware kernel).
	build func(den decode.Denoiser, v *soft.Vocab) (decode.Algorithm, error)
	// joint: replace the final parallel draw by importance resampling
	// against the testbed's exact joint scorer (withJoint).
	joint bool
	// oracleScorer: score the joint final decode with the testbed's exact
	// joint even under a learned model (withOracleScorer; learned.go).
	oracleScorer bool
}

func (s samplerSpec) settings(steps []int) []setting {
	if s.adaptive != nil {
		return s.adaptive
	}
	out := make([]setting, len(steps))
	for i, n := range steps {
		out[i] = setting{label: "steps=" + itoa(n), alg: s.alg, steps: n}
	}
	return out
}

// The built-in samplers, in the order of the tables: one line each. All
// draw tokens at temperature 1: they aim to sample the distribution, so
// their errors are sampler errors, not the mode-seeking of greedy decoding.
func init() {
	var fast, eb []Setting
	for _, tau := range []float64{0.3, 0.5, 0.7, 0.9, 0.99} {
		fast = append(fast, Setting{Label: "τ=" + ftoa(tau), Alg: decode.FastDLLM{Threshold: tau, Temperature: 1}})
	}
	for _, g := range []float64{4, 1, 0.3, 0.1, 0.01} {
		eb = append(eb, Setting{Label: "γ=" + ftoa(g), Alg: decode.EB{Gamma: g, Temperature: 1}})
	}
	hybrid := decode.SoftSL{Grid: decode.GridGeometric, Commit: decode.CommitLocalised, CommitThreshold: 0.05}

	RegisterSampler(Sampler{Family: FamilyHard, Alg: decode.MDLM{}})
	RegisterSampler(Sampler{Family: FamilyHard, Alg: decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}})
	RegisterSampler(Sampler{Family: FamilyHard, Alg: decode.LLaDA{Remasking: decode.LowConfidence, Temperature: 1}})
	RegisterSampler(Sampler{Family: FamilyHard, Alg: decode.Dream{Alg: decode.DreamEntropy, Temperature: 1}})
	RegisterSampler(Sampler{Family: FamilyHard, Alg: decode.ReMDM{Strategy: decode.ReMDMCap}})
	RegisterSampler(Sampler{Family: FamilyHard, Sweep: fast})
	RegisterSampler(Sampler{Family: FamilyHard, Sweep: eb})
	RegisterSampler(Sampler{Family: FamilySoft, Alg: decode.SoftSL{Grid: decode.GridUniform}})
	RegisterSampler(Sampler{Family: FamilySoft, Alg: decode.SoftSL{Grid: decode.GridGeometric}})
	RegisterSampler(Sampler{Family: FamilySoft, Alg: decode.SoftSL{Grid: decode.GridGeometric, Rate: decode.RateEntropy}})
	RegisterSampler(Sampler{Family: FamilySoft, Alg: decode.SoftSL{Grid: decode.GridInfo}})
	RegisterSampler(Sampler{Family: FamilySoft, Alg: decode.LRD{Temperature: 1}})
	RegisterSampler(Sampler{Family: FamilyHybrid, Alg: decode.Hybrid{SoftSL: hybrid}})
	RegisterSampler(Sampler{Family: FamilyHybrid, Alg: decode.Hybrid{SoftSL: hybrid, Corrector: decode.CorrectGibbs, Moves: 1}})
}

// Sampler families.
const (
	FamilyHard   = "hard"
	FamilySoft   = "soft"
	FamilyHybrid = "hybrid"

	famHard   = FamilyHard
	famSoft   = FamilySoft
	famHybrid = FamilyHybrid
)

// Sampler is a sampler the experiments compare. A sampler that takes a step
// count (Alg) runs at every step count an experiment sweeps; an adaptive one
// (stopping on its own rule, ignoring Options.Steps) runs at each of its
// Sweep settings instead and its NFE is measured.
type Sampler struct {
	// Name is the sampler's name in tables; empty means Alg.Name() (for a
	// sweep, the first setting's Alg.Name()).
	Name string
	// Family is FamilyHard, FamilySoft or FamilyHybrid: the group its
	// results are compared within.
	Family string
	Alg    decode.Algorithm
	Sweep  []Setting
}

// Setting is one labelled setting of an adaptive sampler's sweep.
type Setting struct {
	Label string // e.g. "τ=0.9"
	Alg   decode.Algorithm
}

var samplerRegistry []Sampler

// RegisterSampler adds s to the samplers of the experiments: quality-vs-nfe
// runs every registered sampler, in registration order (the built-in ones
// first), and the other experiments pick theirs by name, a name that is not
// registered being an error. Register from an init function, before any
// experiment runs. It panics on a duplicate or empty name, an unknown
// family, or neither or both of Alg and Sweep: programming errors.
func RegisterSampler(s Sampler) {
	if (s.Alg == nil) == (s.Sweep == nil) {
		panic("experiments: RegisterSampler needs exactly one of Alg and Sweep")
	}
	for _, st := range s.Sweep {
		if st.Alg == nil || st.Label == "" {
			panic("experiments: RegisterSampler: a sweep setting without label or algorithm")
		}
	}
	if s.Name == "" {
		if s.Alg != nil {
			s.Name = s.Alg.Name()
		} else {
			s.Name = s.Sweep[0].Alg.Name()
		}
	}
	switch s.Family {
	case FamilyHard, FamilySoft, FamilyHybrid:
	default:
		panic("experiments: RegisterSampler " + s.Name + ": unknown family " + s.Family)
	}
	if s.Name == "" {
		panic("experiments: RegisterSampler: empty name")
	}
	for _, r := range samplerRegistry {
		if r.Name == s.Name {
			panic("experiments: duplicate sampler " + s.Name)
		}
	}
	samplerRegistry = append(samplerRegistry, s)
}

// Samplers returns the registered samplers in registration order.
func Samplers() []Sampler { return append([]Sampler(nil), samplerRegistry...) }

func (s Sampler) spec() samplerSpec {
	sp := samplerSpec{name: s.Name, family: s.Family, alg: s.Alg}
	for _, st := range s.Sweep {
		sp.adaptive = append(sp.adaptive, setting{label: st.Label, alg: st.Alg})
	}
	return sp
}

// allSamplers returns every registered sampler.
func allSamplers() []samplerSpec {
	out := make([]samplerSpec, len(samplerRegistry))
	for i, s := range samplerRegistry {
		out[i] = s.spec()
	}
	return out
}

// samplersNamed returns the registered samplers called names, in that
// order; a name that is not registered is an error.
func samplersNamed(names ...string) ([]samplerSpec, error) {
	out := make([]samplerSpec, 0, len(names))
	for _, n := range names {
		found := false
		for _, s := range samplerRegistry {
			if s.Name == n {
				out = append(out, s.spec())
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("no sampler named %q is registered", n)
		}
	}
	return out, nil
}

// cartSpec is Dream's CART order (decode.CART), sampling at temperature 1,
// used by the frequency-collapse and duplication experiments.
func cartSpec() samplerSpec {
	return samplerSpec{name: "CART order", family: famHard, alg: decode.CART{Temperature: 1}}
}
