package experiments

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

func init() { lab.Register(modelError) }

// The evidence processes of the model-error table and their bins.
var (
	meMaskRates = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}
	meSNRs      = []float64{0.1, 0.3, 1, 3, 10, 30}
	meMixes     = []meMix{
		{"early: 60% masked, 30% soft at SNR 0.1–3", 0.6, 0.3, 0.1, 3},
		{"mid: 30% masked, 40% soft at SNR 1–30", 0.3, 0.4, 1, 30},
		{"late: 10% masked, 30% soft at SNR 3–100", 0.1, 0.3, 3, 100},
	}
)

// meMix is one bin of the mixed process: each position is masked with
// probability pm, soft (SNR log-uniform on [smin, smax]) with probability
// ps, and clean otherwise.
type meMix struct {
	name       string
	pm, ps     float64
	smin, smax float64
}

// Processes, and which a training objective is in distribution for.
const (
	procMask = "mask"
	procSoft = "soft"
	procMix  = "mix"
)

func inDistribution(objective, process string) bool {
	switch objective {
	case "mix":
		return true
	case "mdlm":
		return process == procMask
	case "soft":
		return process == procSoft
	}
	return false
}

// meTraceSamplers are run with every network in the trajectory table.
func meTraceSamplers() ([]samplerSpec, error) {
	return samplersNamed("MDLM", "LLaDA-lowconf", "SL-geometric", "Hybrid-gibbs")
}

// samplerProcess is the evidence process a sampler feeds its denoiser.
func samplerProcess(family string) string {
	switch family {
	case famHard:
		return procMask
	case famSoft:
		return procSoft
	}
	return procMix
}

