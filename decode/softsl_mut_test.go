package decode_test

// Mutation-driven tests of SoftSL (softsl.go): the rate weights, the commit
// policies at their exact boundaries, the evidence update with MASK inside
// the vocabulary, errors of the evidence rows and the setting checks.
// Expected values are derived by hand in the comments.

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// slLogRatios runs alg n times with Steps 2 (one refinement at step 0 over
// Δ = TMax − 0, then the final call) and returns, per position, the sample
// mean and variance of ℓ_i = log(e_i(hi)/e_i(lo)), e_i the evidence row
// handed to the second denoiser call (softmax(λ_i) over the tokens, so ℓ_i
// = λ_i(hi) − λ_i(lo)).
func slLogRatios(t *testing.T, v *soft.Vocab, den decode.Denoiser, L int, alg decode.Algorithm, lo, hi, n int, seed uint64) (mean, vari []float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	s, s2 := make([]float64, L), make([]float64, L)
	for range n {
		rec := &recorder{den: den}
		gen(t, rec, v, L, alg, decode.Options{Steps: 2, Rand: rng})
		if len(rec.ev) != 2 {
			t.Fatalf("%d denoiser calls, want 2", len(rec.ev))
		}
		for i := range L {
			e := rec.ev[1].Row(i)
			l := math.Log(float64(e[hi]) / float64(e[lo]))
			s[i] += l
			s2[i] += l * l
		}
	}
	mean, vari = make([]float64, L), make([]float64, L)
	for i := range L {
		mean[i] = s[i] / float64(n)
		vari[i] = s2[i]/float64(n) - mean[i]*mean[i]
	}
	return mean, vari
}

// TestSoftSLRateWeights: the per-position rate weights of every Rate
// option, read from the first refinement. V = 2 tokens, so log V = ln 2 =
// 0.693147 (far from 1: H/log V and H·log V differ by a factor 2.08). L =
// 32 positions alternate the rows A = (0.95, 0.05) (even positions) and B
// = (0.3, 0.7) (odd), the beliefs at step 0 (no evidence yet). Steps 2 and
// TMax 8 give one refinement with Δ = 8; position i gets Δ_i = Δ·w_i, so
// ℓ_i = λ_i(1) − λ_i(0) = Δ_i·(m_i(1) − m_i(0)) + sqrt(Δ_i)·(ε_1 − ε_0) has
// mean 8·w_i·(−0.9) (A) or 8·w_i·0.4 (B) and variance 2·8·w_i. With β =
// RateStrength 2, the raw weights (normalised to mean 1 over the 32
// uncommitted positions, i.e. divided by (a + b)/2) are:
//
//	uniform:    w = 1 → mean −7.2 (A), 3.2 (B); variance 16
//	entropy:    H_A = −(0.95 ln 0.95 + 0.05 ln 0.05) = 0.198515,
//	            H_B = −(0.3 ln 0.3 + 0.7 ln 0.7) = 0.610864;
//	            a = 1 + 2(1 − H_A/ln 2) = 2.427206, b = 1 + 2(1 − H_B/ln 2) =
//	            1.237418 → w = (1.324668, 0.675332): mean −9.537612 (A),
//	            2.161062 (B); variance 21.194690, 10.805310
//	            (H·ln 2 instead would give w = (1.117188, 0.882812))
//	confidence: a = 1 + 2·0.95 = 2.9, b = 1 + 2·0.7 = 2.4 → w = (1.094340,
//	            0.905660): mean −7.879245 (A), 2.898113 (B); variance
//	            17.509434, 14.490566 (1 − β·max would give (1.384615,
//	            0.615385), 1 + β/max (0.892009, 1.107991))
//
// 300 runs give 4800 draws per row: the mean is checked within 5 standard
// errors (sqrt(var/4800)), the variance within 5·var·sqrt(2/4800).
func TestSoftSLRateWeights(t *testing.T) {
	v := tokVocab(t, 2)
	const L, n = 32, 300
	rows := make([][]float32, L)
	for i := range rows {
		rows[i] = []float32{0.95, 0.05}
		if i%2 == 1 {
			rows[i] = []float32{0.3, 0.7}
		}
	}
	den := product(rows...)
	for _, tc := range []struct {
		rate       decode.Rate
		mean, vari [2]float64 // A, B
	}{
		{decode.RateUniform, [2]float64{-7.2, 3.2}, [2]float64{16, 16}},
		{decode.RateEntropy, [2]float64{-9.537612, 2.161062}, [2]float64{21.194690, 10.805310}},
		{decode.RateConfidence, [2]float64{-7.879245, 2.898113}, [2]float64{17.509434, 14.490566}},
	} {
		alg := decode.SoftSL{Rate: tc.rate, RateStrength: 2, TMax: 8}
		mean, vari := slLogRatios(t, v, den, L, alg, 0, 1, n, 11+uint64(tc.rate))
		for c := range 2 {
			var m, va float64
			for i := c; i < L; i += 2 {
				m += mean[i]
				va += vari[i]
			}
			m /= L / 2
			va /= L / 2
			const draws = n * L / 2
			t.Logf("rate %v row %c: mean %.4f (hand %.4f), variance %.4f (hand %.4f)", tc.rate, 'A'+c, m, tc.mean[c], va, tc.vari[c])
			if !within(m, tc.mean[c], 5*math.Sqrt(tc.vari[c]/draws)) {
				t.Errorf("rate %v row %c: mean log-ratio %.4f, want %.4f", tc.rate, 'A'+c, m, tc.mean[c])
			}
			if !within(va, tc.vari[c], 5*tc.vari[c]*math.Sqrt(2.0/draws)) {
				t.Errorf("rate %v row %c: variance %.4f, want %.4f", tc.rate, 'A'+c, va, tc.vari[c])
			}
		}
	}
}

