package experiments

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/softdiff/softdiff/experiments/lab"
)

func init() { lab.Register(qualityVsNFE) }

var qualityTestbeds = []string{"sticky3", "agreement"}

// qualityNetTB is the testbed of the learned models in quality-vs-nfe: the
// agreement PCFG the shipped networks (masked, mixed) were trained on, run
// with every model (exact, degraded, the networks) at learned-samples
// sequences on qualityNetGrid, and with joint final decodes of two samplers
// only (qualityNetJoint): a network's pseudo-likelihood costs L calls per
// candidate.
const qualityNetTB = "agreement-pcfg"

var qualityNetJoint = []string{"LLaDA-random", "SL-uniform"}

// qualityNetGrid is the step grid on qualityNetTB: 1, L/2, L and 2L; in a
// quick run 1 and L.
func qualityNetGrid(cfg lab.Config, L int) []int {
	if cfg.Quick {
		return []int{1, L}
	}
	return []int{1, max(2, L/2), L, 2 * L}
}

// qualitySamplers are the samplers of quality-vs-NFE under a model of the
// given kind: every registered sampler, then the joint final decode of some
// of them scored by the model's own scorer, and under a model with error
// the same joint decodes scored by the exact joint (upper bound).
func qualitySamplers(kind string, jointNames ...string) ([]samplerSpec, error) {
	if len(jointNames) == 0 {
		jointNames = []string{"LLaDA-random", "LLaDA-lowconf", "SL-uniform", "SL-geometric", "Hybrid-commit", "Hybrid-gibbs"}
	}
	joint, err := samplersNamed(jointNames...)
	if err != nil {
		return nil, err
	}
	out := allSamplers()
	for _, sp := range joint {
		out = append(out, withJoint(sp))
	}
	if kind != oracleExact {
		for _, sp := range joint {
			out = append(out, withOracleScorer(withJoint(sp)))
		}
	}
	return out, nil
}

// stepGrid is the common step grid of every step-count sampler: 1…L, then
// 2L, 4L, … up to factor·L.
func stepGrid(L, factor int) []int {
	var steps []int
	for s := 1; s <= L; s++ {
		steps = append(steps, s)
	}
	for f := 2; f <= factor; f *= 2 {
		steps = append(steps, f*L)
	}
	return steps
}

