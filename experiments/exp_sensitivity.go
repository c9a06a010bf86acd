package experiments

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/degrade"
	"github.com/softdiff/softdiff/experiments/lab"
)

func init() { lab.Register(degradedSensitivity) }

// sensSetting is one setting of the degraded oracle in the sensitivity
// sweep: the parameter it moves away from degrade.Default ("—" for the
// default itself) and the options.
type sensSetting struct {
	label, param string
	o            degrade.Options
}

// The reference setting of the sweep: the exact oracle itself (no
// degrade.Oracle wrapper, so a run the oracle ends early is completed as in the
// other experiments). Its verdict is shown but not part of the stability
// judgement, which is over the settings of the degraded oracle.
const (
	sensExactLabel = "exact oracle"
	sensReference  = "reference"
)

// sensSettings is the one-at-a-time sweep around degrade.Default: the
// default, the exact oracle for reference, then each of w_max, ℓ and σ
// moved down and up (σ's default is 0, so it moves up twice), the values
// read from cfg.
func sensSettings(cfg lab.Config) []sensSetting {
	d := degrade.Default
	with := func(f func(o *degrade.Options)) degrade.Options {
		o := d
		f(&o)
		if o.Noise > 0 {
			o.Seed = degrade.Noisy.Seed
		}
		return o
	}
	out := []sensSetting{{label: "default", param: "—", o: d}, {label: sensExactLabel, param: sensReference}}
	for _, x := range []float64{cfg.Float("collapse-low"), cfg.Float("collapse-high")} {
		out = append(out, sensSetting{label: "w_max=" + ftoa(x), param: "collapse", o: with(func(o *degrade.Options) { o.Collapse = x })})
	}
	for _, x := range []float64{cfg.Float("range-short"), cfg.Float("range-long")} {
		out = append(out, sensSetting{label: "ℓ=" + ftoa(x), param: "range", o: with(func(o *degrade.Options) { o.Range = x })})
	}
	for _, x := range []float64{cfg.Float("noise-mid"), cfg.Float("noise-high")} {
		out = append(out, sensSetting{label: "σ=" + ftoa(x), param: "noise", o: with(func(o *degrade.Options) { o.Noise = x })})
	}
	return out
}

// sensComparison is one headline hard-vs-soft comparison of an experiment
// that uses the degraded oracle, re-run at every setting: the best hard
// sampler against the best soft sampler on one testbed at one step count
// (the soft samplers' NFE equals the step count; the hard samplers' is at
// most that, MDLM's cache making it smaller), judged on each of metrics
// (lower is better; for nll-gap the distance |gap| to 0).
type sensComparison struct {
	name, from, testbed string
	steps               func(L int) int
	stepsDoc            string
	hard, soft          []string
	metrics             []string
	samples             string // the parameter giving the sample size
}

var sensComparisons = []sensComparison{
	{name: "trap-two-sentence", from: "marginal-trap", testbed: "two-sentence", steps: func(int) int { return 2 }, stepsDoc: "2",
		hard: []string{"LLaDA-random", "LLaDA-lowconf", "MDLM", "Dream-entropy"}, soft: []string{"SL-uniform", "SL-geometric"},
		metrics: []string{"invalid"}, samples: "samples"},
	{name: "trap-agreement", from: "marginal-trap", testbed: "agreement", steps: func(int) int { return 2 }, stepsDoc: "2",
		hard: []string{"LLaDA-random", "LLaDA-lowconf", "MDLM", "Dream-entropy"}, soft: []string{"SL-uniform", "SL-geometric"},
		metrics: []string{"invalid"}, samples: "samples"},
	{name: "quality-sticky3", from: "quality-vs-nfe", testbed: "sticky3", steps: func(L int) int { return L }, stepsDoc: "L",
		hard: []string{"LLaDA-random", "LLaDA-lowconf", "MDLM", "Dream-entropy"}, soft: []string{"SL-uniform", "SL-geometric"},
		metrics: []string{"tv", "nll-gap"}, samples: "samples"},
	{name: "quality-agreement", from: "quality-vs-nfe", testbed: "agreement", steps: func(L int) int { return L }, stepsDoc: "L",
		hard: []string{"LLaDA-random", "LLaDA-lowconf", "MDLM", "Dream-entropy"}, soft: []string{"SL-uniform", "SL-geometric"},
		metrics: []string{"tv"}, samples: "samples"}, // every valid agreement sentence is equally likely: the NLL gap is 0 for every sampler
	{name: "collapse-kjv", from: "frequency-collapse", testbed: "kjv-hmm-16", steps: func(L int) int { return L }, stepsDoc: "L",
		hard: []string{"MDLM"}, soft: []string{"SL-uniform"}, // frequency-collapse's verdict: MDLM against SL-uniform
		metrics: []string{"unigram-kl"}, samples: "collapse-samples"},
}

