package experiments

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments/lab"
)

func init() { lab.Register(duplication) }

var dupTestbeds = []string{"kjv-hmm-16", "agreement-hmm-12"}

// dupNetTB is the testbed of the learned models in duplication: the KJV HMM
// the shipped networks were trained on, run with every model (exact,
// degraded, the three networks) at learned-samples sequences.
const dupNetTB = "kjv-hmm-32"

func dupSamplers() ([]samplerSpec, error) {
	hard, err := samplersNamed("MDLM", "LLaDA-random", "LLaDA-lowconf", "Dream-entropy")
	if err != nil {
		return nil, err
	}
	hard = append(hard,
		samplerSpec{name: "Fast-dLLM (τ=0.9)", family: famHard, adaptive: []setting{{label: "τ=0.9", alg: decode.FastDLLM{Threshold: 0.9, Temperature: 1}}}},
		cartSpec())
	rest, err := samplersNamed("SL-uniform", "LRD", "Hybrid-gibbs")
	return append(hard, rest...), err
}

var duplication = &lab.Experiment{
	Name:  "duplication",
	Rank:  3,
	Title: "adjacent repeats against the data's own rate",
	Hypothesis: "Neighbouring positions decoded in the same parallel step from independent marginals " +
		"repeat each other (\"the the\", \"brain brain\") more often than the data does, because each " +
		"position's marginal holds the token that belongs to the other; one token per step with an " +
		"exact oracle reproduces the data's rate, and soft or hybrid states should stay close to it " +
		"at fewer NFE.",
	Params: []lab.Param{
		{Name: "samples", Doc: "generated sequences per seed and setting", Default: 400, Quick: 100, Int: true, Min: 10, Max: 100000},
		{Name: "learned-samples", Doc: "generated sequences per seed and setting on the KJV HMM (L = 32) of the learned models, every model there (a quick run: steps = L/4 only for the networks)", Default: 6, Quick: 3, Int: true, Min: 1, Max: 100000},
	},
	Tables: []lab.TableSpec{{
		Name: "repeats", Title: "Adjacent-repeat rate",
		Labels: []string{"testbed", "oracle", "sampler", "family", "setting"},
		Metrics: []lab.MetricSpec{
			{Name: "repeat-rate", Kind: lab.Rate, Doc: "adjacent pairs (x_i, x_i+1) with x_i = x_i+1, over all adjacent pairs"},
			{Name: "ratio-to-data", Kind: lab.Mean, Digits: 2, Doc: "repeat rate / the data's repeat rate at the same seed"},
			{Name: "nfe", Kind: lab.Mean, Digits: 1},
		},
		Note: "`data` rows are exact samples of the same size (the data's own rate). Settings: steps = L/4 and L for step-count samplers. " +
			"On kjv-hmm-32 the shipped networks (masked, soft, mixed) are models beside the exact and degraded oracles, every model there with " +
			"`learned-samples` sequences on the same streams (the networks' step-count rows at L/4 only in a quick run); `(out of dist.)` marks a " +
			"network fed evidence its objective never produces.",
		Plots: []lab.PlotSpec{
			{Name: "repeats-kjv", Title: "KJV HMM (L = 16): adjacent repeats / data's rate", X: "nfe", Y: "ratio-to-data", Series: []string{"sampler"}, Facet: []string{"oracle"}, Group: "family", Filter: map[string]string{"testbed": "kjv-hmm-16"}, LogX: true, XLabel: "NFE", YLabel: "repeat rate / data's repeat rate",
				Ref: map[string]string{"testbed": "kjv-hmm-16", "sampler": "data"}, RefLabel: "the data's rate (ratio 1)", Clip: [2]float64{0, math.Inf(1)}},
		},
	}},
	Units: func(cfg lab.Config) ([]lab.Unit, error) {
		var us []lab.Unit
		n := cfg.Int("samples")
		sps, err := dupSamplers()
		if err != nil {
			return nil, err
		}
		for _, tbName := range append(append([]string(nil), dupTestbeds...), dupNetTB) {
			n := n
			models := modelKinds()
			if tbName == dupNetTB {
				n, models = cfg.Int("learned-samples"), withLearned(tbName, modelKinds()...)
			}
			us = append(us, lab.Unit{Key: tbName + "/data", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
				tb, err := getTestbed(tbName)
				if err != nil {
					return nil, err
				}
				set, err := tb.exactSamples(ctx, n, dataSeed(seed), false)
				if err != nil {
					return nil, err
				}
				return []lab.Row{{Table: "repeats", Labels: []string{tbName, "—", "data", "reference", "—"}, Values: map[string]lab.Obs{
					"repeat-rate": lab.Count(set.stats.Repeats, set.stats.Pairs), "ratio-to-data": lab.Scalar(1), "nfe": lab.Scalar(0)}}}, nil
			}})
			for _, ok := range models {
				for _, sp := range sps {
					us = append(us, lab.Unit{Key: tbName + "/" + ok + "/" + sp.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
						tb, den, err := openTestbed(tbName, ok)
						if err != nil {
							return nil, err
						}
						// The data's rate at the same seed, for the ratio.
						ref, err := tb.exactSamples(ctx, n, dataSeed(seed), false)
						if err != nil {
							return nil, err
						}
						dataRate := float64(ref.stats.Repeats) / float64(ref.stats.Pairs)
						L := tb.m.Len()
						var rows []lab.Row
						for si, st := range sp.settings(learnedSteps(cfg, ok, []int{L / 4, L})) {
							set, err := tb.generateSpec(ctx, den, sp, st, n, lab.Mix(seed+uint64(si)), false)
							if err != nil {
								return nil, fmt.Errorf("%s with %s: %w", sp.name, ok, err)
							}
							rate := float64(set.stats.Repeats) / float64(set.stats.Pairs)
							v := map[string]lab.Obs{"repeat-rate": lab.Count(set.stats.Repeats, set.stats.Pairs), "nfe": lab.Scalar(set.nfe)}
							if dataRate > 0 {
								v["ratio-to-data"] = lab.Scalar(rate / dataRate)
							}
							rows = append(rows, lab.Row{Table: "repeats", Labels: []string{tbName, modelLabel(ok, sp.family), sp.name, sp.family, st.label}, Values: v})
						}
						return rows, nil
					}})
				}
			}
		}
		return us, nil
	},
	Verdict: dupVerdict,
}

