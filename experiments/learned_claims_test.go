package experiments

import (
	"context"
	"math"
	"testing"

	"github.com/softdiff/softdiff/experiments/lab"
)

// Headline claim of the decomposition at reduced size: the frequency
// collapse of confidence ordering (LLaDA-lowconf) on the KJV HMM is the
// sampler's, not the network's. With the exact oracle its unigram KL lies
// far above the exact-sample floor; the masked network at the same sampler,
// steps and stream adds almost nothing. The thresholds come from the quick
// and full runs of learned-central (exact 0.59 against a floor of 0.32;
// added −0.001 ± 0.06 at 3 seeds of 12 sequences); the test fails if the
// network's KL differs from the exact oracle's by 0.15 or more, or the
// exact oracle's excess over the floor falls below 0.1.
func TestClaimCollapseIsTheSamplers(t *testing.T) {
	tb := mustTestbed(t, "kjv-hmm-32")
	ctx := context.Background()
	sps, err := samplersNamed("LLaDA-lowconf")
	if err != nil {
		t.Fatal(err)
	}
	sp := sps[0]
	const n, seed = 32, 21
	st := setting{alg: sp.alg, steps: 8}
	ex, err := tb.generateSpec(ctx, tb.m, sp, st, n, seed, true)
	if err != nil {
		t.Fatal(err)
	}
	_, net, err := netDenoiser("kjv-hmm-32", oracleMaskedNet)
	if err != nil {
		t.Fatal(err)
	}
	nt, err := tb.generateSpec(ctx, net, sp, st, n, seed, true)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tb.exactSamples(ctx, n, seed+1, true)
	if err != nil {
		t.Fatal(err)
	}
	skip := tb.m.Vocab().EOS()
	kEx, kNet, kData := UnigramKL(ex.samples, tb.unigram, skip), UnigramKL(nt.samples, tb.unigram, skip), UnigramKL(data.samples, tb.unigram, skip)
	if !(kEx-kData >= 0.1) {
		t.Errorf("exact LLaDA-lowconf unigram KL %v is not 0.1 above the exact-sample floor %v", kEx, kData)
	}
	if d := math.Abs(kNet - kEx); !(d < 0.15) {
		t.Errorf("masked network adds %v to the unigram KL (exact %v, network %v), want < 0.15", kNet-kEx, kEx, kNet)
	}
}