var qualityVsNFE = &lab.Experiment{
	Name:  "quality-vs-nfe",
	Rank:  4,
	Title: "sample quality against denoiser calls",
	Hypothesis: "With an exact oracle, hard decoding that commits one token per call is exact at NFE = L, " +
		"and committing several per call trades quality for NFE; soft stochastic localisation is exact only " +
		"as its step size vanishes, so at equal NFE it should trail hard decoding unless its time grid and " +
		"per-position rates are well chosen. Under a degraded (frequency-collapsed) oracle no sampler is " +
		"exact and the ranking may change.",
	Params: []lab.Param{
		{Name: "samples", Doc: "sequences per seed and setting", Default: 3000, Quick: 700, Int: true, Min: 10, Max: 100000},
		{Name: "max-factor", Doc: "every step-count sampler (hard, soft, hybrid) runs at 1…L steps and at 2L, 4L, … up to this multiple of L", Default: 8, Quick: 4, Int: true, Min: 1, Max: 64},
		{Name: "tv-margin", Doc: "a setting reaches quality only if its TV is within this margin of exact sampling's TV at the same sample size", Default: 0.03, Quick: 0.05, Min: 0, Max: 1},
		{Name: "nll-margin", Doc: "… and its NLL gap is within ± this margin (nats) of 0", Default: 0.05, Quick: 0.1, Min: 0, Max: 10},
		{Name: "invalid-margin", Doc: "… and its invalid rate is at most this", Default: 0.01, Quick: 0.01, Min: 0, Max: 1},
		{Name: "learned-samples", Doc: "sequences per seed and setting on the agreement PCFG of the learned models, every model there", Default: 30, Quick: 4, Int: true, Min: 1, Max: 100000},
	},
	Tables: []lab.TableSpec{
		{
			Name:   "quality",
			Title:  "Quality against NFE",
			Labels: []string{"testbed", "oracle", "sampler", "family", "setting"},
			Metrics: []lab.MetricSpec{
				{Name: "nfe", Kind: lab.Mean, Digits: 2, Doc: "mean denoiser calls per sequence"},
				{Name: "tv", Kind: lab.Mean, Doc: "total variation between the empirical and the true distribution"},
				{Name: "invalid", Kind: lab.Rate, Doc: "fraction of sequences of probability zero"},
				{Name: "nll-gap", Kind: lab.Mean, Doc: "mean −log p(x) over valid samples minus the entropy H(p)"},
				{Name: "distinct", Kind: lab.Mean, Doc: "distinct sequences / samples"},
			},
			Plots: qualityPlots(),
			Note: "`exact-sample` draws from the true distribution: its TV is the noise floor of the sample size, its NLL gap ≈ 0. " +
				"A negative NLL gap means samples more probable than typical (mode seeking, low diversity). " +
				"On agreement-pcfg the shipped networks (masked, mixed; no soft network) are models beside the exact and degraded oracles, every " +
				"model there with `learned-samples` sequences on the same streams at steps 1, L/2, L, 2L (a quick run: 1 and L), joint final " +
				"decodes for LLaDA-random and SL-uniform only; its support is not enumerated (no TV, no NFE-to-reach row: validity and NLL gap). " +
				"`(out of dist.)` marks a network fed evidence its objective never produces; a network's `+ IR` rows score with its own " +
				"pseudo-likelihood, the `(oracle scorer, upper bound)` rows with the exact log p.",
		},
		{
			Name:   "nfe-to-reach",
			Title:  "NFE needed to reach exact-sampling quality",
			Labels: []string{"testbed", "oracle", "sampler", "family"},
			Metrics: []lab.MetricSpec{
				{Name: "reached", Kind: lab.Rate, Doc: "fraction of seeds on which some setting reached the target"},
				{Name: "nfe", Kind: lab.Mean, Digits: 2, Doc: "smallest measured mean NFE of a setting with TV ≤ exact-sample TV + tv-margin, |NLL gap| ≤ nll-margin and invalid rate ≤ invalid-margin (over seeds that reached)"},
			},
		},
	},
	Units:   qualityUnits,
	Verdict: qualityVerdict,
}

func qualityPlots() []lab.PlotSpec {
	var ps []lab.PlotSpec
	for _, tb := range qualityTestbeds {
		for _, ok := range []string{oracleExact, oracleDegraded} {
			ps = append(ps, lab.PlotSpec{
				Name: "tv-" + tb + "-" + ok, Title: fmt.Sprintf("%s, %s oracle", tb, ok),
				X: "nfe", Y: "tv", Series: []string{"sampler"}, LogX: true,
				Filter: map[string]string{"testbed": tb, "oracle": ok},
				XLabel: "NFE (denoiser calls)", YLabel: "TV to the true distribution",
				Group: "family", Repeat: []string{"LLaDA-random", "SL-uniform"}, Clip: [2]float64{0, 1},
				Ref: map[string]string{"testbed": tb, "sampler": "exact-sample"}, RefLabel: "exact samples (noise floor)",
			})
		}
	}
	return ps
}

