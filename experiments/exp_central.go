package experiments

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/softdiff/softdiff/experiments/lab"
)

func init() { lab.Register(learnedCentral) }

// centralTestbeds are the testbeds the shipped networks were trained on.
var centralTestbeds = []string{"agreement-pcfg", "kjv-hmm-32"}

// The families of the central table.
const (
	cfHard1    = "hard 1/step"
	cfHardPar  = "hard parallel"
	cfSoft     = "soft"
	cfHybrid   = "hybrid"
	cfJoint    = " + joint"
	cfJointOrc = " + joint (oracle scorer, upper bound)"
)

// centralFamily is one row group of the central table: a sampler and the
// step counts it is swept over.
type centralFamily struct {
	name  string
	sp    samplerSpec
	steps []int
}

// centralFamilies returns the families on a testbed of length L for model
// kind (a network also gets the joint families with the oracle scorer).
// Hard one-token-per-step is LLaDA-random at L steps (exactly one commit a
// call); hard parallel the same sampler at fewer steps; soft SL-geometric
// and hybrid Hybrid-gibbs at NFE L/4 … maxFactor·L. Joint families replace
// the final draw by importance resampling of 8 candidates; jointGrid
// limits their steps (nil: the family's own grid).
func centralFamilies(L, maxFactor int, kind string, jointGrid func(steps []int) []int) ([]centralFamily, error) {
	sps, err := samplersNamed("LLaDA-random", "SL-geometric", "Hybrid-gibbs")
	if err != nil {
		return nil, err
	}
	l4 := max(1, L/4)
	var par []int
	if L <= 8 {
		for s := 1; s < L; s++ {
			par = append(par, s)
		}
	} else {
		for s := 1; s < L; s *= 2 {
			par = append(par, s)
		}
		if !slices.Contains(par, l4) {
			par = append(par, l4)
			slices.Sort(par)
		}
	}
	grid := []int{l4}
	for _, s := range []int{L / 2, L} {
		if s > grid[len(grid)-1] {
			grid = append(grid, s)
		}
	}
	for f := 2; f <= maxFactor; f *= 2 {
		grid = append(grid, f*L)
	}
	base := []centralFamily{
		{cfHard1, sps[0], []int{L}},
		{cfHardPar, sps[0], par},
		{cfSoft, sps[1], grid},
		{cfHybrid, sps[2], grid},
	}
	out := append([]centralFamily(nil), base...)
	for _, f := range base {
		st := f.steps
		if jointGrid != nil {
			st = jointGrid(st)
		}
		if len(st) == 0 {
			continue
		}
		j := centralFamily{f.name + cfJoint, withJoint(f.sp), st}
		out = append(out, j)
		if isNetKind(kind) {
			out = append(out, centralFamily{f.name + cfJointOrc, withOracleScorer(withJoint(f.sp)), st})
		}
	}
	return out, nil
}

// centralModels are the models of the central table on a testbed.
func centralModels(tbName string) []string { return withLearned(tbName, oracleExact) }