// TestSoftSLMaskInsideVocab: the update skips the MASK column wherever
// MASK sits. Vocabulary (a, MASK, b): MASK id 1, tokens 0 and 2. Row
// (0.9, 0, 0.1) at 16 positions, uniform rate, TMax 4, Steps 2: Δ = 4 and
// ℓ = λ(b) − λ(a) has mean Δ·(m(b) − m(a)) = 4·(0.1 − 0.9) = −3.2 and
// variance 2Δ = 8 (token b must get Δ·m(b), not the belief of another
// column). 200 runs, 3200 draws: mean within 5·sqrt(8/3200) = 0.25.
func TestSoftSLMaskInsideVocab(t *testing.T) {
	v, err := soft.NewVocab([]string{"a", "[MASK]", "b"}, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Mask() != 1 {
		t.Fatalf("MASK id %d, want 1", v.Mask())
	}
	const L, n = 16, 200
	q := make([][]float32, L)
	for i := range q {
		q[i] = []float32{0.9, 0, 0.1}
	}
	mean, vari := slLogRatios(t, v, independent{q: q, mask: 1}, L, decode.SoftSL{TMax: 4}, 0, 2, n, 3)
	var m, va float64
	for i := range L {
		m += mean[i] / L
		va += vari[i] / L
	}
	if !within(m, -3.2, 5*math.Sqrt(8.0/(n*L))) {
		t.Errorf("mean log-ratio %.4f, want −3.2", m)
	}
	if !within(va, 8, 5*8*math.Sqrt(2.0/(n*L))) {
		t.Errorf("variance %.4f, want 8", va)
	}
}

// TestSoftSLCommitEntropyBoundary: CommitEntropy commits a position whose
// entropy is strictly below CommitThreshold. V = 2; rows (0.5, 0.5) with H
// = ln 2 and (0.75, 0.25) with H = −(0.75 ln 0.75 + 0.25 ln 0.25) =
// 0.562335; CommitThreshold = ln 2. Step 0 commits position 1 only:
// position 0 sits exactly at the threshold. The boundary is exact: the
// belief 0.5 is a power of two, and the run's entropy of (0.5, 0.5) is
// exactly math.Ln2 (checked first through StepInfo.MeanEntropy of a
// one-position run).
func TestSoftSLCommitEntropyBoundary(t *testing.T) {
	v := tokVocab(t, 2)
	res := gen(t, product([]float32{0.5, 0.5}), v, 1, decode.SoftSL{}, decode.Options{Steps: 1, Seed: 1})
	if h := res.Steps[0].MeanEntropy; h != math.Ln2 {
		t.Fatalf("entropy of (0.5, 0.5) is %v, not exactly ln 2 = %v: the boundary construction needs re-deriving", h, math.Ln2)
	}
	alg := decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: math.Ln2}
	for seed := range uint64(5) {
		res := gen(t, product([]float32{0.5, 0.5}, []float32{0.75, 0.25}), v, 2, alg, decode.Options{Steps: 4, Seed: seed})
		if pos, _ := commitsOf(res, 0, v.Mask()); !eqInts(pos, []int{1}) {
			t.Fatalf("seed %d: step 0 committed %v, want [1] (H = ln 2 is not below the threshold ln 2)", seed, pos)
		}
	}
}

