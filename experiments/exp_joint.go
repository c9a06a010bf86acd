package experiments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/soft"
)

func init() { lab.Register(jointDecode) }

var jointTestbeds = []string{"two-sentence", "agreement", "sticky3", "kjv-hmm"}

var jointDecoders = []string{"sample", "argmax", "beam", "MAP", "IR"}

// jointNetTB is the testbed of the learned models in joint-decode: the
// agreement PCFG the shipped networks (masked, mixed) were trained on, run
// with every model (exact, degraded, the networks) at learned-samples
// decodes.
const jointNetTB = "agreement-pcfg"

// jointModels are the models of joint-decode on a testbed.
func jointModels(tbName string) []string {
	if tbName == jointNetTB {
		return withLearned(tbName, modelKinds()...)
	}
	return modelKinds()
}

var jointDecode = &lab.Experiment{
	Name:  "joint-decode",
	Rank:  6,
	Title: "final decoders that score whole configurations",
	Hypothesis: "From the same beliefs (the same NFE), choosing the final configuration per position " +
		"(a parallel sample, or the marginal argmax) falls into the marginal trap, while decoders that " +
		"score whole sequences with a joint scorer (beam search, exact MAP over the top-k lattice, " +
		"importance resampling) avoid invalid combinations at a stated scoring cost; MAP and beam " +
		"trade diversity for likelihood, importance resampling keeps sampling the distribution.",
	Params: []lab.Param{
		{Name: "samples", Doc: "decodes per seed and setting", Default: 1000, Quick: 300, Int: true, Min: 10, Max: 100000},
		{Name: "k", Doc: "candidates per position in the lattice (beam, MAP)", Default: 4, Quick: 4, Int: true, Min: 1, Max: 64},
		{Name: "width", Doc: "beam width B", Default: 4, Quick: 4, Int: true, Min: 1, Max: 256},
		{Name: "particles", Doc: "importance-resampling candidates N", Default: 8, Quick: 8, Int: true, Min: 1, Max: 4096},
		{Name: "learned-samples", Doc: "decodes per seed and setting on the agreement PCFG of the learned models, every model there", Default: 50, Quick: 4, Int: true, Min: 1, Max: 100000},
	},
	Tables: []lab.TableSpec{{
		Name:   "joint",
		Title:  "Joint decoders at equal NFE",
		Labels: []string{"testbed", "oracle", "nfe", "decoder"},
		Metrics: []lab.MetricSpec{
			{Name: "invalid", Kind: lab.Rate, Doc: "fraction of decoded sequences of probability zero"},
			{Name: "nll", Kind: lab.Mean, Doc: "mean −log p(x) over valid decoded sequences"},
			{Name: "entropy", Kind: lab.Exact, Doc: "H(p): the mean NLL of exact samples"},
			{Name: "distinct", Kind: lab.Mean, Doc: "distinct sequences / decodes"},
			{Name: "evals", Kind: lab.Mean, Digits: 1, Doc: "joint-scorer calls per decode"},
		},
		Note: "Beliefs come from the soft sampler SL-uniform run for `nfe` denoiser calls without committing (nfe = 1: the marginals). " +
			"`sample` draws every position from its belief in parallel; `argmax` takes each position's mode; `beam` is decode.Beam " +
			"(width B over the top-k lattice); `MAP` is the exact maximiser over the top-k lattice (decode.MAP: A* for HMMs, " +
			"enumeration for corpora); `IR` is importance resampling of N parallel samples (decode.ImportanceResample). All three target the posterior " +
			"given the evidence SL accumulated, π(x) ∝ p(x)·Π ℓ_i(x_i) (beam and MAP its mode, IR a sample; at nfe = 1 there is no evidence and π = p). " +
			"The joint scorer is the model's own: the exact log p under the exact oracle, the pseudo-log-likelihood of the degraded " +
			"denoiser (decode.NewPLL) under the degraded oracle. Rows marked `(oracle scorer, upper bound)` score with the exact log p " +
			"under the degraded oracle: an ideal external scorer, which also corrects model error. Under the degraded oracle MAP runs only " +
			"with the oracle scorer: the exact maximiser of the pseudo-likelihood would cost k^L·L denoiser calls per decode. " +
			"On agreement-pcfg the shipped networks (masked, mixed; no soft network) are models beside the oracles, every model there with " +
			"`learned-samples` decodes on the same streams. A network's `IR` scores with its own pseudo-likelihood; under a network beam, " +
			"like MAP, runs only with the oracle scorer (its pseudo-likelihood would cost up to width·k·L network calls per position). " +
			"The masked network is `(out of dist.)` here: SL-uniform feeds it soft evidence.",
		Plots: []lab.PlotSpec{
			{Name: "joint-invalid", Title: "invalid rate by decoder (agreement corpus)", X: "nfe", Y: "invalid", Series: []string{"decoder"}, Facet: []string{"oracle"}, Categorical: true, Filter: map[string]string{"testbed": "agreement"}, XLabel: "NFE before the final decode (1 or L)", YLabel: "invalid rate"},
			{Name: "joint-nll", Title: "NLL by decoder (KJV HMM, L = 6)", X: "nfe", Y: "nll", Series: []string{"decoder"}, Facet: []string{"oracle"}, Categorical: true, Filter: map[string]string{"testbed": "kjv-hmm"}, XLabel: "NFE before the final decode (1 or L)", YLabel: "mean −log p(x)", Clip: [2]float64{0, math.Inf(1)}},
		},
	}},
	Units: func(cfg lab.Config) ([]lab.Unit, error) {
		var us []lab.Unit
		for _, tbName := range append(append([]string(nil), jointTestbeds...), jointNetTB) {
			for _, ok := range jointModels(tbName) {
				for _, nfeL := range []bool{false, true} {
					key := tbName + "/" + ok + "/nfe=1"
					if nfeL {
						key = tbName + "/" + ok + "/nfe=L"
					}
					us = append(us, lab.Unit{Key: key, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
						return jointRun(ctx, cfg, tbName, ok, nfeL, seed)
					}})
				}
			}
		}
		return us, nil
	},
	Verdict: jointVerdict,
}

