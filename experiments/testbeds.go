package experiments

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/degrade"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// model is what the experiments need of a testbed: an exact oracle with a
// validity test and the data's unigram distribution.
type model interface {
	oracle.Model
	Valid(x []int32) bool
	Unigram(dst []float64)
}

// testbed is a named exact model with its precomputed facts.
type testbed struct {
	name    string
	m       model
	unigram []float64
	entropy float64 // exact (or Monte-Carlo) entropy in nats
	exactH  bool
	small   bool // support small enough for a meaningful sample TV
}

var (
	tbMu    sync.Mutex
	tbCache = map[string]*testbed{}
)

// getTestbed returns the testbed called name, built once.
func getTestbed(name string) (*testbed, error) {
	tbMu.Lock()
	defer tbMu.Unlock()
	if tb, ok := tbCache[name]; ok {
		return tb, nil
	}
	var m model
	small := false
	var err error
	switch name {
	case "two-sentence":
		m, small = oracle.TwoSentence(), true
	case "agreement":
		m, small = oracle.Agreement(), true
	case "sticky3":
		m, small = oracle.Sticky3(), true
	case "agreement-hmm":
		m, err = oracle.AgreementHMM(6)
	case "agreement-hmm-4":
		m, err = oracle.AgreementHMM(4)
		small = true
	case "kjv-hmm":
		m, err = kjvHMM(6)
	case "kjv-hmm-16":
		m, err = kjvHMM(16)
	case "kjv-hmm-32":
		m, err = kjvHMM(32)
	case "agreement-hmm-12":
		m, err = oracle.AgreementHMM(12)
	case "agreement-pcfg":
		m, err = oracle.AgreementPCFG(7)
	default:
		return nil, fmt.Errorf("unknown testbed %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("testbed %s: %w", name, err)
	}
	tb := &testbed{name: name, m: m, small: small}
	tb.unigram = make([]float64, m.Vocab().Size())
	m.Unigram(tb.unigram)
	h, err := oracle.EntropyOf(m, oracle.EntropyOptions{Samples: 1 << 15, Seed: 7, Workers: 1})
	if err != nil {
		return nil, fmt.Errorf("testbed %s: entropy: %w", name, err)
	}
	tb.entropy, tb.exactH = h.Nats, h.Exact
	tbCache[name] = tb
	return tb, nil
}

// Oracle kinds: the exact testbed, or the testbed behind degrade.Oracle.
const (
	oracleExact    = "exact"
	oracleDegraded = "degraded"
)

// modelKinds are the models the comparing experiments run every testbed
// under, in table order: the exact oracle and the degraded oracle
// (degrade.Default). A model with error scores its joint final decodes with
// its own pseudo-likelihood (scorerFor); a comparing experiment adds its
// rows for further models by extending this list.
func modelKinds() []string { return []string{oracleExact, oracleDegraded} }

// scorerFor returns the joint scorer of a final decode under den: the
// testbed's exact joint when den is the exact oracle or when oracleScorer is
// set (the "oracle scorer (upper bound)" rows), otherwise the model's own
// pseudo-log-likelihood (decode.NewPLL over den, memoised per sequence: den
// is a deterministic function of its input). The scorer serves one unit.
func (tb *testbed) scorerFor(den decode.Denoiser, oracleScorer bool) (decode.JointScorer, error) {
	if oracleScorer || den == decode.Denoiser(tb.m) {
		return tb.m, nil
	}
	pll, err := decode.NewPLL(den, tb.m.Vocab())
	if err != nil {
		return nil, err
	}
	pll.Workers = 1
	return &memoScorer{sc: pll, cache: map[string]float64{}}, nil
}

// memoScorer caches a deterministic joint scorer by sequence.
type memoScorer struct {
	mu    sync.Mutex
	sc    decode.JointScorer
	cache map[string]float64
}

func (m *memoScorer) LogProb(x []int32) (float64, error) {
	k := SeqKey(x)
	m.mu.Lock()
	lp, hit := m.cache[k]
	m.mu.Unlock()
	if hit {
		return lp, nil
	}
	lp, err := m.sc.LogProb(x)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	if len(m.cache) < 1<<18 {
		m.cache[k] = lp
	}
	m.mu.Unlock()
	return lp, nil
}

// denoiser returns the testbed's denoiser of the given kind.
func (tb *testbed) denoiser(kind string) (decode.Denoiser, error) {
	switch kind {
	case oracleExact:
		return tb.m, nil
	case oracleDegraded:
		return degrade.New(tb.m, tb.unigram, tb.m.Vocab().Mask(), degrade.Default)
	}
	return nil, fmt.Errorf("unknown oracle kind %q", kind)
}

// sampleSet draws n sequences with gen(j) and accumulates their metrics. gen
// returns the tokens and the NFE it used.
type sampleSet struct {
	stats   *SampleStats
	samples [][]int32
	nfe     float64 // mean NFE per sequence
}

func (tb *testbed) collect(ctx context.Context, n int, keep bool, gen func(j int) ([]int32, int, error)) (*sampleSet, error) {
	s := &sampleSet{stats: NewSampleStats()}
	skip := tb.m.Vocab().EOS()
	var nfe float64
	for j := 0; j < n; j++ {
		if j%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		x, used, err := gen(j)
		if err != nil {
			return nil, err
		}
		lp, err := tb.m.LogProb(x)
		if err != nil {
			return nil, err
		}
		s.stats.Add(x, lp, skip)
		nfe += float64(used)
		if keep {
			s.samples = append(s.samples, append([]int32(nil), x...))
		}
	}
	s.nfe = nfe / float64(n)
	return s, nil
}

// openTestbed returns the named testbed and its denoiser of the given kind
// (exact or degraded).
func openTestbed(name, kind string) (*testbed, decode.Denoiser, error) {
	if isNetKind(kind) { // a learned model (learned.go)
		return netDenoiser(name, kind)
	}
	tb, err := getTestbed(name)
	if err != nil {
		return nil, nil, err
	}
	den, err := tb.denoiser(kind)
	if err != nil {
		return nil, nil, err
	}
	return tb, den, nil
}

// exactSamples draws n exact samples (the noise floor of every metric).
func (tb *testbed) exactSamples(ctx context.Context, n int, seed uint64, keep bool) (*sampleSet, error) {
	x := make([]int32, tb.m.Len())
	return tb.collect(ctx, n, keep, func(j int) ([]int32, int, error) {
		tb.m.Sample(x, soft.BlockRand(seed, j))
		return x, 0, nil
	})
}

// generate draws n sequences from den with the sampler; a run the denoiser
// ends early (exact oracle, marginal trap) is completed from its last
// beliefs by decode.Options.CompleteOnError.
func (tb *testbed) generate(ctx context.Context, den decode.Denoiser, alg decode.Algorithm, steps, n int, seed uint64, keep bool) (*sampleSet, error) {
	return tb.generateWith(ctx, den, alg, steps, n, seed, keep, nil)
}

// generateWith is generate with final, if set, adding options (a joint
// final decode).
func (tb *testbed) generateWith(ctx context.Context, den decode.Denoiser, alg decode.Algorithm, steps, n int, seed uint64, keep bool, final func(decode.Options) decode.Options) (*sampleSet, error) {
	return tb.collect(ctx, n, keep, func(j int) ([]int32, int, error) {
		opts := decode.Options{Steps: steps, Rand: soft.BlockRand(seed, j), Workers: 1, CompleteOnError: true}
		if final != nil {
			opts = final(opts)
		}
		res, err := decode.Generate(ctx, den, tb.m.Vocab(), tb.m.Len(), alg, opts)
		if err != nil {
			return nil, 0, fmt.Errorf("%s, %d steps: %w", alg.Name(), steps, err)
		}
		return res.Tokens, res.NFE, nil
	})
}

// generateSpec draws n sequences with sampler sp at the given step count.
func (tb *testbed) generateSpec(ctx context.Context, den decode.Denoiser, sp samplerSpec, st setting, n int, seed uint64, keep bool) (*sampleSet, error) {
	alg := st.alg
	if sp.build != nil {
		var err error
		if alg, err = sp.build(den, tb.m.Vocab()); err != nil {
			return nil, fmt.Errorf("%s: %w", sp.name, err)
		}
	}
	var final func(decode.Options) decode.Options
	if sp.joint {
		sc, err := tb.scorerFor(den, sp.oracleScorer)
		if err != nil {
			return nil, err
		}
		final = func(o decode.Options) decode.Options { return jointOptions(sp, sc, o) }
	}
	return tb.generateWith(ctx, den, alg, st.steps, n, seed, keep, final)
}

// qualityObs returns the standard sample metrics of s.
func (tb *testbed) qualityObs(s *sampleSet) map[string]lab.Obs {
	st := s.stats
	v := map[string]lab.Obs{
		"invalid":  lab.Count(st.Invalid, st.N),
		"distinct": lab.Scalar(st.Distinct()),
		"nfe":      lab.Scalar(s.nfe),
	}
	if tb.small {
		v["tv"] = lab.Scalar(st.TV())
	}
	if nll := st.NLL(); !math.IsNaN(nll) {
		v["nll-gap"] = lab.Scalar(nll - tb.entropy)
	}
	return v
}