var learnedCentral = &lab.Experiment{
	Name:  "learned-central",
	Title: "hard against soft under a learned model's error",
	Hypothesis: "With an exact oracle, hard decoding one token per call reaches the testbed's own sample " +
		"quality at NFE = L, and soft and hybrid samplers need about as many calls or more. Under a learned " +
		"denoiser every family inherits the network's error; if soft states and hybrid refinement are robust " +
		"to it they should reach the same quality at fewer NFE than hard decoding with the same network, and " +
		"a joint final decode with the network's own pseudo-likelihood should recover part of what the exact " +
		"scorer recovers. Frequency collapse and duplication decompose into the part the sampler causes with " +
		"an exact oracle and the part the network adds at the same sampler and NFE.",
	Params: []lab.Param{
		{Name: "samples-pcfg", Doc: "sequences per seed and setting on the agreement PCFG", Default: 150, Quick: 24, Int: true, Min: 10, Max: 100000},
		{Name: "samples-kjv", Doc: "sequences per seed and setting on the KJV HMM (L = 32)", Default: 24, Quick: 4, Int: true, Min: 4, Max: 100000},
		{Name: "joint-samples-kjv", Doc: "sequences per seed and setting of the joint families on the KJV HMM (0: none)", Default: 6, Quick: 0, Int: true, Min: 0, Max: 100000},
		{Name: "max-factor", Doc: "soft and hybrid samplers run up to NFE = this multiple of L", Default: 2, Quick: 1, Int: true, Min: 1, Max: 16},
		{Name: "nll-margin", Doc: "a setting reaches the target when its |NLL gap| per token is within this of the reference's", Default: 0.02, Quick: 0.03, Min: 0, Max: 10},
		{Name: "invalid-margin", Doc: "… and its invalid rate within this of the reference's", Default: 0.01, Quick: 0.02, Min: 0, Max: 1},
		{Name: "decomp-samples", Doc: "sequences per seed and setting of the decomposition (KJV HMM)", Default: 24, Quick: 4, Int: true, Min: 4, Max: 100000},
	},
	Tables: []lab.TableSpec{
		{
			Name: "central", Title: "Fewest NFE to reach exact one-token-per-step quality, and quality at NFE = L/4",
			Labels: []string{"testbed", "family", "model"},
			Metrics: []lab.MetricSpec{
				{Name: "reached", Kind: lab.Rate, Doc: "fraction of seeds on which some setting reached the target"},
				{Name: "nfe", Kind: lab.Mean, Digits: 1, Doc: "fewest mean NFE of a setting that reached the target (over the seeds that reached)"},
				{Name: "gap@L/4", Kind: lab.Mean, Digits: 4, Doc: "NLL gap per token, (mean −log p(x) over valid samples − H)/L, at the setting with L/4 steps"},
				{Name: "invalid@L/4", Kind: lab.Rate, Doc: "invalid rate at that setting"},
				{Name: "ref-gap", Kind: lab.Mean, Digits: 4, Doc: "the target's NLL gap per token: exact oracle, hard one token per step, at the same seed and sample size"},
			},
			Note: "The target at each seed: |NLL gap per token| ≤ |ref-gap| + nll-margin and invalid rate ≤ the reference's + invalid-margin, " +
				"the reference being the exact oracle decoding one token per step (LLaDA-random at L steps) on a fresh sample of the same size. " +
				"Families: hard 1/step = LLaDA-random at L steps; hard parallel = LLaDA-random at fewer steps; soft = SL-geometric; " +
				"hybrid = Hybrid-gibbs (NFE from L/4 up); `+ joint` = importance resampling of 8 whole candidates after the last call, scored by " +
				"the model's own joint (the exact log p for the exact oracle, the network's pseudo-log-likelihood decode.PLL for a network); " +
				"`+ joint (oracle scorer, upper bound)` scores a network's candidates with the exact log p instead. Joint-scorer calls are not " +
				"counted in the NFE (the PLL costs L network calls per candidate). Models: the shipped networks of the testbed " +
				"(masked = MDLM objective, soft = Gaussian-channel objective, mixed = both); `(out of dist.)` marks a network fed evidence its " +
				"objective never produces. The agreement PCFG has no soft network. Its support is not enumerated, so the criterion is NLL gap and validity (no TV).",
		},
		{
			Name: "curves", Title: "Quality against NFE per family and model",
			Labels: []string{"testbed", "family", "model", "steps"},
			Metrics: []lab.MetricSpec{
				{Name: "nfe", Kind: lab.Mean, Digits: 1, Doc: "mean denoiser calls per sequence"},
				{Name: "gap", Kind: lab.Mean, Digits: 4, Doc: "NLL gap per token over valid samples"},
				{Name: "invalid", Kind: lab.Rate, Doc: "fraction of sequences of probability zero"},
				{Name: "reached", Kind: lab.Rate, Doc: "fraction of seeds on which this setting met the target"},
			},
			Plots: []lab.PlotSpec{
				{Name: "gap-pcfg", Title: "agreement PCFG: NLL gap per token against NFE", X: "nfe", Y: "gap", Series: []string{"family", "model"},
					Facet: []string{"model"}, Filter: map[string]string{"testbed": "agreement-pcfg"}, LogX: true, XLabel: "NFE", YLabel: "NLL gap per token (nats)"},
				{Name: "gap-kjv", Title: "KJV HMM (L = 32): NLL gap per token against NFE", X: "nfe", Y: "gap", Series: []string{"family", "model"},
					Facet: []string{"model"}, Filter: map[string]string{"testbed": "kjv-hmm-32"}, LogX: true, XLabel: "NFE", YLabel: "NLL gap per token (nats)"},
			},
		},
		{
			Name: "decomposition", Title: "Where frequency collapse and duplication come from: the sampler (exact oracle) and what the network adds",
			Labels: []string{"testbed", "sampler", "steps", "model", "in-dist"},
			Metrics: []lab.MetricSpec{
				{Name: "unigram-kl", Kind: lab.Mean, Doc: "KL(generated unigram ‖ data unigram) with the network"},
				{Name: "kl-exact", Kind: lab.Mean, Doc: "the same with the exact oracle (same sampler, NFE, seed, sample size)"},
				{Name: "kl-added", Kind: lab.Mean, Doc: "unigram-kl − kl-exact: what the network adds"},
				{Name: "kl-floor", Kind: lab.Mean, Doc: "the same statistic of exact samples (the plug-in noise floor)"},
				{Name: "top10", Kind: lab.Mean, Doc: "share of the 10 most frequent tokens with the network"},
				{Name: "top10-exact", Kind: lab.Mean, Doc: "with the exact oracle"},
				{Name: "top10-data", Kind: lab.Mean, Doc: "in exact samples"},
				{Name: "repeat", Kind: lab.Mean, Digits: 2, Doc: "adjacent-repeat rate / the data's, with the network"},
				{Name: "repeat-exact", Kind: lab.Mean, Digits: 2, Doc: "with the exact oracle"},
				{Name: "repeat-added", Kind: lab.Mean, Digits: 2, Doc: "repeat − repeat-exact"},
				{Name: "gap", Kind: lab.Mean, Digits: 4, Doc: "NLL gap per token with the network"},
				{Name: "gap-exact", Kind: lab.Mean, Digits: 4, Doc: "with the exact oracle"},
				{Name: "traj-kl", Kind: lab.Mean, Digits: 4, Doc: "mean KL(exact ‖ network) per uncommitted position along the network's own trajectories"},
			},
			Note: "Same sampler, same steps, same seed and sample size; only the denoiser differs. `traj-kl` is the model-error " +
				"experiment's trajectory measure, taken on these very runs.",
		},
	},
	Units:   centralUnits,
	Verdict: centralVerdict,
}

