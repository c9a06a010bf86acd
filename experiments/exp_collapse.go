package experiments

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/degrade"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

func init() { lab.Register(frequencyCollapse) }

var collapseTestbeds = []string{"kjv-hmm-16", "agreement-hmm-12"}

// collapseNetTB is the testbed of the learned models in frequency-collapse:
// the KJV HMM the shipped networks were trained on, run with every model
// (exact, degraded, the three networks) at learned-samples sequences.
const collapseNetTB = "kjv-hmm-32"

// maxDist is the last distance bucket of the belief table (it holds d ≥ maxDist).
const maxDist = 8

// infoKernelSampler returns the reverse process of the information-aware
// absorbing kernel over tb's vocabulary (decode.KernelAncestral): rare
// tokens are masked first (InformationWeights, γ = 1), so in generation
// frequent tokens appear early and rare ones late; or, with frequentFirst,
// FrequencyWeights γ = 0.5.
func infoKernelSampler(name string, frequentFirst bool) samplerSpec {
	return samplerSpec{name: name, family: famHard, build: func(den decode.Denoiser, v *soft.Vocab) (decode.Algorithm, error) {
		k, err := infoKernelFor(den, v, frequentFirst)
		if err != nil {
			return nil, err
		}
		return decode.KernelAncestral{Kernel: k}, nil
	}}
}

// infoKernelFor builds the information-aware kernel from the unigram
// distribution of the testbed behind den (the data's token frequencies).
func infoKernelFor(den decode.Denoiser, v *soft.Vocab, frequentFirst bool) (*kernels.InfoAbsorbing, error) {
	var uni []float64
	switch m := den.(type) {
	case model:
		uni = make([]float64, v.Size())
		m.Unigram(uni)
	case *degrade.Oracle:
		uni = m.Unigram()
	case *cachedNet: // a learned model: the frequencies of its training data
		uni = m.uni
	default:
		return nil, fmt.Errorf("information-aware kernel: no unigram distribution for %T", den)
	}
	w := make([]float64, v.Size())
	var err error
	if frequentFirst {
		err = kernels.FrequencyWeights(w, uni, 0.5)
	} else {
		err = kernels.InformationWeights(w, uni, 1)
	}
	if err != nil {
		return nil, err
	}
	// As in kernel-smoothness: the slowest token at the absorbing rate.
	wmin := math.Inf(1)
	for t, x := range w {
		if int32(t) != v.Mask() && uni[t] > 0 {
			wmin = math.Min(wmin, x)
		}
	}
	for t := range w {
		w[t] /= wmin
	}
	w[v.Mask()] = 1
	return kernels.NewInfoAbsorbing(v.Size(), v.Mask(), w, nil)
}

func collapseSamplers() []samplerSpec {
	return []samplerSpec{
		{name: "MDLM (uniform masking)", family: famHard, alg: decode.MDLM{}},
		{name: "LLaDA-lowconf", family: famHard, alg: decode.LLaDA{Remasking: decode.LowConfidence, Temperature: 1}},
		cartSpec(),
		infoKernelSampler("info kernel (rare first)", false),
		infoKernelSampler("info kernel (frequent first)", true),
		{name: "SL-uniform", family: famSoft, alg: decode.SoftSL{Grid: decode.GridUniform}},
	}
}