// TestSoftSLCommitLocalisedBoundary: CommitLocalised commits once
// max_v softmax(λ_i)(v) ≥ 1 − CommitThreshold, the boundary included. TMax
// 1e-100 with Steps 3 (two refinements): Δ = 5e-101, so float32(Δ) = 0 and
// float32(sqrt Δ) = float32(7.1e-51) = 0, and the update leaves λ_i = 0
// exactly while marking it as evidence. At step 1 each position's evidence
// is softmax(0, 0) = (0.5, 0.5), localisation 1/(e^0 + e^0) = 0.5 exactly:
// threshold 0.5 (1 − 0.5 = 0.5) commits both positions at step 1; threshold
// 0.4 (0.6 > 0.5) commits neither. Step 0 commits nothing (no evidence).
func TestSoftSLCommitLocalisedBoundary(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.9, 0.1}, []float32{0.6, 0.4})
	for _, tc := range []struct {
		th   float64
		want []int
	}{{0.5, []int{0, 1}}, {0.4, nil}} {
		rec := &recorder{den: den}
		res := gen(t, rec, v, 2, decode.SoftSL{TMax: 1e-100, Commit: decode.CommitLocalised, CommitThreshold: tc.th}, decode.Options{Steps: 3, Seed: 2})
		if res.Steps[0].Changed != 0 {
			t.Fatalf("threshold %v: step 0 changed %d identities with no evidence yet", tc.th, res.Steps[0].Changed)
		}
		for i := range 2 {
			if e := rec.ev[1].Row(i); e[0] != 0.5 || e[1] != 0.5 || e[2] != 0 {
				t.Fatalf("threshold %v: evidence of position %d at call 2 is %v, want (0.5, 0.5, 0)", tc.th, i, e)
			}
		}
		if pos, _ := commitsOf(res, 1, v.Mask()); !eqInts(pos, tc.want) {
			t.Errorf("threshold %v: step 1 committed %v, want %v", tc.th, pos, tc.want)
		}
	}
}

// TestSoftSLEvidenceOverflow: TMax 1e39 is accepted (finite) but its step
// overflows the float32 log-evidence: Steps 3 gives Δ = 5e38, above the
// largest float32 (3.4e38), so float32(Δ) = +Inf and λ_i(v) =
// Inf·m_i(v) + … is +Inf or NaN. The next evidence write must fail
// (hybrid.State.EvidenceRow: "log-evidence … is …") and Generate return
// that error, not hand the denoiser stale rows. L = 2 is one block.
func TestSoftSLEvidenceOverflow(t *testing.T) {
	v := tokVocab(t, 2)
	for _, alg := range []decode.Algorithm{decode.SoftSL{TMax: 1e39}, decode.Hybrid{SoftSL: decode.SoftSL{TMax: 1e39}}} {
		rec := &recorder{den: product([]float32{0.9, 0.1}, []float32{0.6, 0.4})}
		_, err := decode.Generate(t.Context(), rec, v, 2, alg, decode.Options{Steps: 3, Seed: 1})
		if err == nil || !strings.Contains(err.Error(), "log-evidence") {
			t.Errorf("%s: error %v, want the non-finite log-evidence error", alg.Name(), err)
		}
		if len(rec.ev) != 1 {
			t.Errorf("%s: %d denoiser calls, want 1 (the second evidence write fails)", alg.Name(), len(rec.ev))
		}
	}
}

// TestSoftSLSettings: TMax, RateStrength and CommitThreshold must be
// finite and ≥ 0 (0 selects the default). The boundary values 0 and
// math.MaxFloat64 are accepted; −1e-300, NaN and +Inf of each are rejected
// before any denoiser call, alone and together (two infinite settings must
// not cancel).
func TestSoftSLSettings(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.9, 0.1}, []float32{0.6, 0.4})
	inf, nan := math.Inf(1), math.NaN()
	ok := []decode.SoftSL{
		{},
		{RateStrength: math.MaxFloat64},
		{TMax: 1e30},
		{Commit: decode.CommitEntropy, CommitThreshold: math.MaxFloat64},
		{Commit: decode.CommitLocalised, CommitThreshold: math.MaxFloat64},
	}
	for _, m := range ok {
		if _, err := decode.Generate(t.Context(), den, v, 2, m, decode.Options{Steps: 3, Seed: 1}); err != nil {
			t.Errorf("%+v rejected: %v", m, err)
		}
	}
	var bad []decode.SoftSL
	for _, x := range []float64{-1e-300, nan, inf} {
		bad = append(bad, decode.SoftSL{TMax: x}, decode.SoftSL{RateStrength: x}, decode.SoftSL{Commit: decode.CommitEntropy, CommitThreshold: x},
			decode.SoftSL{Rate: decode.RateEntropy, RateStrength: x})
	}
	bad = append(bad, decode.SoftSL{RateStrength: inf, CommitThreshold: inf}, decode.SoftSL{TMax: 1, RateStrength: inf, CommitThreshold: inf},
		decode.SoftSL{Commit: decode.CommitEntropy, RateStrength: inf, CommitThreshold: inf})
	for _, m := range bad {
		rec := &recorder{den: den}
		if _, err := decode.Generate(t.Context(), rec, v, 2, m, decode.Options{Steps: 3, Seed: 1}); err == nil || len(rec.ev) != 0 {
			t.Errorf("%+v: error %v after %d calls, want a settings error before any call", m, err, len(rec.ev))
		}
		if _, err := decode.Generate(t.Context(), den, v, 2, decode.Hybrid{SoftSL: m}, decode.Options{Steps: 3, Seed: 1}); err == nil {
			t.Errorf("Hybrid with %+v accepted", m)
		}
	}
}