var modelError = &lab.Experiment{
	Name:  "model-error",
	Title: "learned denoisers against the exact posterior",
	Hypothesis: "A transformer trained on exact samples of a testbed approximates the exact posterior " +
		"under every evidence process it was trained on: mean KL(exact ‖ network) per position small " +
		"in every masking-rate and SNR bin, cross-entropy near the exact conditional entropy (the " +
		"floor), calibrated top-token confidence; the evidence skip (log ℓ̂ added to the logits) is what " +
		"makes soft evidence learnable; and along a sampler's own trajectory the error stays at its " +
		"level under the training process, unless the sampler feeds evidence the network was not " +
		"trained on.",
	Params: []lab.Param{
		{Name: "sequences", Doc: "evidence draws per bin, model and seed", Default: 96, Quick: 12, Int: true, Min: 1, Max: 100000},
		{Name: "runs", Doc: "sampler runs per model, sampler and seed (trajectory table)", Default: 24, Quick: 3, Int: true, Min: 1, Max: 100000},
	},
	Tables: []lab.TableSpec{
		{
			Name: "evidence", Title: "Network against the exact posterior, per evidence bin",
			Labels: []string{"testbed", "model", "trained", "process", "level", "in-dist"},
			Metrics: []lab.MetricSpec{
				{Name: "kl", Kind: lab.Mean, Digits: 4, Doc: "mean KL(exact ‖ network) per evaluated position (nats)"},
				{Name: "kl-p99", Kind: lab.Mean, Digits: 4, Doc: "99th percentile of the per-position KL"},
				{Name: "ce", Kind: lab.Mean, Digits: 4, Doc: "network cross-entropy −log q(x0_i) (nats)"},
				{Name: "floor", Kind: lab.Mean, Digits: 4, Doc: "exact conditional entropy H(x_i | e) (nats)"},
				{Name: "ce-gap", Kind: lab.Mean, Digits: 4, Doc: "ce − floor"},
				{Name: "ece", Kind: lab.Mean, Digits: 4, Doc: "expected calibration error of the top token (10 bins)"},
				{Name: "positions", Kind: lab.Mean, Digits: 0, Doc: "evaluated positions per seed"},
			},
			Note: "Evaluated positions are those whose evidence is not a one-hot token row (masked and soft " +
				"positions). `level` is the masking rate, the SNR s of the channel λ = s·onehot(x0) + √s·ε, or the " +
				"mixture bin. `in-dist` says whether the network's training objective produces such evidence.",
			Plots: []lab.PlotSpec{
				{Name: "kl-mask", Title: "KJV HMM (L = 32): KL to the exact posterior under masking", X: "level", Y: "kl",
					Series: []string{"model"}, Filter: map[string]string{"testbed": "kjv-hmm-32", "process": procMask},
					LogY: true, XLabel: "masking rate", YLabel: "mean KL(exact ‖ network), nats"},
				{Name: "kl-soft", Title: "KJV HMM (L = 32): KL to the exact posterior under soft evidence", X: "level", Y: "kl",
					Series: []string{"model"}, Filter: map[string]string{"testbed": "kjv-hmm-32", "process": procSoft},
					LogX: true, LogY: true, XLabel: "SNR s", YLabel: "mean KL(exact ‖ network), nats"},
			},
		},
		{
			Name: "trajectory", Title: "Network against the exact posterior along each sampler's trajectory",
			Labels: []string{"testbed", "model", "trained", "sampler", "in-dist"},
			Metrics: []lab.MetricSpec{
				{Name: "kl", Kind: lab.Mean, Digits: 4, Doc: "mean KL(exact ‖ network) per uncommitted position over all calls"},
				{Name: "kl-early", Kind: lab.Mean, Digits: 4, Doc: "the same over the first third of the calls"},
				{Name: "kl-mid", Kind: lab.Mean, Digits: 4, Doc: "the middle third"},
				{Name: "kl-late", Kind: lab.Mean, Digits: 4, Doc: "the last third"},
				{Name: "kl-p99", Kind: lab.Mean, Digits: 4, Doc: "99th percentile of the per-position KL"},
				{Name: "contradictory", Kind: lab.Rate, Doc: "calls whose evidence the exact model rejects (probability zero)"},
				{Name: "nfe", Kind: lab.Mean, Digits: 1},
			},
			Note: "Each sampler runs with the network as its denoiser; at every call the network's beliefs are " +
				"compared with the exact posterior under the same evidence (positions without a one-hot row). " +
				"Steps = max(4, L/4). Calls the exact model rejects are not compared.",
		},
	},
	Units: func(cfg lab.Config) ([]lab.Unit, error) {
		trace, err := meTraceSamplers()
		if err != nil {
			return nil, err
		}
		var us []lab.Unit
		for _, name := range nn.ShippedNames() {
			if strings.Contains(name, "-kernel-") {
				continue // learned kernel denoisers: graded-generation measures them under their own evidence
			}
			for _, proc := range []string{procMask, procSoft, procMix} {
				us = append(us, lab.Unit{Key: name + "/" + proc, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
					return meEvidenceRows(ctx, name, proc, cfg.Int("sequences"), seed)
				}})
			}
			for _, sp := range trace {
				us = append(us, lab.Unit{Key: name + "/trace/" + sp.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
					return meTraceRows(ctx, name, sp, cfg.Int("runs"), seed)
				}})
			}
		}
		return us, nil
	},
	Verdict: meVerdict,
}

var (
	meMu     sync.Mutex
	meModels = map[string]*nn.Model{}
)

// meOpen returns a shipped network and its testbed, checking that they
// share the vocabulary and length.
func meOpen(name string) (*nn.Model, *testbed, error) {
	meMu.Lock()
	m, ok := meModels[name]
	if !ok {
		var err error
		if m, err = nn.Shipped(name); err != nil {
			meMu.Unlock()
			return nil, nil, err
		}
		meModels[name] = m
	}
	meMu.Unlock()
	cfg := m.Config()
	tb, err := getTestbed(cfg.Testbed)
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: %w", name, err)
	}
	if err := m.CheckVocab(tb.m.Vocab()); err != nil {
		return nil, nil, fmt.Errorf("model %s on testbed %s: %w", name, cfg.Testbed, err)
	}
	if tb.m.Len() > cfg.MaxPositions {
		return nil, nil, fmt.Errorf("model %s takes %d positions, testbed %s has %d", name, cfg.MaxPositions, cfg.Testbed, tb.m.Len())
	}
	return m, tb, nil
}