var frequencyCollapse = &lab.Experiment{
	Name:  "frequency-collapse",
	Rank:  2,
	Title: "predictions far from context collapse to frequent tokens",
	Hypothesis: "Far from any visible token a position's prediction flattens towards the unigram " +
		"distribution: its entropy rises and its most likely token is a frequent one. A denoiser " +
		"that over-does this (the degraded oracle) makes generated text over-use frequent tokens " +
		"(unigram KL to the data grows); decoding orders that fill positions next to context first " +
		"(CART) or information-aware kernels should reduce the damage, and confidence ordering " +
		"should amplify it.",
	Params: []lab.Param{
		{Name: "contexts", Doc: "masked data sequences per seed for the belief statistics", Default: 300, Quick: 70, Int: true, Min: 1, Max: 100000},
		{Name: "mask-rate", Doc: "probability that a position is masked in those sequences", Default: 0.85, Quick: 0.85, Min: 0, Max: 1},
		{Name: "samples", Doc: "generated sequences per seed and setting", Default: 300, Quick: 70, Int: true, Min: 10, Max: 100000},
		{Name: "learned-samples", Doc: "generated sequences per seed and setting on the KJV HMM (L = 32) of the learned models, every model there (a quick run: steps = L/4 only for the networks)", Default: 6, Quick: 3, Int: true, Min: 1, Max: 100000},
		{Name: "learned-contexts", Doc: "masked data sequences per seed for the belief statistics on the KJV HMM (L = 32)", Default: 100, Quick: 12, Int: true, Min: 1, Max: 100000},
	},
	Tables: []lab.TableSpec{
		{
			Name: "beliefs", Title: "Beliefs against distance to the nearest visible token",
			Labels: []string{"testbed", "oracle", "distance"},
			Metrics: []lab.MetricSpec{
				{Name: "entropy", Kind: lab.Mean, Doc: "mean belief entropy (nats)"},
				{Name: "argmax-rank", Kind: lab.Mean, Digits: 1, Doc: "mean frequency rank of the belief's argmax (1 = most frequent token)"},
				{Name: "kl-unigram", Kind: lab.Mean, Doc: "mean KL(belief ‖ unigram)"},
				{Name: "positions", Kind: lab.Mean, Digits: 0, Doc: "masked positions at this distance per seed"},
			},
			Note: fmt.Sprintf("Data sequences x ~ p with each position masked independently; distance = |i − j| to the nearest visible j (the last bucket holds d ≥ %d; sequences with nothing visible are skipped).", maxDist),
			Plots: []lab.PlotSpec{
				{Name: "entropy-kjv", Title: "KJV HMM (L = 16): belief entropy against distance", X: "distance", Y: "entropy", Series: []string{"oracle"}, Filter: map[string]string{"testbed": "kjv-hmm-16"}, XLabel: "distance to nearest visible token", YLabel: "entropy (nats)", Clip: [2]float64{0, math.Inf(1)}},
				{Name: "rank-kjv", Title: "KJV HMM (L = 16): frequency rank of the predicted token", X: "distance", Y: "argmax-rank", Series: []string{"oracle"}, Filter: map[string]string{"testbed": "kjv-hmm-16"}, XLabel: "distance to nearest visible token", YLabel: "rank of argmax (1 = most frequent)", Clip: [2]float64{1, math.Inf(1)}},
			},
		},
		{
			Name: "generation", Title: "Unigram statistics of generated text",
			Labels: []string{"testbed", "oracle", "sampler", "steps"},
			Metrics: []lab.MetricSpec{
				{Name: "unigram-kl", Kind: lab.Mean, Doc: "KL(generated unigram ‖ data unigram), plug-in"},
				{Name: "top10-share", Kind: lab.Mean, Doc: "share of generated tokens among the 10 most frequent"},
				{Name: "nll-gap", Kind: lab.Mean, Doc: "mean −log p(x) minus H(p) (Monte-Carlo H for these testbeds)"},
				{Name: "nfe", Kind: lab.Mean, Digits: 1},
			},
			Note: "`exact-sample` rows are exact samples of the same size: the plug-in KL's noise floor and the data's own top-10 share. " +
				"On kjv-hmm-32 the shipped networks (masked, soft, mixed) are models beside the exact and degraded oracles, every model there with " +
				"`learned-samples` sequences on the same streams (the network's rows at steps = L/4 only in a quick run); `(out of dist.)` marks a " +
				"network fed evidence its objective never produces. The information-aware kernels use the data's unigram under every model.",
		},
	},
	Units: func(cfg lab.Config) ([]lab.Unit, error) {
		var us []lab.Unit
		for _, tbName := range collapseTestbeds {
			us = append(us, collapseUnits(cfg, tbName, modelKinds(), cfg.Int("samples"))...)
		}
		us = append(us, collapseUnits(cfg, collapseNetTB, withLearned(collapseNetTB, modelKinds()...), cfg.Int("learned-samples"))...)
		return us, nil
	},
	Verdict: collapseVerdict,
}

