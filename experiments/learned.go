package experiments

import (
	"fmt"
	"strings"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

// The learned denoisers as models of the comparing experiments, beside the
// exact oracle and the degraded one. A model kind names the network's
// training objective; the checkpoint is the shipped network of that
// objective for the testbed (learnedNets).
const (
	oracleMaskedNet = "masked net"
	oracleSoftNet   = "soft net"
	oracleMixedNet  = "mixed net"
)

// learnedNets maps each testbed the shipped networks were trained on to its
// networks by model kind. The agreement PCFG has no soft-objective network.
var learnedNets = map[string]map[string]string{
	"kjv-hmm-32": {
		oracleMaskedNet: "kjv-hmm-32-mdlm",
		oracleSoftNet:   "kjv-hmm-32-soft",
		oracleMixedNet:  "kjv-hmm-32-mix",
	},
	"agreement-pcfg": {
		oracleMaskedNet: "agreement-pcfg-mdlm",
		oracleMixedNet:  "agreement-pcfg-mix",
	},
}

// netKindOrder is the order of the network kinds in every table.
var netKindOrder = []string{oracleMaskedNet, oracleSoftNet, oracleMixedNet}

// netObjective is the training objective of each network kind.
func netObjective(kind string) string {
	switch kind {
	case oracleMaskedNet:
		return "mdlm"
	case oracleSoftNet:
		return "soft"
	case oracleMixedNet:
		return "mix"
	}
	return ""
}

// learnedKinds returns the network kinds shipped for testbed tbName, in
// table order (none for a testbed no network was trained on).
func learnedKinds(tbName string) []string {
	var out []string
	for _, k := range netKindOrder {
		if _, ok := learnedNets[tbName][k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// withLearned returns base followed by the network kinds of tbName: the
// model list of a comparing experiment on that testbed.
func withLearned(tbName string, base ...string) []string {
	return append(append([]string(nil), base...), learnedKinds(tbName)...)
}

// isNetKind reports whether kind is a learned model.
func isNetKind(kind string) bool { return netObjective(kind) != "" }

// modelLabel is the model column of a row: the kind, marked "(out of
// dist.)" when kind is a network whose training objective never produces
// the evidence the sampler family feeds it (inDistribution).
func modelLabel(kind, family string) string {
	if !isNetKind(kind) {
		return kind
	}
	base := strings.TrimSuffix(strings.TrimSuffix(family, "-oracle"), "+joint")
	if !inDistribution(netObjective(kind), samplerProcess(base)) {
		return kind + " (out of dist.)"
	}
	return kind
}

// netDenoiser returns a fresh denoiser of the network of the given kind
// for tbName (a cachedNet: one per unit run, not for concurrent use).
func netDenoiser(tbName, kind string) (*testbed, decode.Denoiser, error) {
	name, ok := learnedNets[tbName][kind]
	if !ok {
		return nil, nil, fmt.Errorf("no %s is shipped for testbed %s", kind, tbName)
	}
	m, tb, err := meOpen(name)
	if err != nil {
		return nil, nil, err
	}
	if tb.name != tbName {
		return nil, nil, fmt.Errorf("model %s is trained on %s, not %s", name, tb.name, tbName)
	}
	c := newCachedNet(m, tb.m.Vocab().Mask())
	c.uni = tb.unigram
	return tb, c, nil
}

// cachedNet answers with a network and memoises its beliefs for hard
// evidence (every row one-hot at a token or at MASK), which recurs across
// the runs of hard samplers and pseudo-likelihood scoring: the first call
// of every hard run is the all-MASK state. A hit returns the very float32
// beliefs the network computed for the same evidence, so outputs do not
// depend on the cache. Not safe for concurrent use.
type cachedNet struct {
	net   *nn.Model
	uni   []float64 // the training data's unigram distribution (the testbed's), for kernels built from it
	mask  int32
	cache map[string][]float32
	key   []byte
}

// cachedNetLimit bounds the entries of one cache (each L·K float32).
const cachedNetLimit = 1 << 13

func newCachedNet(m *nn.Model, mask int32) *cachedNet {
	return &cachedNet{net: m, mask: mask, cache: map[string][]float32{}}
}

// hardKey writes the token ids of hard evidence into c.key and reports
// whether the evidence is hard.
func (c *cachedNet) hardKey(ev *soft.Dense) bool {
	c.key = c.key[:0]
	for i := 0; i < ev.L; i++ {
		tok := int32(-1)
		for v, x := range ev.Row(i) {
			switch {
			case x == 0:
			case x == 1 && tok < 0:
				tok = int32(v)
			default:
				return false
			}
		}
		if tok < 0 {
			return false
		}
		u := uint32(tok)
		c.key = append(c.key, byte(u), byte(u>>8))
	}
	return true
}

// Denoise implements decode.Denoiser.
func (c *cachedNet) Denoise(dst, ev *soft.Dense, t float64) error {
	hard := c.hardKey(ev)
	if hard {
		if b, ok := c.cache[string(c.key)]; ok && len(b) == len(dst.Data) {
			copy(dst.Data, b)
			return nil
		}
	}
	if err := c.net.Denoise(dst, ev, t); err != nil {
		return err
	}
	if hard && len(c.cache) < cachedNetLimit {
		c.cache[string(c.key)] = append([]float32(nil), dst.Data...)
	}
	return nil
}

// exactScratch is an L×K state of tb for the exact posterior.
func exactScratch(tb *testbed) *soft.Dense { return soft.NewDense(tb.m.Len(), tb.m.Vocab().Size()) }

// learnedSteps returns the step counts a network runs at among steps: all
// of them in a full run, only the first in a quick one (networks cost
// milliseconds a call where the oracles cost microseconds).
func learnedSteps(cfg lab.Config, kind string, steps []int) []int {
	if cfg.Quick && isNetKind(kind) && len(steps) > 1 {
		return steps[:1]
	}
	return steps
}