// meStats accumulates the per-position comparison of the network with the
// exact posterior.
type meStats struct {
	kl             []float64
	ce, h          float64
	calN           [10]int
	calConf, calOK [10]float64
}

// add compares one position: exact posterior p, network logits z (−Inf
// allowed), true token x0 (or −1 when there is none, along trajectories).
func (s *meStats) add(p, z []float32, x0 int32) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	var kl, h float64
	for v, pv := range p {
		if pv > 0 {
			lp := math.Log(float64(pv))
			kl += float64(pv) * (lp - (float64(z[v]) - lse))
			h -= float64(pv) * lp
		}
	}
	s.kl = append(s.kl, max(kl, 0))
	if x0 < 0 {
		return
	}
	s.h += h
	s.ce += lse - float64(z[x0])
	top := 0
	for v := range z {
		if z[v] > z[top] {
			top = v
		}
	}
	conf := math.Exp(float64(z[top]) - lse)
	b := min(int(conf*10), 9)
	s.calN[b]++
	s.calConf[b] += conf
	if int32(top) == x0 {
		s.calOK[b]++
	}
}

func (s *meStats) meanKL() float64 {
	var t float64
	for _, x := range s.kl {
		t += x
	}
	return t / float64(len(s.kl))
}

func (s *meStats) p99() float64 {
	xs := slices.Clone(s.kl)
	slices.Sort(xs)
	return xs[min(len(xs)-1, int(math.Ceil(0.99*float64(len(xs))))-1)]
}

func (s *meStats) ece() float64 {
	n := len(s.kl)
	var e float64
	for b := range s.calN {
		if s.calN[b] > 0 {
			e += math.Abs(s.calOK[b]-s.calConf[b]) / float64(n)
		}
	}
	return e
}

// channelRow writes the soft evidence row of the Gaussian channel at SNR s
// for token x0: softmax over the tokens of λ = s·onehot(x0) + √s·ε, in
// float32 as the stochastic-localisation sampler writes it.
func channelRow(row, lam []float32, x0 int32, mask int, s float64, rng *rand.Rand) {
	sd := math.Sqrt(s)
	for v := range lam {
		lam[v] = float32(sd * rng.NormFloat64())
		if int32(v) == x0 {
			lam[v] += float32(s)
		}
	}
	lam[mask] = float32(math.Inf(-1))
	soft.Softmax(row, lam)
}