func centralUnits(cfg lab.Config) ([]lab.Unit, error) {
	var us []lab.Unit
	for _, tbName := range centralTestbeds {
		tb, err := getTestbed(tbName)
		if err != nil {
			return nil, err
		}
		L := tb.m.Len()
		for _, kind := range centralModels(tbName) {
			fams, err := centralFamilies(L, cfg.Int("max-factor"), kind, centralJointGrid(cfg, tbName, L))
			if err != nil {
				return nil, err
			}
			for _, f := range fams {
				us = append(us, lab.Unit{Key: tbName + "/" + f.name + "/" + kind, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
					return centralRun(ctx, cfg, tbName, f, kind, seed)
				}})
			}
		}
	}
	trace, err := meTraceSamplers()
	if err != nil {
		return nil, err
	}
	const decompTB = "kjv-hmm-32"
	for _, sp := range trace {
		us = append(us, lab.Unit{Key: decompTB + "/decomposition/" + sp.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
			return decompRun(ctx, cfg, decompTB, sp, seed)
		}})
	}
	return us, nil
}

// centralJointGrid limits the joint families on the KJV HMM, whose
// network scorer costs 8·L calls per sequence, to NFE L/4 and L.
func centralJointGrid(cfg lab.Config, tbName string, L int) func([]int) []int {
	if tbName != "kjv-hmm-32" {
		return nil
	}
	return func(steps []int) []int {
		if cfg.Int("joint-samples-kjv") == 0 {
			return nil
		}
		var out []int
		for _, s := range steps {
			if s == max(1, L/4) || s == L {
				out = append(out, s)
			}
		}
		return out
	}
}

func centralSamples(cfg lab.Config, tbName string, joint bool) int {
	if tbName == "kjv-hmm-32" {
		if joint {
			return cfg.Int("joint-samples-kjv")
		}
		return cfg.Int("samples-kjv")
	}
	return cfg.Int("samples-pcfg")
}

// centralTarget is one seed's reference quality.
type centralTarget struct {
	gap, invalid float64
}

var (
	centralRefMu sync.Mutex
	centralRefs  = map[string]*centralRefEntry{}
)

type centralRefEntry struct {
	once sync.Once
	t    centralTarget
	err  error
}

// centralRef returns the reference of a seed: the exact oracle decoding
// one token per step on n sequences of a stream of its own. It is a pure
// function of (testbed, n, seed), computed once.
func centralRef(ctx context.Context, tbName string, n int, seed uint64) (centralTarget, error) {
	key := fmt.Sprintf("%s/%d/%d", tbName, n, seed)
	centralRefMu.Lock()
	e, ok := centralRefs[key]
	if !ok {
		e = &centralRefEntry{}
		centralRefs[key] = e
	}
	centralRefMu.Unlock()
	e.once.Do(func() {
		tb, den, err := openTestbed(tbName, oracleExact)
		if err != nil {
			e.err = err
			return
		}
		sps, err := samplersNamed("LLaDA-random")
		if err != nil {
			e.err = err
			return
		}
		L := tb.m.Len()
		set, err := tb.generateSpec(ctx, den, sps[0], setting{alg: sps[0].alg, steps: L}, n, lab.Mix(seed^0x5ef0), false)
		if err != nil {
			e.err = err
			return
		}
		e.t = centralTarget{gap: (set.stats.NLL() - tb.entropy) / float64(L), invalid: float64(set.stats.Invalid) / float64(set.stats.N)}
	})
	if e.err != nil {
		// a cancelled context is not remembered
		centralRefMu.Lock()
		delete(centralRefs, key)
		centralRefMu.Unlock()
	}
	return e.t, e.err
}