// dataSeed is the seed of the data sample a unit compares with: the same for
// every unit at a seed index would need the index; a fixed function of the
// unit's seed is used instead, so each unit has its own reference sample.
func dataSeed(seed uint64) uint64 { return lab.Mix(seed ^ 0xda7a) }

func dupVerdict(r *lab.Result) []string {
	t := r.Table("repeats")
	if t == nil {
		return nil
	}
	var vs []string
	for _, tb := range append(append([]string(nil), dupTestbeds...), dupNetTB) {
		data, ok := t.Get("repeat-rate", "testbed="+tb, "sampler=data")
		if !ok {
			continue
		}
		tbm, err := getTestbed(tb)
		if err != nil {
			continue
		}
		L := tbm.m.Len()
		models := modelKinds()
		if tb == dupNetTB {
			models = withLearned(tb, modelKinds()...)
		}
		for _, o := range models {
			var above, same, below []string
			for _, row := range t.Select("testbed=" + tb) {
				if m := t.Label(row, "oracle"); m != o && m != o+" (out of dist.)" {
					continue
				}
				set := t.Label(row, "setting")
				if set != "steps="+strconv.Itoa(L/4) && set != "τ=0.9" {
					continue
				}
				e := t.Cell(row, "repeat-rate")
				name := fmt.Sprintf("%s %s", t.Label(row, "sampler"), lab.Format(e, 4))
				if t.Label(row, "oracle") != o {
					name += " (out of dist.)"
				}
				switch relation(e, data) {
				case 1:
					above = append(above, name)
				case -1:
					below = append(below, name)
				default:
					same = append(same, name)
				}
			}
			j := func(xs []string) string {
				if len(xs) == 0 {
					return "none"
				}
				return strings.Join(xs, ", ")
			}
			vs = append(vs, fmt.Sprintf("%s, %s oracle, L/4 = %d steps (Fast-dLLM: τ = 0.9), data's rate %s. Above the data: %s. Not distinguishable: %s. Below: %s.", tb, o, L/4, lab.Format(data, 4), j(above), j(same), j(below)))
		}
	}
	return vs
}
