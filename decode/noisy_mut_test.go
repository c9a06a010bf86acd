package decode_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// pointsGrid is a Grid of given points (from and to are ignored).
type pointsGrid []float64

func (g pointsGrid) Name() string { return "points" }
func (g pointsGrid) Times(dst []float64, from, to float64) error {
	copy(dst, g)
	return nil
}

// absorbing2 is the absorbing kernel over tokens 0, 1 and MASK 2 with the
// linear schedule α(t) = 1 − t.
func absorbing2(t *testing.T) *kernels.Absorbing {
	ab, err := kernels.NewAbsorbing(3, 2, kernels.Linear{})
	if err != nil {
		t.Fatal(err)
	}
	return ab
}

// TestKernelGridRepeatedPoint: a kernel sampler's grid must be
// non-increasing (KernelReverse's and KernelCTMC's doc), so a repeated
// point, a step of length 0, is allowed: 1, 0.5, 0.5, 0 runs (the middle
// step moves nothing); an increasing pair is an error.
func TestKernelGridRepeatedPoint(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.75, 0.25}, []float32{0.5, 0.5})
	ab := absorbing2(t)
	for _, alg := range []decode.Algorithm{
		decode.KernelReverse{Kernel: ab, Grid: pointsGrid{1, 0.5, 0.5, 0}},
		decode.KernelCTMC{Kernel: ab, Grid: pointsGrid{1, 0.5, 0.5, 0}},
	} {
		res, err := decode.Generate(context.Background(), den, v, 2, alg, decode.Options{Steps: 3, Seed: 5})
		if err != nil || res.NFE != 3 || res.Steps[len(res.Steps)-1].Committed != 2 {
			t.Errorf("%s, grid 1, 0.5, 0.5, 0: %v, %v", alg.Name(), res, err)
		}
	}
	_, err := decode.Generate(context.Background(), den, v, 2, decode.KernelReverse{Kernel: ab, Grid: pointsGrid{1, 0.5, 0.6, 0}}, decode.Options{Steps: 3})
	if err == nil || !strings.Contains(err.Error(), "grid point 2") {
		t.Errorf("grid 1, 0.5, 0.6, 0: error %v, want grid point 2", err)
	}
}

// TestKernelEvidenceMask: KernelEvidence zeroes the MASK column and scales
// the row to maximum 1. The absorbing kernel, linear schedule, x_t = MASK at
// t = 0.5: P(MASK | v) = 1 − α(0.5) = 0.5 for a token v, 1 for MASK. With
// MASK at id 0 the row (1, 0.5, 0.5) becomes (0, 1, 1); with mask outside
// [0, K) (3, or soft.NoToken) nothing is zeroed: (0.5, 0.5, 1) for the
// kernel with MASK at id 2.
func TestKernelEvidenceMask(t *testing.T) {
	ab0, err := kernels.NewAbsorbing(3, 0, kernels.Linear{})
	if err != nil {
		t.Fatal(err)
	}
	dst := soft.NewDense(1, 3)
	if err := decode.KernelEvidence(dst, ab0, []int32{0}, 0.5, 0); err != nil {
		t.Fatal(err)
	}
	if got := dst.Row(0); !slices.Equal(got, []float32{0, 1, 1}) {
		t.Errorf("MASK 0: row %v, want [0 1 1]", got)
	}
	ab := absorbing2(t)
	for _, mask := range []int32{3, soft.NoToken} {
		if err := decode.KernelEvidence(dst, ab, []int32{2}, 0.5, mask); err != nil {
			t.Fatal(err)
		}
		if got := dst.Row(0); !slices.Equal(got, []float32{0.5, 0.5, 1}) {
			t.Errorf("mask %d: row %v, want [0.5 0.5 1]", mask, got)
		}
	}
}