func qualityUnits(cfg lab.Config) ([]lab.Unit, error) {
	var us []lab.Unit
	n := cfg.Int("samples")
	for _, tbName := range append(append([]string(nil), qualityTestbeds...), qualityNetTB) {
		models, jointNames, n := modelKinds(), []string(nil), n
		if tbName == qualityNetTB {
			models, jointNames, n = withLearned(tbName, modelKinds()...), qualityNetJoint, cfg.Int("learned-samples")
		}
		for _, ok := range models {
			sps, err := qualitySamplers(ok, jointNames...)
			if err != nil {
				return nil, err
			}
			if ok == oracleExact {
				us = append(us, lab.Unit{Key: tbName + "/exact-sample", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
					tb, err := getTestbed(tbName)
					if err != nil {
						return nil, err
					}
					set, err := tb.exactSamples(ctx, n, seed, false)
					if err != nil {
						return nil, err
					}
					return []lab.Row{{Table: "quality", Labels: []string{tbName, "—", "exact-sample", "reference", "—"}, Values: tb.qualityObs(set)}}, nil
				}})
			}
			for _, sp := range sps {
				us = append(us, lab.Unit{Key: tbName + "/" + ok + "/" + sp.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
					return qualityRun(ctx, cfg, tbName, ok, sp, seed)
				}})
			}
		}
	}
	return us, nil
}

func qualityRun(ctx context.Context, cfg lab.Config, tbName, ok string, sp samplerSpec, seed uint64) ([]lab.Row, error) {
	tb, den, err := openTestbed(tbName, ok)
	if err != nil {
		return nil, err
	}
	n := cfg.Int("samples")
	steps := stepGrid(tb.m.Len(), cfg.Int("max-factor"))
	if tbName == qualityNetTB {
		n, steps = cfg.Int("learned-samples"), qualityNetGrid(cfg, tb.m.Len())
	}
	// The exact sampler at the same sample size sets the target.
	ref, err := tb.exactSamples(ctx, n, lab.Mix(seed^0xe8ac7), false)
	if err != nil {
		return nil, err
	}
	target := ref.stats.TV() + cfg.Float("tv-margin")
	best := math.Inf(1)
	var rows []lab.Row
	for si, st := range sp.settings(steps) {
		set, err := tb.generateSpec(ctx, den, sp, st, n, lab.Mix(seed+uint64(si)), false)
		if err != nil {
			return nil, fmt.Errorf("%s with %s: %w", sp.name, ok, err)
		}
		rows = append(rows, lab.Row{Table: "quality", Labels: []string{tbName, modelLabel(ok, sp.family), sp.name, sp.family, st.label}, Values: tb.qualityObs(set)})
		if tb.small && reaches(set, tb.entropy, target, cfg) && set.nfe < best {
			best = set.nfe
		}
	}
	if tb.small {
		v := map[string]lab.Obs{"reached": lab.Count(0, 1)}
		if !math.IsInf(best, 1) {
			v["reached"] = lab.Count(1, 1)
			v["nfe"] = lab.Scalar(best)
		}
		rows = append(rows, lab.Row{Table: "nfe-to-reach", Labels: []string{tbName, modelLabel(ok, sp.family), sp.name, sp.family}, Values: v})
	}
	return rows, nil
}

// reaches reports whether a sample set reaches exact-sampling quality: TV
// at most target, the NLL gap within ± nll-margin of 0 (so a mode-seeking
// decoder, whose gap is negative, cannot reach it however small its TV)
// and the invalid rate at most invalid-margin.
func reaches(set *sampleSet, entropy, target float64, cfg lab.Config) bool {
	st := set.stats
	gap := st.NLL() - entropy
	return st.TV() <= target && math.Abs(gap) <= cfg.Float("nll-margin") &&
		float64(st.Invalid) <= cfg.Float("invalid-margin")*float64(st.N)
}

