package experiments

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/oracle"
)

func init() { lab.Register(marginalTrap) }

var trapTestbeds = []string{"two-sentence", "agreement", "agreement-pcfg"}

var marginalTrap = &lab.Experiment{
	Name:  "marginal-trap",
	Rank:  1,
	Title: "invalid combinations against tokens committed per step",
	Hypothesis: "Committing several dependent positions in one parallel step from independent " +
		"per-position marginals produces combinations the data never contains: on the two-sentence " +
		"corpus one fully parallel step is invalid with probability exactly 0.75, and the rate falls " +
		"to 0 only at one token per step (exact oracle). A soft sampler that delays commitment " +
		"(stochastic localisation) should approach validity as its NFE grows without committing one " +
		"token per call, and under a degraded oracle neither family is exact.",
	Params: []lab.Param{
		{Name: "samples", Doc: "sequences per seed and setting", Default: 1500, Quick: 300, Int: true, Min: 10, Max: 100000},
		{Name: "max-steps", Doc: "every step-count sampler runs at 1…L steps and at the powers of 2 up to this", Default: 32, Quick: 16, Int: true, Min: 1, Max: 1024},
		{Name: "learned-samples", Doc: "sequences per seed and setting with a learned model (agreement PCFG networks)", Default: 120, Quick: 12, Int: true, Min: 10, Max: 100000},
	},
	Tables: []lab.TableSpec{{
		Name:   "invalid",
		Title:  "Invalid-combination rate",
		Labels: []string{"testbed", "oracle", "sampler", "family", "steps", "tokens/step"},
		Metrics: []lab.MetricSpec{
			{Name: "invalid", Kind: lab.Rate, Doc: "fraction of generated sequences outside the corpus"},
			{Name: "exact", Kind: lab.Exact, Doc: "closed-form invalid probability of random-order parallel decoding (LLaDA-random, and every hard sampler at one step)"},
			{Name: "nfe", Kind: lab.Mean, Digits: 2, Doc: "mean denoiser calls per sequence"},
		},
		Plots: []lab.PlotSpec{
			{Name: "invalid-two-sentence", Title: "two-sentence corpus, exact oracle", X: "nfe", Y: "invalid", Series: []string{"sampler"}, Filter: map[string]string{"testbed": "two-sentence", "oracle": oracleExact}, LogX: true, XLabel: "NFE (denoiser calls)", YLabel: "invalid rate", Group: "family", Repeat: []string{"LLaDA-random", "SL-uniform"}, Exact: "exact", ExactLabel: "closed form (exact)"},
			{Name: "invalid-two-sentence-degraded", Title: "two-sentence corpus, degraded oracle", X: "nfe", Y: "invalid", Series: []string{"sampler"}, Filter: map[string]string{"testbed": "two-sentence", "oracle": oracleDegraded}, LogX: true, XLabel: "NFE (denoiser calls)", YLabel: "invalid rate", Group: "family", Repeat: []string{"LLaDA-random", "SL-uniform"}, Exact: "exact", ExactLabel: "closed form (exact)"},
			{Name: "invalid-agreement", Title: "agreement corpus, exact oracle", X: "nfe", Y: "invalid", Series: []string{"sampler"}, Filter: map[string]string{"testbed": "agreement", "oracle": oracleExact}, LogX: true, XLabel: "NFE (denoiser calls)", YLabel: "invalid rate", Group: "family", Repeat: []string{"LLaDA-random", "SL-uniform"}, Exact: "exact", ExactLabel: "closed form (exact)"},
			{Name: "invalid-agreement-degraded", Title: "agreement corpus, degraded oracle", X: "nfe", Y: "invalid", Series: []string{"sampler"}, Filter: map[string]string{"testbed": "agreement", "oracle": oracleDegraded}, LogX: true, XLabel: "NFE (denoiser calls)", YLabel: "invalid rate", Group: "family", Repeat: []string{"LLaDA-random", "SL-uniform"}, Exact: "exact", ExactLabel: "closed form (exact)"},
		},
		Note: "Every sampler runs on the same grid of steps, 1…L and the powers of 2 up to `max-steps` (tokens/step = L/steps; MDLM's cache makes its NFE smaller than its steps); plots are by measured NFE; all sample at temperature 1. " +
			"`exact` is computed by enumerating every commit order and token draw (random order, LLaDA's per-step counts). " +
			"On the agreement PCFG the shipped networks (masked net, mixed net) are models beside the oracles, with learned-samples sequences; " +
			"`(out of dist.)` marks a network fed evidence its objective never produces; their `+ IR` rows score with the network's own " +
			"pseudo-likelihood, the `(oracle scorer, upper bound)` rows with the exact log p.",
	}},
	Units: func(cfg lab.Config) ([]lab.Unit, error) {
		var us []lab.Unit
		n := cfg.Int("samples")
		hard := []string{"LLaDA-random", "LLaDA-lowconf", "MDLM", "Dream-entropy"}
		soft := []string{"SL-uniform", "SL-geometric"}
		for _, tbName := range trapTestbeds {
			for _, ok := range withLearned(tbName, modelKinds()...) { // + learned models (learned.go)
				sps, err := samplersNamed(append(append(hard, soft...), "Hybrid-gibbs", "LLaDA-random", "SL-uniform")...)
				if err != nil {
					return nil, err
				}
				sps[len(sps)-2], sps[len(sps)-1] = withJoint(sps[len(sps)-2]), withJoint(sps[len(sps)-1])
				if ok != oracleExact {
					sps = append(sps, withOracleScorer(sps[len(sps)-2]), withOracleScorer(sps[len(sps)-1]))
				}
				for _, sp := range sps {
					us = append(us, lab.Unit{Key: tbName + "/" + ok + "/" + sp.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
						tb, den, err := openTestbed(tbName, ok)
						if err != nil {
							return nil, err
						}
						L := tb.m.Len()
						steps := trapGrid(L, cfg.Int("max-steps"))
						var rows []lab.Row
						n := n
						if isNetKind(ok) {
							n = cfg.Int("learned-samples")
						}
						for si, st := range sp.settings(steps) {
							set, err := tb.generateSpec(ctx, den, sp, st, n, lab.Mix(seed+uint64(si)), false)
							if err != nil {
								return nil, err
							}
							v := map[string]lab.Obs{
								"invalid": lab.Count(set.stats.Invalid, set.stats.N),
								"nfe":     lab.Scalar(set.nfe),
							}
							if _, isCorpus := tb.m.(*oracle.Corpus); isCorpus && (sp.name == "LLaDA-random" || (st.steps == 1 && !sp.joint)) {
								p, err := randomOrderValid(tb, den, lladaCounts(L, st.steps))
								if err != nil {
									return nil, err
								}
								v["exact"] = lab.Scalar(1 - p)
							}
							rows = append(rows, lab.Row{Table: "invalid", Labels: []string{tbName, modelLabel(ok, sp.family), sp.name, sp.family, strconv.Itoa(st.steps), ftoa(roundTo(float64(L)/float64(st.steps), 2))}, Values: v})
						}
						return rows, nil
					}})
				}
			}
		}
		return us, nil
	},
	Verdict: trapVerdict,
}