// TestKernelUnreachableBeliefMass: a belief may put mass on tokens from
// which the current state cannot be reached (a learned denoiser does); the
// noisy samplers drop that mass (ℓ(v) = 0: an exact posterior has none
// there). rawRows answers (0.75, 0.25) whatever the evidence, so once a
// position of the absorbing kernel sits at a token, the other token has
// ℓ = 0 and positive belief. The runs (4 positions, 4 steps, several
// seeds: positions reach tokens before the last step) succeed, also with
// the kernel tabulated on the run's grid.
func TestKernelUnreachableBeliefMass(t *testing.T) {
	v := tokVocab(t, 2)
	rows := rawRows{{0.75, 0.25, 0}, {0.75, 0.25, 0}, {0.75, 0.25, 0}, {0.75, 0.25, 0}}
	ab := absorbing2(t)
	// the tabulated kernel computes its marginals as dense products w·Q̄,
	// where a weight on a dropped token would meet Q̄'s zeros
	tab, err := kernels.NewTabulated(ab, []float64{1, 0.75, 0.5, 0.25, 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []decode.Algorithm{decode.KernelReverse{Kernel: ab}, decode.KernelCTMC{Kernel: ab}, decode.KernelCTMC{Kernel: ab, Rule: decode.CTMCEuler},
		decode.KernelReverse{Kernel: tab}, decode.KernelCTMC{Kernel: tab}} {
		for seed := range uint64(5) {
			res, err := decode.Generate(context.Background(), rows, v, 4, alg, decode.Options{Steps: 4, Seed: seed})
			if err != nil || res.Steps[len(res.Steps)-1].Committed != 4 {
				t.Fatalf("%s seed %d: %v, %v", alg.Name(), seed, res, err)
			}
		}
	}
}

// contrary is a 2-token denoiser that contradicts hard evidence: where the
// evidence favours one token it answers the other with certainty; on even
// evidence it answers (0.5, 0.5).
type contrary struct{}

func (contrary) Denoise(dst, ev *soft.Dense, t float64) error {
	for i := range dst.L {
		e, row := ev.Row(i), dst.Row(i)
		switch {
		case e[0] > e[1]:
			copy(row, []float32{0, 1, 0})
		case e[1] > e[0]:
			copy(row, []float32{1, 0, 0})
		default:
			copy(row, []float32{0.5, 0.5, 0})
		}
	}
	return nil
}

// TestKernelBeliefWithoutReachableMass: a belief with no mass on any token
// from which the current state is reachable is an error saying so, naming
// the position. With the absorbing kernel a position that reached token y
// sees evidence for y alone and contrary's belief is the other token.
// 8 positions, 8 steps: some position reaches a token before the last step.
func TestKernelBeliefWithoutReachableMass(t *testing.T) {
	v := tokVocab(t, 2)
	ab := absorbing2(t)
	for _, alg := range []decode.Algorithm{decode.KernelReverse{Kernel: ab}, decode.KernelCTMC{Kernel: ab}} {
		_, err := decode.Generate(context.Background(), contrary{}, v, 8, alg, decode.Options{Steps: 8, Seed: 3})
		if err == nil || !strings.Contains(err.Error(), "the belief has no mass on a token from which state") {
			t.Errorf("%s: error %v, want the no-reachable-mass error", alg.Name(), err)
		}
	}
}

// scaledLikelihood multiplies the wrapped kernel's likelihoods by 2⁻¹⁰⁰: a
// likelihood matters only up to a constant factor, and a power of two
// scales exactly (the values stay normal float32).
type scaledLikelihood struct{ decode.CTMCKernel }

func (k scaledLikelihood) Likelihood(dst *soft.Dense, xt []int32, s, t float64) {
	k.CTMCKernel.Likelihood(dst, xt, s, t)
	for j := range dst.Data {
		dst.Data[j] *= 0x1p-100
	}
}

// TestKernelReverseLikelihoodScale: KernelReverse depends on the kernel's
// likelihoods only up to a constant factor (the evidence is scaled to
// maximum 1, the weights b/ℓ to maximum 1, the draw weights col·m to
// maximum 1), so the likelihoods times 2⁻¹⁰⁰ give exactly the same tokens
// for the same seed. Rows (1, 0) make token 1 impossible: its marginal at s
// is 0 while its column of Q(s, t) into MASK is not, a zero weight.
func TestKernelReverseLikelihoodScale(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.75, 0.25}, []float32{1, 0}, []float32{0.5, 0.5}, []float32{0.25, 0.75})
	ab := absorbing2(t)
	for seed := range uint64(6) {
		o := decode.Options{Steps: 4, Seed: seed}
		want, err := decode.Generate(context.Background(), den, v, 4, decode.KernelReverse{Kernel: ab}, o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode.Generate(context.Background(), den, v, 4, decode.KernelReverse{Kernel: scaledLikelihood{ab}}, o)
		if err != nil || !slices.Equal(got.Tokens, want.Tokens) {
			t.Fatalf("seed %d: scaled likelihoods give %v, %v; want %v", seed, got, err, want.Tokens)
		}
		if want.Tokens[1] != 0 {
			t.Fatalf("seed %d: position 1 (row (1, 0)) got token %d", seed, want.Tokens[1])
		}
	}
}

// zeroMarginals is a kernel whose marginals are all 0.
type zeroMarginals struct{ decode.CTMCKernel }

func (zeroMarginals) Marginal(dst, src *soft.Dense, t float64) { clear(dst.Data) }

// TestKernelReverseReachesNoState: when every draw weight col·m of a
// position is 0 (here a kernel whose marginals are 0) the reverse step is
// an error naming the position, not a draw from an all-zero row.
func TestKernelReverseReachesNoState(t *testing.T) {
	v := tokVocab(t, 2)
	_, err := decode.Generate(context.Background(), product([]float32{0.75, 0.25}), v, 1, decode.KernelReverse{Kernel: zeroMarginals{absorbing2(t)}}, decode.Options{Steps: 2})
	if err == nil || !strings.Contains(err.Error(), "position 0") || !strings.Contains(err.Error(), "reaches no state") {
		t.Fatalf("error %v, want position 0 reaches no state", err)
	}
}