// topTokens returns the n most frequent tokens of tb.
func (tb *testbed) topTokens(n int) map[int32]bool {
	ids := make([]int, len(tb.unigram))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return tb.unigram[ids[a]] > tb.unigram[ids[b]] })
	top := map[int32]bool{}
	for _, v := range ids[:min(n, len(ids))] {
		top[int32(v)] = true
	}
	return top
}

// ranks returns each token's frequency rank (1 = most frequent).
func (tb *testbed) ranks() []int {
	ids := make([]int, len(tb.unigram))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return tb.unigram[ids[a]] > tb.unigram[ids[b]] })
	r := make([]int, len(ids))
	for k, v := range ids {
		r[v] = k + 1
	}
	return r
}

func collapseObs(tb *testbed, s *sampleSet) map[string]lab.Obs {
	skip := tb.m.Vocab().EOS()
	top := tb.topTokens(10)
	var in, all float64
	for _, x := range s.samples {
		for _, v := range x {
			if v == skip {
				continue
			}
			all++
			if top[v] {
				in++
			}
		}
	}
	o := map[string]lab.Obs{
		"unigram-kl":  lab.Scalar(UnigramKL(s.samples, tb.unigram, skip)),
		"top10-share": lab.Scalar(in / all),
		"nfe":         lab.Scalar(s.nfe),
	}
	if nll := s.stats.NLL(); !math.IsNaN(nll) {
		o["nll-gap"] = lab.Scalar(nll - tb.entropy)
	}
	return o
}

// collapseUnits are the units of frequency-collapse on tbName: n exact
// samples, then beliefs and generation (n sequences per setting) under every
// model kind of kinds. A network's generation runs only at L/4 in a quick run
// (learnedSteps).
func collapseUnits(cfg lab.Config, tbName string, kinds []string, n int) []lab.Unit {
	us := []lab.Unit{{Key: tbName + "/exact-sample", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
		tb, err := getTestbed(tbName)
		if err != nil {
			return nil, err
		}
		set, err := tb.exactSamples(ctx, n, seed, true)
		if err != nil {
			return nil, err
		}
		return []lab.Row{{Table: "generation", Labels: []string{tbName, "—", "exact-sample", "—"}, Values: collapseObs(tb, set)}}, nil
	}}}
	for _, ok := range kinds {
		us = append(us, lab.Unit{Key: tbName + "/" + ok + "/beliefs", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
			return beliefRun(ctx, cfg, tbName, ok, seed)
		}})
		for _, sp := range collapseSamplers() {
			us = append(us, lab.Unit{Key: tbName + "/" + ok + "/" + sp.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
				tb, den, err := openTestbed(tbName, ok)
				if err != nil {
					return nil, err
				}
				L := tb.m.Len()
				var rows []lab.Row
				for si, st := range sp.settings(learnedSteps(cfg, ok, []int{L / 4, L})) {
					set, err := tb.generateSpec(ctx, den, sp, st, n, lab.Mix(seed+uint64(si)), true)
					if err != nil {
						return nil, fmt.Errorf("%s with %s: %w", sp.name, ok, err)
					}
					rows = append(rows, lab.Row{Table: "generation", Labels: []string{tbName, modelLabel(ok, sp.family), sp.name, strconv.Itoa(st.steps)}, Values: collapseObs(tb, set)})
				}
				return rows, nil
			}})
		}
	}
	return us
}