// trapGrid is the step grid of every sampler of the marginal trap: 1…L and
// the powers of 2 up to maxSteps, increasing.
func trapGrid(L, maxSteps int) []int {
	var steps []int
	for s := 1; s <= L; s++ {
		steps = append(steps, s)
	}
	for p := 1; p <= maxSteps; p *= 2 {
		if p > L {
			steps = append(steps, p)
		}
	}
	return steps
}

func roundTo(x float64, d int) float64 {
	p := 1.0
	for i := 0; i < d; i++ {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

func trapVerdict(r *lab.Result) []string {
	t := r.Table("invalid")
	if t == nil {
		return nil
	}
	var vs []string
	if m, ok := t.Get("invalid", "testbed=two-sentence", "oracle=exact", "sampler=LLaDA-random", "steps=1"); ok {
		e, _ := t.Get("exact", "testbed=two-sentence", "oracle=exact", "sampler=LLaDA-random", "steps=1")
		cover := "covers"
		if !m.Contains(e.Value) {
			cover = "does NOT cover"
		}
		vs = append(vs, fmt.Sprintf("Two-sentence corpus, one parallel step: measured invalid rate %s %s the closed form %.4f.", lab.Format(m, 3), cover, e.Value))
	}
	soft := r.Config.Int("max-steps")
	for _, tb := range trapTestbeds {
		for _, ok := range modelKinds() {
			h1, ok1 := t.Get("invalid", "testbed="+tb, "oracle="+ok, "sampler=LLaDA-random", "steps=1")
			s, ok2 := t.Get("invalid", "testbed="+tb, "oracle="+ok, "sampler=SL-uniform", "steps="+strconv.Itoa(soft))
			if ok1 && ok2 {
				vs = append(vs, fmt.Sprintf("%s, %s oracle: %s.", tb, ok, compare(fmt.Sprintf("soft SL-uniform at %d NFE", soft), s, "hard at 1 step", h1, 3)))
			}
			// Every sampler at 2 NFE, lowest first.
			type entry struct {
				name string
				e    lab.Estimate
			}
			var at2 []entry
			for _, row := range t.Select("testbed="+tb, "oracle="+ok, "steps=2") {
				if e := t.Cell(row, "invalid"); e.Valid() {
					at2 = append(at2, entry{t.Label(row, "sampler"), e})
				}
			}
			sort.SliceStable(at2, func(i, j int) bool { return at2[i].e.Value < at2[j].e.Value })
			if len(at2) > 0 {
				parts := make([]string, len(at2))
				for i, x := range at2 {
					parts[i] = x.name + " " + lab.Format(x.e, 3)
				}
				vs = append(vs, fmt.Sprintf("%s, %s oracle, 2 NFE, lowest invalid rate first: %s.", tb, ok, strings.Join(parts, "; ")))
			}
			// Equal NFE = L: one token per step (hard) against soft.
			tbm, err := getTestbed(tb)
			if err != nil {
				continue
			}
			L := tbm.m.Len()
			hL, ok3 := t.Get("invalid", "testbed="+tb, "oracle="+ok, "sampler=LLaDA-random", "steps="+strconv.Itoa(L))
			sL, ok4 := t.Get("invalid", "testbed="+tb, "oracle="+ok, "sampler=SL-uniform", "steps="+strconv.Itoa(L))
			if ok3 && ok4 {
				vs = append(vs, fmt.Sprintf("%s, %s oracle, equal NFE: %s.", tb, ok, compare(fmt.Sprintf("soft SL-uniform at %d NFE", L), sL, fmt.Sprintf("hard one-token-per-step at %d NFE", L), hL, 3)))
			}
		}
	}
	return vs
}