func qualityVerdict(r *lab.Result) []string {
	q, reach := r.Table("quality"), r.Table("nfe-to-reach")
	if q == nil || reach == nil {
		return nil
	}
	var vs []string
	for _, tb := range qualityTestbeds {
		tbm, err := getTestbed(tb)
		if err != nil {
			continue
		}
		L := tbm.m.Len()
		floor, _ := q.Get("tv", "testbed="+tb, "sampler=exact-sample")
		for _, ok := range modelKinds() {
			// Best of each family among the settings whose measured NFE is
			// at most L (any sampler, step-count or adaptive).
			bestOf := func(fam string) (string, lab.Estimate) {
				var name string
				var best lab.Estimate
				for _, row := range q.Select("testbed="+tb, "oracle="+ok, "family="+fam) {
					e, nfe := q.Cell(row, "tv"), q.Cell(row, "nfe")
					if e.Valid() && nfe.Valid() && nfe.Value <= float64(L)+1e-9 && (name == "" || e.Value < best.Value) {
						name, best = q.Label(row, "sampler")+" ("+q.Label(row, "setting")+", NFE "+lab.Format(nfe, 1)+")", e
					}
				}
				return name, best
			}
			hn, he := bestOf(famHard)
			line := fmt.Sprintf("%s, %s oracle, measured NFE ≤ L = %d, TV (exact-sampling floor %s): best hard %s %s", tb, ok, L, lab.Format(floor, 3), hn, lab.Format(he, 3))
			for _, fam := range []string{famSoft, famHybrid, famHard + "+joint", famSoft + "+joint", famHybrid + "+joint", famHard + "+joint-oracle", famSoft + "+joint-oracle", famHybrid + "+joint-oracle"} {
				n, e := bestOf(fam)
				if n == "" {
					continue
				}
				rel := "≈ best hard"
				switch relation(e, he) {
				case -1:
					rel = "below best hard"
				case 1:
					rel = "above best hard"
				}
				line += fmt.Sprintf("; best %s %s %s (%s)", fam, n, lab.Format(e, 3), rel)
			}
			if hn != "" {
				vs = append(vs, line+".")
			}
			var reached, missed []string
			for _, row := range reach.Select("testbed="+tb, "oracle="+ok) {
				rate := reach.Cell(row, "reached")
				nfe := reach.Cell(row, "nfe")
				name := reach.Label(row, "sampler")
				if rate.Valid() && rate.K == rate.N {
					reached = append(reached, fmt.Sprintf("%s %s", name, lab.Format(nfe, 1)))
				} else if rate.Valid() && rate.K == 0 {
					missed = append(missed, name)
				}
			}
			if len(reached) > 0 {
				vs = append(vs, fmt.Sprintf("%s, %s oracle: NFE to reach the target on every seed: %s.", tb, ok, strings.Join(reached, "; ")))
			}
			if len(missed) > 0 {
				vs = append(vs, fmt.Sprintf("%s, %s oracle: never reached the target: %s.", tb, ok, strings.Join(missed, ", ")))
			}
		}
	}
	return append(vs, qualityNetVerdict(q)...)
}

// qualityNetVerdict states, on qualityNetTB under each model, the invalid
// rate and NLL gap of some samplers at L steps.
func qualityNetVerdict(q *lab.Table) []string {
	tbm, err := getTestbed(qualityNetTB)
	if err != nil {
		return nil
	}
	set := "setting=steps=" + strconv.Itoa(tbm.m.Len())
	var vs []string
	for _, ok := range withLearned(qualityNetTB, modelKinds()...) {
		var parts []string
		for _, name := range []string{"LLaDA-random", "MDLM", "LLaDA-lowconf", "SL-uniform", "SL-geometric", "Hybrid-gibbs", "LLaDA-random + IR", "SL-uniform + IR",
			"LLaDA-random + IR" + oracleScorerLabel, "SL-uniform + IR" + oracleScorerLabel} {
			for _, row := range q.Select("testbed="+qualityNetTB, "sampler="+name, set) {
				m := q.Label(row, "oracle")
				if m != ok && m != ok+" (out of dist.)" {
					continue
				}
				p := fmt.Sprintf("%s invalid %s, NLL gap %s", name, lab.Format(q.Cell(row, "invalid"), 3), lab.Format(q.Cell(row, "nll-gap"), 3))
				if m != ok {
					p += " (out of dist.)"
				}
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			vs = append(vs, fmt.Sprintf("%s, %s, %s: %s.", qualityNetTB, ok, strings.TrimPrefix(set, "setting="), strings.Join(parts, "; ")))
		}
	}
	return vs
}