// beliefRun measures beliefs against distance under model ok; on
// collapseNetTB with learned-contexts contexts.
func beliefRun(ctx context.Context, cfg lab.Config, tbName, ok string, seed uint64) ([]lab.Row, error) {
	tb, den, err := openTestbed(tbName, ok)
	if err != nil {
		return nil, err
	}
	L, K := tb.m.Len(), tb.m.Vocab().Size()
	mask := tb.m.Vocab().Mask()
	rank := tb.ranks()
	uni := make([]float32, K)
	for v, p := range tb.unigram {
		uni[v] = float32(p)
	}
	type acc struct{ h, r, kl, n float64 }
	buckets := make([]acc, maxDist+1)
	x := make([]int32, L)
	vis := make([]bool, L)
	bel := soft.NewDense(L, K)
	rate := cfg.Float("mask-rate")
	contexts := cfg.Int("contexts")
	if tbName == collapseNetTB {
		contexts = cfg.Int("learned-contexts")
	}
	for j := 0; j < contexts; j++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rng := soft.BlockRand(seed, j)
		tb.m.Sample(x, rng)
		ev := soft.AllMask(L, K, mask)
		any := false
		for i := range x {
			vis[i] = rng.Float64() >= rate
			if vis[i] {
				any = true
				row := ev.Row(i)
				clear(row)
				row[x[i]] = 1
			}
		}
		if !any {
			continue
		}
		if err := den.Denoise(bel, ev, rate); err != nil {
			return nil, err
		}
		for i := range x {
			if vis[i] {
				continue
			}
			d := L
			for k := range x {
				if vis[k] && abs(k-i) < d {
					d = abs(k - i)
				}
			}
			d = min(d, maxDist)
			b := bel.Row(i)
			a := &buckets[d]
			a.h += soft.Entropy(b)
			a.r += float64(rank[soft.Argmax(b)])
			a.kl += soft.KL(b, uni)
			a.n++
		}
	}
	var rows []lab.Row
	for d := 1; d <= maxDist; d++ {
		a := buckets[d]
		if a.n == 0 {
			continue
		}
		rows = append(rows, lab.Row{Table: "beliefs", Labels: []string{tbName, modelLabel(ok, famHard), strconv.Itoa(d)}, Values: map[string]lab.Obs{
			"entropy": lab.Scalar(a.h / a.n), "argmax-rank": lab.Scalar(a.r / a.n), "kl-unigram": lab.Scalar(a.kl / a.n), "positions": lab.Scalar(a.n),
		}})
	}
	return rows, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func collapseVerdict(r *lab.Result) []string {
	b, g := r.Table("beliefs"), r.Table("generation")
	if b == nil || g == nil {
		return nil
	}
	var vs []string
	for _, tb := range collapseTestbeds {
		for _, ok := range []string{oracleExact, oracleDegraded} {
			h1, ok1 := b.Get("entropy", "testbed="+tb, "oracle="+ok, "distance=1")
			var hf lab.Estimate
			var df string
			for d := maxDist; d >= 2; d-- {
				if e, found := b.Get("entropy", "testbed="+tb, "oracle="+ok, "distance="+strconv.Itoa(d)); found && e.Valid() {
					hf, df = e, strconv.Itoa(d)
					break
				}
			}
			r1, _ := b.Get("argmax-rank", "testbed="+tb, "oracle="+ok, "distance=1")
			rf, _ := b.Get("argmax-rank", "testbed="+tb, "oracle="+ok, "distance="+df)
			if ok1 && df != "" {
				vs = append(vs, fmt.Sprintf("%s, %s oracle: %s; argmax frequency rank %s at distance 1, %s at distance %s.", tb, ok,
					compare("belief entropy at distance 1", h1, "at distance "+df, hf, 3), lab.Format(r1, 1), lab.Format(rf, 1), df))
			}
		}
		floor, _ := g.Get("unigram-kl", "testbed="+tb, "sampler=exact-sample")
		for _, ok := range []string{oracleExact, oracleDegraded} {
			tbm, err := getTestbed(tb)
			if err != nil {
				continue
			}
			L := strconv.Itoa(tbm.m.Len())
			base, found := g.Get("unigram-kl", "testbed="+tb, "oracle="+ok, "sampler=MDLM (uniform masking)", "steps="+L)
			if !found {
				continue
			}
			line := fmt.Sprintf("%s, %s oracle, %s steps: unigram KL of MDLM (uniform masking) %s (exact-sample floor %s)", tb, ok, L, lab.Format(base, 3), lab.Format(floor, 3))
			for _, sp := range collapseSamplers()[1:] {
				e, found := g.Get("unigram-kl", "testbed="+tb, "oracle="+ok, "sampler="+sp.name, "steps="+L)
				if !found {
					continue
				}
				line += fmt.Sprintf("; %s %s (%s)", sp.name, lab.Format(e, 3), relWord(e, base, "lower", "≈", "higher"))
			}
			vs = append(vs, line+".")
			data, _ := g.Get("top10-share", "testbed="+tb, "sampler=exact-sample")
			share := fmt.Sprintf("%s, %s oracle, %s steps: share of the 10 most frequent tokens (data %s)", tb, ok, L, lab.Format(data, 3))
			for _, sp := range collapseSamplers() {
				e, found := g.Get("top10-share", "testbed="+tb, "oracle="+ok, "sampler="+sp.name, "steps="+L)
				if !found {
					continue
				}
				share += fmt.Sprintf("; %s %s (%s)", sp.name, lab.Format(e, 3), relWord(e, data, "below data", "≈ data", "above data"))
			}
			vs = append(vs, share+".")
		}
	}
	return append(vs, collapseNetVerdict(g)...)
}