// meEvidenceRows draws the evidence of one process in every bin and
// compares the network with the exact posterior.
func meEvidenceRows(ctx context.Context, name, proc string, n int, seed uint64) ([]lab.Row, error) {
	m, tb, err := meOpen(name)
	if err != nil {
		return nil, err
	}
	cfg := m.Config()
	L, K, mask := tb.m.Len(), tb.m.Vocab().Size(), int(tb.m.Vocab().Mask())
	var levels []string
	switch proc {
	case procMask:
		for _, r := range meMaskRates {
			levels = append(levels, ftoa(r))
		}
	case procSoft:
		for _, s := range meSNRs {
			levels = append(levels, ftoa(s))
		}
	default:
		for _, mx := range meMixes {
			levels = append(levels, mx.name)
		}
	}
	x := make([]int32, L)
	lam := make([]float32, K)
	evs, z := make([]*soft.Dense, n), make([][]float32, n)
	xs := make([][]int32, n)
	exact := soft.NewDense(L, K)
	var rows []lab.Row
	for bi, level := range levels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j := 0; j < n; j++ {
			rng := soft.BlockRand(lab.Mix(seed+uint64(bi)), j)
			tb.m.Sample(x, rng)
			if evs[j] == nil {
				evs[j], z[j], xs[j] = soft.NewDense(L, K), make([]float32, L*K), make([]int32, L)
			}
			ev := evs[j]
			clear(ev.Data)
			for i := 0; i < L; i++ {
				row := ev.Row(i)
				xs[j][i] = x[i]
				switch proc {
				case procMask:
					if rng.Float64() < meMaskRates[bi] {
						row[mask] = 1
					} else {
						row[x[i]] = 1
					}
				case procSoft:
					channelRow(row, lam, x[i], mask, meSNRs[bi], rng)
				default:
					mx := meMixes[bi]
					switch u := rng.Float64(); {
					case u < mx.pm:
						row[mask] = 1
					case u < mx.pm+mx.ps:
						s := mx.smin * math.Pow(mx.smax/mx.smin, rng.Float64())
						channelRow(row, lam, x[i], mask, s, rng)
					default:
						row[x[i]] = 1
					}
				}
			}
		}
		if err := m.LogitsBatch(z, evs); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var st meStats
		for j := 0; j < n; j++ {
			if err := tb.m.Denoise(exact, evs[j], 0); err != nil {
				return nil, fmt.Errorf("%s: exact posterior: %w", name, err)
			}
			for i := 0; i < L; i++ {
				if isTokenRow(evs[j].Row(i), mask) {
					continue
				}
				st.add(exact.Row(i), z[j][i*K:(i+1)*K], xs[j][i])
			}
		}
		if len(st.kl) == 0 {
			continue
		}
		np := float64(len(st.kl))
		rows = append(rows, lab.Row{Table: "evidence",
			Labels: []string{cfg.Testbed, name, cfg.Objective, proc, level, yesNo(inDistribution(cfg.Objective, proc))},
			Values: map[string]lab.Obs{
				"kl": lab.Scalar(st.meanKL()), "kl-p99": lab.Scalar(st.p99()), "ce": lab.Scalar(st.ce / np), "floor": lab.Scalar(st.h / np),
				"ce-gap": lab.Scalar((st.ce - st.h) / np), "ece": lab.Scalar(st.ece()), "positions": lab.Scalar(np),
			}})
	}
	return rows, nil
}

// isTokenRow reports whether an evidence row is one-hot at a token.
func isTokenRow(row []float32, mask int) bool {
	nz := -1
	for v, x := range row {
		if x != 0 {
			if nz >= 0 {
				return false
			}
			nz = v
		}
	}
	return nz >= 0 && nz != mask
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// tracer is a Denoiser that answers with the network and compares each
// answer with the exact posterior under the same evidence. One tracer
// serves one run at a time.
type tracer struct {
	net    *nn.Model
	exact  decode.Denoiser
	mask   int
	z      []float32
	ex     *soft.Dense
	calls  []meStats // per call of the current run
	contra int64
	total  int64
}

func (t *tracer) Denoise(dst, ev *soft.Dense, tm float64) error {
	K := ev.K
	if len(t.z) < ev.L*K {
		t.z = make([]float32, ev.L*K)
	}
	z := t.z[:ev.L*K]
	if err := t.net.Logits(z, ev); err != nil {
		return err
	}
	for i := 0; i < ev.L; i++ {
		if _, err := soft.Softmax(dst.Row(i), z[i*K:(i+1)*K]); err != nil {
			return fmt.Errorf("network logits at position %d: %w", i, err)
		}
	}
	t.total++
	var st meStats
	err := t.exact.Denoise(t.ex, ev, tm)
	switch {
	case errors.Is(err, oracle.ErrContradictory):
		t.contra++
	case err != nil:
		return err
	default:
		for i := 0; i < ev.L; i++ {
			if !isTokenRow(ev.Row(i), t.mask) {
				st.add(t.ex.Row(i), z[i*K:(i+1)*K], -1)
			}
		}
	}
	t.calls = append(t.calls, st)
	return nil
}

// meTraceRows runs one sampler with the network and measures its error at
// every call.
func meTraceRows(ctx context.Context, name string, sp samplerSpec, runs int, seed uint64) ([]lab.Row, error) {
	m, tb, err := meOpen(name)
	if err != nil {
		return nil, err
	}
	cfg := m.Config()
	L, K := tb.m.Len(), tb.m.Vocab().Size()
	steps := max(4, L/4)
	tr := &tracer{net: m, exact: tb.m, mask: int(tb.m.Vocab().Mask()), ex: soft.NewDense(L, K)}
	var thirds [3]meStats
	var nfe float64
	var pooled meStats
	for j := 0; j < runs; j++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tr.calls = tr.calls[:0]
		res, err := decode.Generate(ctx, tr, tb.m.Vocab(), L, sp.alg, decode.Options{
			Steps: steps, Rand: soft.BlockRand(seed, j), Workers: 1, CompleteOnError: true})
		if err != nil {
			return nil, fmt.Errorf("%s with %s: %w", sp.name, name, err)
		}
		nfe += float64(res.NFE)
		nc := len(tr.calls)
		for c, st := range tr.calls {
			ph := min(3*c/nc, 2)
			thirds[ph].kl = append(thirds[ph].kl, st.kl...)
			pooled.kl = append(pooled.kl, st.kl...)
		}
	}
	v := map[string]lab.Obs{"nfe": lab.Scalar(nfe / float64(runs)), "contradictory": lab.Count(tr.contra, tr.total)}
	if len(pooled.kl) > 0 {
		v["kl"], v["kl-p99"] = lab.Scalar(pooled.meanKL()), lab.Scalar(pooled.p99())
	}
	for ph, key := range []string{"kl-early", "kl-mid", "kl-late"} {
		if len(thirds[ph].kl) > 0 {
			v[key] = lab.Scalar(thirds[ph].meanKL())
		}
	}
	return []lab.Row{{Table: "trajectory",
		Labels: []string{cfg.Testbed, name, cfg.Objective, sp.name, yesNo(inDistribution(cfg.Objective, samplerProcess(sp.family)))},
		Values: v}}, nil
}