// Headline claim of the central table at reduced size: on the agreement
// PCFG one token per step stays valid under the mixed network (invalid
// rate ≤ 0.05 over 200 sequences; the exact oracle's is 0 by construction),
// while one fully parallel step is invalid most of the time with the same
// network (≥ 0.6; quick run 0.93). A network that broke the grammar's
// agreement at one token per step, or parallel decoding that did not,
// fails it.
func TestClaimLearnedOneTokenPerStepValid(t *testing.T) {
	tb, den, err := openTestbed("agreement-pcfg", oracleMixedNet)
	if err != nil {
		t.Fatal(err)
	}
	sps, err := samplersNamed("LLaDA-random")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	L := tb.m.Len()
	one, err := tb.generateSpec(ctx, den, sps[0], setting{alg: sps[0].alg, steps: L}, 200, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	par, err := tb.generateSpec(ctx, den, sps[0], setting{alg: sps[0].alg, steps: 1}, 200, 6, false)
	if err != nil {
		t.Fatal(err)
	}
	r1 := float64(one.stats.Invalid) / float64(one.stats.N)
	rp := float64(par.stats.Invalid) / float64(par.stats.N)
	if !(r1 <= 0.05) {
		t.Errorf("mixed net, one token per step: invalid %v, want ≤ 0.05", r1)
	}
	if !(rp >= 0.6) {
		t.Errorf("mixed net, one parallel step: invalid %v, want ≥ 0.6", rp)
	}
}

// jointRates runs joint-decode's unit on tbName under model kind at NFE 1
// with n decodes and returns each decoder's invalid rate.
func jointRates(t *testing.T, tbName, kind string, n int, seed uint64) map[string]float64 {
	t.Helper()
	cfg := jointDecode.Config(true)
	cfg.Params["learned-samples"] = float64(n)
	rows, err := jointRun(context.Background(), cfg, tbName, kind, false, seed)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range rows {
		o := r.Values["invalid"]
		if o.N != int64(n) {
			t.Fatalf("%s: %d decodes, want %d", r.Labels[3], o.N, n)
		}
		out[r.Labels[3]] = float64(o.K) / float64(o.N)
	}
	return out
}

// Headline claim of joint-decode with a learned model: on the agreement
// PCFG at NFE 1 (the mixed network's marginals) a parallel sample is
// almost always invalid, and importance resampling scored by the network's
// own pseudo-likelihood repairs a large part of it. Quick run (3 seeds of 4
// decodes): sample 1.000 [0.758, 1.000], IR 0.417 [0.193, 0.680]. The test
// fails if the sample's invalid rate falls below 0.7 (the trap gone) or if
// IR does not cut it by at least 0.25 (a pseudo-likelihood that does not
// tell valid from invalid candidates leaves IR at the sample's rate).
func TestClaimLearnedJointIRRepairs(t *testing.T) {
	r := jointRates(t, "agreement-pcfg", oracleMixedNet, 24, 3)
	if !(r["sample"] >= 0.7) {
		t.Errorf("mixed net, NFE 1: parallel sample invalid %v, want ≥ 0.7", r["sample"])
	}
	if !(r["IR"] <= r["sample"]-0.25) {
		t.Errorf("mixed net, NFE 1: IR with the network's PLL invalid %v, sample %v: want IR ≥ 0.25 lower", r["IR"], r["sample"])
	}
	if _, ok := r["beam"]; ok {
		t.Errorf("beam with a network's pseudo-likelihood ran; it should run only with the oracle scorer")
	}
}

// beliefEntropy runs frequency-collapse's belief statistics on the KJV HMM
// (L = 32) under model kind and returns the mean belief entropy by distance.
func beliefEntropy(t *testing.T, kind string, contexts int, seed uint64) map[string]float64 {
	t.Helper()
	cfg := frequencyCollapse.Config(true)
	cfg.Params["learned-contexts"] = float64(contexts)
	rows, err := beliefRun(context.Background(), cfg, collapseNetTB, kind, seed)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range rows {
		out[r.Labels[2]] = r.Values["entropy"].X
	}
	return out
}

// Headline claim of frequency-collapse with learned models: far from
// context the beliefs flatten for a network in distribution as for the
// exact oracle, while the soft-objective network fed hard evidence (out of
// distribution) ignores the context. Quick run (3 seeds of 12 contexts),
// entropy at distance 1 and 4: exact 3.365 ± 0.219 and 4.118 ± 0.077,
// mixed net 3.362 ± 0.190 and 4.128 ± 0.146, soft net 3.185 ± 0.122 and
// 3.140 ± 0.308. The test fails if the mixed net's entropy rises by less
// than 0.3 nats from distance 1 to 4 or lies 0.3 or more from the exact
// oracle's at distance 1, or if the soft net's rises by 0.3 or more (it
// would then read hard evidence after all).
func TestClaimLearnedBeliefsFlattenFarFromContext(t *testing.T) {
	const contexts, seed = 24, 11
	ex := beliefEntropy(t, oracleExact, contexts, seed)
	mix := beliefEntropy(t, oracleMixedNet, contexts, seed)
	sn := beliefEntropy(t, oracleSoftNet, contexts, seed)
	if !(mix["4"]-mix["1"] >= 0.3) {
		t.Errorf("mixed net: entropy %v at distance 1, %v at 4: want a rise ≥ 0.3", mix["1"], mix["4"])
	}
	if d := math.Abs(mix["1"] - ex["1"]); !(d < 0.3) {
		t.Errorf("mixed net at distance 1: entropy %v, exact %v: want within 0.3", mix["1"], ex["1"])
	}
	if !(math.Abs(sn["4"]-sn["1"]) < 0.3) {
		t.Errorf("soft net (out of dist.): entropy %v at distance 1, %v at 4: want flat (< 0.3 apart)", sn["1"], sn["4"])
	}
}

// Headline claim of duplication with learned models: on the KJV HMM
// (L = 32) at L/4 steps the repeats of confidence ordering are the
// sampler's — the mixed network repeats about as often as the exact oracle,
// both far above the data — while the soft-objective network, fed hard
// evidence (out of distribution), multiplies them. Quick run (3 seeds of
// 3 sequences): data 0.011 [0.004, 0.031], LLaDA-lowconf exact 0.104
// [0.073, 0.145], mixed net 0.093 [0.064, 0.133], soft net 0.437 [0.380,
// 0.496]. The test fails if the mixed net's rate is not 0.04 above the
// data's or lies 0.06 or more from the exact oracle's, or if the soft net
// does not add at least 0.15 to the exact oracle's rate.
func TestClaimLearnedRepeatsAreTheSamplers(t *testing.T) {
	tb := mustTestbed(t, dupNetTB)
	ctx := context.Background()
	sps, err := samplersNamed("LLaDA-lowconf")
	if err != nil {
		t.Fatal(err)
	}
	sp := sps[0]
	const n, seed = 8, 9
	st := setting{alg: sp.alg, steps: tb.m.Len() / 4}
	rate := func(kind string) float64 {
		_, den, err := openTestbed(dupNetTB, kind)
		if err != nil {
			t.Fatal(err)
		}
		set, err := tb.generateSpec(ctx, den, sp, st, n, seed, false)
		if err != nil {
			t.Fatal(err)
		}
		return float64(set.stats.Repeats) / float64(set.stats.Pairs)
	}
	data, err := tb.exactSamples(ctx, n, dataSeed(seed), false)
	if err != nil {
		t.Fatal(err)
	}
	dr := float64(data.stats.Repeats) / float64(data.stats.Pairs)
	ex, mix, sn := rate(oracleExact), rate(oracleMixedNet), rate(oracleSoftNet)
	if !(mix-dr >= 0.04) {
		t.Errorf("mixed net, LLaDA-lowconf: repeat rate %v, data %v: want ≥ 0.04 above", mix, dr)
	}
	if d := math.Abs(mix - ex); !(d < 0.06) {
		t.Errorf("mixed net %v against exact %v: want within 0.06", mix, ex)
	}
	if !(sn-ex >= 0.15) {
		t.Errorf("soft net (out of dist.) %v against exact %v: want ≥ 0.15 more", sn, ex)
	}
	t.Logf("data %v exact %v mixed %v soft %v", dr, ex, mix, sn)
}

// Headline claim of quality-vs-nfe with learned models: on the agreement
// PCFG at NFE = L the training objective decides validity. The masked
// network decodes one token per step validly (LLaDA-random), but fed the
// soft evidence of SL-uniform (out of distribution) most of its samples
// break the grammar, while the mixed network, trained on soft evidence
// too, stays valid under the same sampler and stream. Measured at 24
// sequences (stream lab.Mix(7), as here): masked net LLaDA-random 0/24,
// masked net SL-uniform 16/24, mixed net SL-uniform 0/24. The test fails
// if the masked net under SL-uniform is invalid less than 30% of the time,
// or either in-distribution pair more than 10%.
func TestClaimLearnedObjectiveDecidesValidity(t *testing.T) {
	ctx := context.Background()
	sps, err := samplersNamed("LLaDA-random", "SL-uniform")
	if err != nil {
		t.Fatal(err)
	}
	rate := func(kind string, sp samplerSpec) float64 {
		tb, den, err := openTestbed(qualityNetTB, kind)
		if err != nil {
			t.Fatal(err)
		}
		set, err := tb.generateSpec(ctx, den, sp, setting{alg: sp.alg, steps: tb.m.Len()}, 24, lab.Mix(7), false)
		if err != nil {
			t.Fatal(err)
		}
		return float64(set.stats.Invalid) / float64(set.stats.N)
	}
	if r := rate(oracleMaskedNet, sps[0]); !(r <= 0.1) {
		t.Errorf("masked net, LLaDA-random at L steps: invalid %v, want ≤ 0.1", r)
	}
	if r := rate(oracleMaskedNet, sps[1]); !(r >= 0.3) {
		t.Errorf("masked net (out of dist.), SL-uniform at L steps: invalid %v, want ≥ 0.3", r)
	}
	if r := rate(oracleMixedNet, sps[1]); !(r <= 0.1) {
		t.Errorf("mixed net, SL-uniform at L steps: invalid %v, want ≤ 0.1", r)
	}
}

// Headline claim of marginal-trap under a learned model: on the agreement
// PCFG at 2 NFE the marginal trap survives the mixed network, and soft
// evidence still escapes more of it than the best hard rule. Full run
// (5 seeds × 120 sequences): SL-uniform invalid 0.295 [0.260, 0.333]
// against LLaDA-lowconf 0.420 [0.381, 0.460] (exact oracle 0.227 against
// 0.399); under the degraded oracle the same comparison goes to hard
// decoding at every setting swept. Here 400 sequences each; the test fails
// if the two Wilson intervals overlap or the order turns, i.e. if the
// network's error (or a changed sampler rule) erased soft's advantage.
func TestClaimLearnedSoftEscapesTrap(t *testing.T) {
	tb, den, err := openTestbed("agreement-pcfg", oracleMixedNet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rate := func(name string, seed uint64) lab.Estimate {
		t.Helper()
		sps, err := samplersNamed(name)
		if err != nil {
			t.Fatal(err)
		}
		set, err := tb.generateSpec(ctx, den, sps[0], setting{alg: sps[0].alg, steps: 2}, 400, seed, false)
		if err != nil {
			t.Fatal(err)
		}
		return lab.Wilson(int64(set.stats.Invalid), int64(set.stats.N))
	}
	soft, hard := rate("SL-uniform", 31), rate("LLaDA-lowconf", 32)
	t.Logf("mixed net, agreement PCFG, 2 NFE: SL-uniform invalid %v, LLaDA-lowconf %v", soft, hard)
	if !soft.Below(hard) {
		t.Errorf("mixed net, 2 NFE: SL-uniform invalid %v is not below LLaDA-lowconf %v", soft, hard)
	}
}