// collapseNetVerdict compares, on collapseNetTB at L/4 steps, each
// model's unigram KL and top-10 share with the exact oracle's under the
// same sampler and stream.
func collapseNetVerdict(g *lab.Table) []string {
	tbm, err := getTestbed(collapseNetTB)
	if err != nil {
		return nil
	}
	steps := strconv.Itoa(tbm.m.Len() / 4)
	floor, ok := g.Get("unigram-kl", "testbed="+collapseNetTB, "sampler=exact-sample")
	data, _ := g.Get("top10-share", "testbed="+collapseNetTB, "sampler=exact-sample")
	if !ok {
		return nil
	}
	var vs []string
	for _, sp := range collapseSamplers() {
		base, found := g.Get("unigram-kl", "testbed="+collapseNetTB, "oracle="+oracleExact, "sampler="+sp.name, "steps="+steps)
		if !found {
			continue
		}
		bt, _ := g.Get("top10-share", "testbed="+collapseNetTB, "oracle="+oracleExact, "sampler="+sp.name, "steps="+steps)
		line := fmt.Sprintf("%s, %s at %s steps: unigram KL / top-10 share with the exact oracle %s / %s (exact-sample floor %s / data %s)",
			collapseNetTB, sp.name, steps, lab.Format(base, 3), lab.Format(bt, 3), lab.Format(floor, 3), lab.Format(data, 3))
		for _, row := range g.Select("testbed="+collapseNetTB, "sampler="+sp.name, "steps="+steps) {
			m := g.Label(row, "oracle")
			if m == oracleExact {
				continue
			}
			e, t10 := g.Cell(row, "unigram-kl"), g.Cell(row, "top10-share")
			line += fmt.Sprintf("; %s %s (%s) / %s (%s)", m, lab.Format(e, 3), relWord(e, base, "lower", "≈", "higher"), lab.Format(t10, 3), relWord(t10, bt, "lower", "≈", "higher"))
		}
		vs = append(vs, line+".")
	}
	return vs
}