// meVerdict checks the accuracy targets of the shipped KJV-HMM networks:
// mean KL ≤ 0.02 nats per position in every in-distribution bin and a
// cross-entropy within 0.02 nats of the floor.
func meVerdict(r *lab.Result) []string {
	t := r.Table("evidence")
	if t == nil {
		return nil
	}
	var vs []string
	var names []string
	for _, row := range t.Rows {
		if n := t.Label(row, "model"); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, name := range names {
		worst, worstBin, worstGap, gapBin, p99, p99Bin := math.Inf(-1), "", math.Inf(-1), "", math.Inf(-1), ""
		miss, bins := 0, 0
		for _, row := range t.Select("model="+name, "in-dist=yes") {
			bin := t.Label(row, "process") + " " + t.Label(row, "level")
			kl, gap, q := t.Cell(row, "kl"), t.Cell(row, "ce-gap"), t.Cell(row, "kl-p99")
			if kl.Value > worst {
				worst, worstBin = kl.Value, bin
			}
			if gap.Value > worstGap {
				worstGap, gapBin = gap.Value, bin
			}
			if q.Value > p99 {
				p99, p99Bin = q.Value, bin
			}
			bins++
			if !(kl.Value <= 0.02) {
				miss++
			}
		}
		if worstBin == "" {
			continue
		}
		status := fmt.Sprintf("meets mean KL ≤ 0.02 in all %d in-distribution bins", bins)
		if miss > 0 {
			status = fmt.Sprintf("misses mean KL ≤ 0.02 in %d of %d in-distribution bins", miss, bins)
		}
		vs = append(vs, fmt.Sprintf("%s %s; worst mean KL %.4f (%s), worst 99th percentile %.3f (%s), worst cross-entropy gap %.4f (%s).",
			name, status, worst, worstBin, p99, p99Bin, worstGap, gapBin))
	}
	// The evidence skip: the soft network with and without it.
	for _, snr := range []string{"3", "10"} {
		with, ok1 := t.Get("kl", "model=kjv-hmm-32-soft", "process=soft", "level="+snr)
		without, ok2 := t.Get("kl", "model=kjv-hmm-32-soft-noskip", "process=soft", "level="+snr)
		if ok1 && ok2 {
			vs = append(vs, fmt.Sprintf("Evidence skip at SNR %s: mean KL %s with it, %s without.", snr, lab.Format(with, 4), lab.Format(without, 4)))
		}
	}
	return vs
}