// meets reports whether a setting's per-token gap and invalid rate meet
// the target.
func (t centralTarget) meets(gap, invalid, nllMargin, invMargin float64) bool {
	return math.Abs(gap) <= math.Abs(t.gap)+nllMargin && invalid <= t.invalid+invMargin
}

func centralRun(ctx context.Context, cfg lab.Config, tbName string, f centralFamily, kind string, seed uint64) ([]lab.Row, error) {
	tb, den, err := openTestbed(tbName, kind)
	if err != nil {
		return nil, err
	}
	L := tb.m.Len()
	n := centralSamples(cfg, tbName, f.sp.joint)
	ref, err := centralRef(ctx, tbName, n, seed)
	if err != nil {
		return nil, err
	}
	label := modelLabel(kind, f.sp.family)
	best := math.Inf(1)
	cen := map[string]lab.Obs{"ref-gap": lab.Scalar(ref.gap)}
	var rows []lab.Row
	for _, steps := range f.steps {
		// The stream depends on the step count only: every model and
		// family draws from the same stream at equal steps.
		set, err := tb.generateSpec(ctx, den, f.sp, setting{alg: f.sp.alg, steps: steps}, n, lab.Mix(seed+uint64(steps)), false)
		if err != nil {
			return nil, fmt.Errorf("%s with %s: %w", f.name, kind, err)
		}
		gap := (set.stats.NLL() - tb.entropy) / float64(L)
		inv := float64(set.stats.Invalid) / float64(set.stats.N)
		ok := !math.IsNaN(gap) && ref.meets(gap, inv, cfg.Float("nll-margin"), cfg.Float("invalid-margin"))
		v := map[string]lab.Obs{"nfe": lab.Scalar(set.nfe), "invalid": lab.Count(set.stats.Invalid, set.stats.N), "reached": lab.Count(0, 1)}
		if !math.IsNaN(gap) {
			v["gap"] = lab.Scalar(gap)
		}
		if ok {
			v["reached"] = lab.Count(1, 1)
			best = math.Min(best, set.nfe)
		}
		rows = append(rows, lab.Row{Table: "curves", Labels: []string{tbName, f.name, label, strconv.Itoa(steps)}, Values: v})
		if steps == max(1, L/4) && f.name != cfHard1 && !strings.HasPrefix(f.name, cfHard1) {
			if !math.IsNaN(gap) {
				cen["gap@L/4"] = lab.Scalar(gap)
			}
			cen["invalid@L/4"] = lab.Count(set.stats.Invalid, set.stats.N)
		}
	}
	cen["reached"] = lab.Count(0, 1)
	if !math.IsInf(best, 1) {
		cen["reached"] = lab.Count(1, 1)
		cen["nfe"] = lab.Scalar(best)
	}
	rows = append(rows, lab.Row{Table: "central", Labels: []string{tbName, f.name, label}, Values: cen})
	return rows, nil
}