// cachedMAP memoises an exact MAP decode by its lattice: at NFE 1 every
// sample starts from the same marginals, so the same lattice recurs.
type cachedMAP struct {
	decode.MAP
	cache map[string]decode.Decoded
}

func (c *cachedMAP) Decode(ctx context.Context, s *decode.FinalState, sc decode.JointScorer, rng *rand.Rand) (decode.Decoded, error) {
	lat, err := s.Lattice(c.K)
	if err != nil {
		return decode.Decoded{}, err
	}
	key := latticeKey(lat)
	if d, hit := c.cache[key]; hit {
		return d, nil
	}
	d, err := c.MAP.Decode(ctx, s, sc, rng)
	if err != nil {
		return decode.Decoded{}, err
	}
	if len(c.cache) < 1<<14 {
		c.cache[key] = d
	}
	return d, nil
}

func jointRun(ctx context.Context, cfg lab.Config, tbName, ok string, nfeL bool, seed uint64) ([]lab.Row, error) {
	tb, den, err := openTestbed(tbName, ok)
	if err != nil {
		return nil, err
	}
	L := tb.m.Len()
	nfe := 1
	if nfeL {
		nfe = L
	}
	n, k := cfg.Int("samples"), cfg.Int("k")
	if tbName == jointNetTB {
		n = cfg.Int("learned-samples")
	}
	names := append([]string(nil), jointDecoders...)
	if ok != oracleExact {
		// MAP under the pseudo-likelihood scorer would cost k^L·L denoiser
		// calls per decode (4⁶·6 on the KJV HMM): under a model with error it
		// runs only with the oracle scorer, as an upper bound; under a
		// network so does beam.
		names = slices.DeleteFunc(names, func(d string) bool { return d == "MAP" || (d == "beam" && isNetKind(ok)) })
	}
	stats := map[string]*SampleStats{}
	evals := map[string]float64{}
	// the joint decoders, each reading the end state of the same run and
	// scoring with the model's own scorer; under a model with error again
	// with the exact joint (the upper bound)
	type jd struct {
		name string
		d    decode.FinalDecoder
		sc   decode.JointScorer
	}
	var decoders []jd
	for _, oracleScorer := range []bool{false, true} {
		if oracleScorer && ok == oracleExact {
			break
		}
		sc, err := tb.scorerFor(den, oracleScorer)
		if err != nil {
			return nil, err
		}
		suffix := ""
		if oracleScorer {
			suffix = oracleScorerLabel
		}
		fds := []decode.FinalDecoder{
			decode.Beam{Width: cfg.Int("width"), K: k},
			&cachedMAP{MAP: decode.MAP{K: k}, cache: map[string]decode.Decoded{}},
			decode.ImportanceResample{N: cfg.Int("particles")},
		}
		if ok != oracleExact && !oracleScorer {
			fds = slices.Delete(fds, 1, 2) // no MAP under the pseudo-likelihood (see names)
			if isNetKind(ok) {
				fds = fds[1:] // nor beam under a network's
			}
		}
		for _, d := range fds {
			decoders = append(decoders, jd{d.Name() + suffix, d, sc})
			if oracleScorer {
				names = append(names, d.Name()+suffix)
			}
		}
	}
	for _, d := range names {
		stats[d] = NewSampleStats()
	}
	skip := tb.m.Vocab().EOS()
	add := func(d string, x []int32, ev int) error {
		lp, err := tb.m.LogProb(x)
		if err != nil {
			return err
		}
		stats[d].Add(x, lp, skip)
		evals[d] += float64(ev)
		return nil
	}
	argmax := make([]int32, L)
	for j := 0; j < n; j++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res, err := decode.Generate(ctx, den, tb.m.Vocab(), L, decode.SoftSL{}, decode.Options{
			Steps: nfe, Rand: soft.BlockRand(seed, 2*j), Workers: 1, CompleteOnError: true, Record: true})
		if err != nil {
			return nil, err
		}
		bel := res.Beliefs
		if err := add("sample", res.Tokens, 0); err != nil {
			return nil, err
		}
		trng := soft.BlockRand(seed^0xa5a5, j)
		for i := 0; i < L; i++ {
			argmax[i] = argmaxRandomTies(bel.Row(i), trng)
		}
		if err := add("argmax", argmax, 0); err != nil {
			return nil, err
		}
		for _, d := range decoders {
			out, err := d.d.Decode(ctx, res.Final, d.sc, soft.BlockRand(seed, 2*j+1))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.name, err)
			}
			if err := add(d.name, out.Tokens, out.Evals); err != nil {
				return nil, err
			}
		}
	}
	var rows []lab.Row
	for _, d := range names {
		st := stats[d]
		v := map[string]lab.Obs{
			"invalid":  lab.Count(st.Invalid, st.N),
			"distinct": lab.Scalar(st.Distinct()),
			"evals":    lab.Scalar(evals[d] / float64(n)),
			"entropy":  lab.Scalar(tb.entropy),
		}
		if nll := st.NLL(); !math.IsNaN(nll) {
			v["nll"] = lab.Scalar(nll)
		}
		rows = append(rows, lab.Row{Table: "joint", Labels: []string{tbName, modelLabel(ok, famSoft), strconv.Itoa(nfe), d}, Values: v})
	}
	return rows, nil
}