var degradedSensitivity = &lab.Experiment{
	Name:  "degraded-sensitivity",
	Title: "do the hard-vs-soft verdicts under the degraded oracle survive a change of its parameters?",
	Hypothesis: "The verdicts that marginal-trap, quality-vs-nfe and frequency-collapse draw under the degraded " +
		"oracle compare hard and soft samplers under one arbitrary setting (w_max = 0.5, ℓ = 2, σ = 0). A verdict " +
		"that is a property of the samplers should hold at every reasonable setting; one that flips when w_max, ℓ " +
		"or σ moves is a property of the setting and is reported as such.",
	Params: []lab.Param{
		{Name: "samples", Doc: "sequences per seed, setting and sampler on the small testbeds (marginal trap, quality)", Default: 2000, Quick: 400, Int: true, Min: 10, Max: 100000},
		{Name: "collapse-samples", Doc: "sequences per seed, setting and sampler on kjv-hmm-16 (frequency collapse)", Default: 300, Quick: 40, Int: true, Min: 10, Max: 100000},
		{Name: "collapse-low", Doc: "w_max below the default 0.5", Default: 0.25, Quick: 0.25, Min: 0, Max: 1},
		{Name: "collapse-high", Doc: "w_max above the default 0.5", Default: 0.9, Quick: 0.9, Min: 0, Max: 1},
		{Name: "range-short", Doc: "ℓ below the default 2 (positions)", Default: 1, Quick: 1, Min: 0.1, Max: 100},
		{Name: "range-long", Doc: "ℓ above the default 2 (positions)", Default: 4, Quick: 4, Min: 0.1, Max: 100},
		{Name: "noise-mid", Doc: "log-normal noise σ above the default 0 (degrade.Noisy's level)", Default: 0.5, Quick: 0.5, Min: 0, Max: 5},
		{Name: "noise-high", Doc: "a larger noise σ", Default: 1, Quick: 1, Min: 0, Max: 5},
	},
	Tables: []lab.TableSpec{{
		Name:   "sensitivity",
		Title:  "Hard and soft samplers under each setting of the degraded oracle",
		Labels: []string{"comparison", "testbed", "setting", "parameter", "sampler", "family", "steps"},
		Metrics: []lab.MetricSpec{
			{Name: "invalid", Kind: lab.Rate, Doc: "fraction of sequences of probability zero"},
			{Name: "tv", Kind: lab.Mean, Doc: "total variation between the empirical and the true distribution (small testbeds)"},
			{Name: "nll-gap", Kind: lab.Mean, Doc: "mean −log p(x) over valid samples minus the entropy H(p)"},
			{Name: "unigram-kl", Kind: lab.Mean, Doc: "KL(generated unigram ‖ data unigram), plug-in (kjv-hmm-16)"},
			{Name: "nfe", Kind: lab.Mean, Digits: 2, Doc: "mean denoiser calls per sequence"},
		},
		Note: "One-at-a-time sweep around degrade.Default (w_max = 0.5, ℓ = 2, σ = 0); σ > 0 uses degrade.Noisy's noise seed; `exact oracle` is the reference without model error. " +
			"Comparisons: `trap-*` the marginal trap's invalid rate at 2 steps, `quality-*` quality-vs-nfe's TV and NLL gap at L steps, " +
			"`collapse-kjv` frequency-collapse's unigram KL at L steps. Soft samplers use exactly `steps` NFE, hard ones at most that (MDLM's cache).",
	}},
	Units:   sensUnits,
	Verdict: sensVerdict,
}