// decompRun runs one sampler at L/4 steps (and L in a full run) with the
// exact oracle and with every network of the testbed, same stream.
func decompRun(ctx context.Context, cfg lab.Config, tbName string, sp samplerSpec, seed uint64) ([]lab.Row, error) {
	tb, exact, err := openTestbed(tbName, oracleExact)
	if err != nil {
		return nil, err
	}
	L := tb.m.Len()
	n := cfg.Int("decomp-samples")
	data, err := tb.exactSamples(ctx, n, dataSeed(seed), true)
	if err != nil {
		return nil, err
	}
	dataRate := float64(data.stats.Repeats) / float64(data.stats.Pairs)
	dataObs := collapseObs(tb, data)
	steps := []int{L / 4}
	if !cfg.Quick {
		steps = append(steps, L)
	}
	ratio := func(s *sampleSet) float64 { return float64(s.stats.Repeats) / float64(s.stats.Pairs) / dataRate }
	var rows []lab.Row
	for _, st := range sp.settings(steps) {
		gs := lab.Mix(seed + uint64(st.steps))
		ex, err := tb.generateSpec(ctx, exact, sp, st, n, gs, true)
		if err != nil {
			return nil, err
		}
		exObs := collapseObs(tb, ex)
		for _, kind := range learnedKinds(tbName) {
			m, _, err := meOpen(learnedNets[tbName][kind])
			if err != nil {
				return nil, err
			}
			tr := &tracer{net: m, exact: tb.m, mask: int(tb.m.Vocab().Mask()), ex: exactScratch(tb)}
			set, err := tb.generateSpec(ctx, tr, sp, st, n, gs, true)
			if err != nil {
				return nil, fmt.Errorf("%s with %s: %w", sp.name, kind, err)
			}
			var pooled meStats
			for _, c := range tr.calls {
				pooled.kl = append(pooled.kl, c.kl...)
			}
			o := collapseObs(tb, set)
			v := map[string]lab.Obs{
				"unigram-kl": o["unigram-kl"], "kl-exact": exObs["unigram-kl"],
				"kl-added": lab.Scalar(o["unigram-kl"].X - exObs["unigram-kl"].X), "kl-floor": dataObs["unigram-kl"],
				"top10": o["top10-share"], "top10-exact": exObs["top10-share"], "top10-data": dataObs["top10-share"],
			}
			if dataRate > 0 {
				r, re := ratio(set), ratio(ex)
				v["repeat"], v["repeat-exact"], v["repeat-added"] = lab.Scalar(r), lab.Scalar(re), lab.Scalar(r-re)
			}
			if g, ok := o["nll-gap"]; ok {
				v["gap"] = lab.Scalar(g.X / float64(L))
			}
			if g, ok := exObs["nll-gap"]; ok {
				v["gap-exact"] = lab.Scalar(g.X / float64(L))
			}
			if len(pooled.kl) > 0 {
				v["traj-kl"] = lab.Scalar(pooled.meanKL())
			}
			rows = append(rows, lab.Row{Table: "decomposition", Labels: []string{tbName, sp.name, strconv.Itoa(st.steps), kind,
				yesNo(inDistribution(netObjective(kind), samplerProcess(sp.family)))}, Values: v})
		}
	}
	return rows, nil
}

// centralVerdict states, per testbed and network, which families reach the
// target and at what NFE against hard decoding with the same network, and
// the decomposition of the unigram KL.
func centralVerdict(r *lab.Result) []string {
	t := r.Table("central")
	if t == nil {
		return nil
	}
	var vs []string
	for _, tb := range centralTestbeds {
		for _, kind := range centralModels(tb) {
			var parts []string
			for _, row := range t.Select("testbed=" + tb) {
				m := t.Label(row, "model")
				if strings.TrimSuffix(m, " (out of dist.)") != kind {
					continue
				}
				fam := t.Label(row, "family")
				if m != kind {
					fam += " (out of dist.)"
				}
				reached, nfe, g4 := t.Cell(row, "reached"), t.Cell(row, "nfe"), t.Cell(row, "gap@L/4")
				s := fam + ": "
				switch {
				case !reached.Valid():
					continue
				case reached.K == 0:
					s += "never reached"
				case reached.K < reached.N:
					s += fmt.Sprintf("reached on %d of %d seeds, NFE %s", reached.K, reached.N, lab.Format(nfe, 1))
				default:
					s += "NFE " + lab.Format(nfe, 1)
				}
				if g4.Valid() {
					s += ", gap/token at L/4 " + lab.Format(g4, 3)
				}
				parts = append(parts, s)
			}
			if len(parts) > 0 {
				vs = append(vs, fmt.Sprintf("%s, %s: %s.", tb, kind, strings.Join(parts, "; ")))
			}
		}
	}
	if d := r.Table("decomposition"); d != nil {
		for _, row := range d.Rows {
			if d.Label(row, "in-dist") != "yes" {
				continue
			}
			vs = append(vs, fmt.Sprintf("%s, %s at %s steps, %s: unigram KL %s with the network against %s with the exact oracle (added %s; floor %s), repeats/data %s against %s, trajectory KL %s.",
				d.Label(row, "testbed"), d.Label(row, "sampler"), d.Label(row, "steps"), d.Label(row, "model"),
				lab.Format(d.Cell(row, "unigram-kl"), 3), lab.Format(d.Cell(row, "kl-exact"), 3), lab.Format(d.Cell(row, "kl-added"), 3), lab.Format(d.Cell(row, "kl-floor"), 3),
				lab.Format(d.Cell(row, "repeat"), 2), lab.Format(d.Cell(row, "repeat-exact"), 2), lab.Format(d.Cell(row, "traj-kl"), 4)))
		}
	}
	return vs
}