// argmaxRandomTies returns a mode of p, breaking ties (entries within 1e-6
// of the maximum) uniformly at random: exact marginals often tie, and a
// smallest-id rule would make the argmax valid or invalid by the accident of
// the vocabulary's order.
func argmaxRandomTies(p []float32, rng interface{ IntN(int) int }) int32 {
	m := p[soft.Argmax(p)]
	var n int
	pick := int32(-1)
	for v, x := range p {
		if x >= m-1e-6 {
			n++
			if rng.IntN(n) == 0 {
				pick = int32(v)
			}
		}
	}
	return pick
}

func latticeKey(l *decode.Lattice) string {
	b := make([]byte, 0, 4*len(l.IDs)+8*len(l.N))
	for i := 0; i < l.L; i++ {
		for j := 0; j < l.N[i]; j++ {
			id, _ := l.Cand(i, j)
			u := uint32(id)
			b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
		}
		b = append(b, 0xff)
	}
	return string(b)
}

func jointVerdict(r *lab.Result) []string {
	t := r.Table("joint")
	if t == nil {
		return nil
	}
	var vs []string
	for _, tb := range append(append([]string(nil), jointTestbeds...), jointNetTB) {
		for _, ok := range jointModels(tb) {
			ok = modelLabel(ok, famSoft)
			for _, row := range t.Select("testbed="+tb, "oracle="+ok, "decoder=sample") {
				nfe := t.Label(row, "nfe")
				sel := []string{"testbed=" + tb, "oracle=" + ok, "nfe=" + nfe}
				metric := "invalid"
				if s := t.Cell(row, "invalid"); !s.Valid() || s.K == 0 {
					metric = "nll" // no invalid samples: compare likelihood
				}
				s := t.Cell(row, metric)
				parts := []string{fmt.Sprintf("parallel sample %s", lab.Format(s, 3))}
				for _, d := range []string{"argmax", "beam", "MAP", "IR", "beam" + oracleScorerLabel, "MAP" + oracleScorerLabel, "IR" + oracleScorerLabel} {
					e, found := t.Get(metric, append(sel, "decoder="+d)...)
					if !found {
						continue
					}
					rel := "≈"
					switch relation(e, s) {
					case -1:
						rel = "lower"
					case 1:
						rel = "higher"
					}
					parts = append(parts, fmt.Sprintf("%s %s (%s)", d, lab.Format(e, 3), rel))
				}
				vs = append(vs, fmt.Sprintf("%s, %s oracle, NFE %s, %s: %s.", tb, ok, nfe, metric, strings.Join(parts, "; ")))
			}
		}
	}
	return vs
}