func sensUnits(cfg lab.Config) ([]lab.Unit, error) {
	var us []lab.Unit
	for _, c := range sensComparisons {
		sps, err := samplersNamed(append(append([]string(nil), c.hard...), c.soft...)...)
		if err != nil {
			return nil, err
		}
		for _, st := range sensSettings(cfg) {
			for _, sp := range sps {
				us = append(us, lab.Unit{Key: c.name + "/" + st.label + "/" + sp.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
					tb, err := getTestbed(c.testbed)
					if err != nil {
						return nil, err
					}
					var den decode.Denoiser = tb.m
					if st.param != sensReference {
						if den, err = degrade.New(tb.m, tb.unigram, tb.m.Vocab().Mask(), st.o); err != nil {
							return nil, err
						}
					}
					steps := c.steps(tb.m.Len())
					keep := c.from == "frequency-collapse"
					set, err := tb.generateSpec(ctx, den, sp, setting{label: "steps=" + itoa(steps), alg: sp.alg, steps: steps}, cfg.Int(c.samples), lab.Mix(seed), keep)
					if err != nil {
						return nil, err
					}
					var v map[string]lab.Obs
					if keep {
						v = collapseObs(tb, set)
						delete(v, "top10-share")
						v["invalid"] = lab.Count(set.stats.Invalid, set.stats.N)
					} else {
						v = tb.qualityObs(set)
						delete(v, "distinct")
					}
					return []lab.Row{{Table: "sensitivity", Labels: []string{c.name, c.testbed, st.label, st.param, sp.name, sp.family, strconv.Itoa(steps)}, Values: v}}, nil
				}})
			}
		}
	}
	return us, nil
}

// absEstimate is the estimate of |x| from that of x: the interval folded at
// 0 (a mean whose interval holds 0 gets [0, max(−Lo, Hi)]).
func absEstimate(e lab.Estimate) lab.Estimate {
	switch {
	case !e.Valid():
		return e
	case e.Lo >= 0 || (!e.HasCI() && e.Value >= 0):
		return e
	case e.Hi <= 0 || (!e.HasCI() && e.Value < 0):
		e.Value, e.Lo, e.Hi = -e.Value, -e.Hi, -e.Lo
		return e
	}
	e.Lo, e.Hi, e.Value = 0, math.Max(-e.Lo, e.Hi), math.Abs(e.Value)
	return e
}

// sensVerdictOf is the verdict of one comparison, metric and setting.
type sensVerdictOf struct {
	word               string // "soft better", "hard better", "no difference" or "" (no data)
	hardName, softName string
	hard, soft         lab.Estimate
}

// sensJudge finds the best hard and the best soft sampler (lowest point
// value of the metric, |gap| for nll-gap) of comparison c at setting st and
// says which is better by non-overlapping 95% intervals.
func sensJudge(t *lab.Table, c sensComparison, metric, st string) sensVerdictOf {
	best := func(names []string) (string, lab.Estimate) {
		var bn string
		var be lab.Estimate
		for _, n := range names {
			e, ok := t.Get(metric, "comparison="+c.name, "setting="+st, "sampler="+n)
			if !ok || !e.Valid() {
				continue
			}
			if metric == "nll-gap" {
				e = absEstimate(e)
			}
			if bn == "" || e.Value < be.Value {
				bn, be = n, e
			}
		}
		return bn, be
	}
	var v sensVerdictOf
	v.hardName, v.hard = best(c.hard)
	v.softName, v.soft = best(c.soft)
	if v.hardName == "" || v.softName == "" {
		return v
	}
	v.word = relWord(v.soft, v.hard, "soft better", "no difference", "hard better")
	return v
}

func sensVerdict(r *lab.Result) []string {
	t := r.Table("sensitivity")
	if t == nil {
		return nil
	}
	settings := sensSettings(r.Config)
	var per, stable []string
	for _, c := range sensComparisons {
		for _, m := range c.metrics {
			mname := m
			if m == "nll-gap" {
				mname = "|NLL gap|"
			}
			head := fmt.Sprintf("%s (%s, %s) at %s steps, %s", c.name, c.from, c.testbed, c.stepsDoc, mname)
			var parts []string
			var def string
			var flips []string
			for i, st := range settings {
				v := sensJudge(t, c, m, st.label)
				if v.word == "" {
					continue
				}
				parts = append(parts, fmt.Sprintf("%s: %s (best soft %s %s, best hard %s %s)", st.label, v.word, v.softName, lab.Format(v.soft, 3), v.hardName, lab.Format(v.hard, 3)))
				if i == 0 {
					def = v.word
				} else if st.param != sensReference && v.word != def {
					flips = append(flips, st.label+" → "+v.word)
				}
			}
			if len(parts) == 0 {
				continue
			}
			per = append(per, head+": "+strings.Join(parts, "; ")+".")
			s := fmt.Sprintf("Stable across settings? %s: yes (%s at every setting of the degraded oracle).", head, def)
			if len(flips) > 0 {
				s = fmt.Sprintf("Stable across settings? %s: no, default %s, flips at %s.", head, def, strings.Join(flips, ", "))
			}
			if ex := sensJudge(t, c, m, sensExactLabel); ex.word != "" {
				s += fmt.Sprintf(" Exact oracle (reference): %s.", ex.word)
			}
			stable = append(stable, s)
		}
	}
	return append(per, stable...)
}
