package decode_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// TestFixedTokenRange: Options.Fixed entries must be token ids in [0, K)
// other than MASK: K itself, MASK and negative ids other than NoToken are
// errors (not a panic); K − 2 (the last token, MASK being K − 1) is fine.
func TestFixedTokenRange(t *testing.T) {
	v := tokVocab(t, 2) // tokens 0, 1, MASK 2: K = 3
	den := product([]float32{0.5, 0.5}, []float32{0.75, 0.25})
	K := int32(v.Size())
	for _, c := range []struct {
		id int32
		ok bool
	}{{K - 2, true}, {0, true}, {K, false}, {K - 1, false}, {-2, false}} {
		_, err := decode.Generate(context.Background(), den, v, 2, decode.LLaDA{}, decode.Options{Fixed: []int32{c.id, -1}})
		if (err == nil) != c.ok || err != nil && !strings.Contains(err.Error(), "Fixed[0]") {
			t.Errorf("Fixed[0] = %d: error %v, want ok %v", c.id, err, c.ok)
		}
	}
}

// setTokenAlg is a sampler whose first step calls SetToken(0, id), which
// must panic for an id outside [0, K) (SetToken's doc), on the dense and on
// the top-k path (it is a TopSampler).
type setTokenAlg struct{ id int32 }

func (setTokenAlg) Name() string    { return "set-token" }
func (setTokenAlg) ReadsTopK() bool { return true }
func (a setTokenAlg) Start(r *decode.Run) (decode.Stepper, error) {
	return setTokenStep{r, a.id}, nil
}

type setTokenStep struct {
	r  *decode.Run
	id int32
}

func (s setTokenStep) Step(k int) (bool, error) {
	if err := s.r.Denoise(1); err != nil {
		return false, err
	}
	s.r.SetToken(0, s.id)
	return true, nil
}

// TestSetTokenRange: SetToken(i, K) panics with SetToken's message ("id
// outside [0, K)") on both paths; SetToken(i, K − 2) commits.
func TestSetTokenRange(t *testing.T) {
	v := tokVocab(t, 2)
	K := int32(v.Size())
	den := product([]float32{0.5, 0.5})
	for _, d := range []struct {
		name string
		den  decode.Denoiser
	}{{"dense", den}, {"top-k", decode.TopCut(den, v, 2)}} {
		res, err := decode.Generate(context.Background(), d.den, v, 1, setTokenAlg{K - 2}, decode.Options{})
		if err != nil || res.Tokens[0] != K-2 {
			t.Fatalf("%s: SetToken(0, %d): %v, %v", d.name, K-2, res, err)
		}
		func() {
			defer func() {
				p := recover()
				if p == nil || !strings.Contains(fmt.Sprint(p), "outside [0, 3)") {
					t.Errorf("%s: SetToken(0, %d) panicked with %v, want SetToken's range message", d.name, K, p)
				}
			}()
			decode.Generate(context.Background(), d.den, v, 1, setTokenAlg{K}, decode.Options{})
		}()
	}
}

// countCalls counts the denoiser calls.
type countCalls struct {
	den decode.Denoiser
	n   int
}

func (c *countCalls) Denoise(dst, ev *soft.Dense, t float64) error {
	c.n++
	return c.den.Denoise(dst, ev, t)
}

// TestMaxNFEExact: MaxNFE is the number of denoiser calls a run may make.
// LLaDA with Steps 3 on 3 positions needs 3 calls: with MaxNFE 3 it
// finishes after exactly 3; with MaxNFE 2 the third call is refused
// (ErrNFEBudget) after 2 calls.
func TestMaxNFEExact(t *testing.T) {
	v := tokVocab(t, 2)
	for _, c := range []struct {
		max, calls int
		ok         bool
	}{{3, 3, true}, {2, 2, false}, {4, 3, true}} {
		den := &countCalls{den: product([]float32{0.5, 0.5}, []float32{0.75, 0.25}, []float32{1, 0})}
		res, err := decode.Generate(context.Background(), den, v, 3, decode.LLaDA{}, decode.Options{Steps: 3, MaxNFE: c.max})
		if c.ok && (err != nil || res.NFE != 3) || !c.ok && !errors.Is(err, decode.ErrNFEBudget) || den.n != c.calls {
			t.Errorf("MaxNFE %d: error %v, %d calls; want ok %v and %d calls", c.max, err, den.n, c.ok, c.calls)
		}
	}
}

// TestBadBeliefMessage: an invalid entry of a belief is reported with its
// token, also token 0: rows (−0.5, 1.5) and (NaN, 1) at position 1.
func TestBadBeliefMessage(t *testing.T) {
	v := tokVocab(t, 2)
	for _, c := range []struct {
		row  []float32
		want string
	}{
		{[]float32{-0.5, 1.5, 0}, "token 0 has probability -0.5"},
		{[]float32{float32(math.NaN()), 1, 0}, "token 0 has probability NaN"},
		{[]float32{0.5, -0.5, 0}, "token 1 has probability -0.5"},
	} {
		_, err := decode.Generate(context.Background(), rawRows{{1, 0, 0}, c.row}, v, 2, decode.LLaDA{}, decode.Options{})
		if err == nil || !strings.Contains(err.Error(), "position 1") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("row %v: error %v, want %q at position 1", c.row, err, c.want)
		}
	}
}

// TestMeanEntropyOverMasked: StepInfo.MeanEntropy is the mean belief
// entropy over the free positions uncommitted when the step began.
// FastDLLM (threshold 0.9) on rows A = (0.5, 0.5), B = (1, 0),
// C = (0.75, 0.25): H_A = ln 2 = 0.693147, H_B = 0, H_C = −(0.75 ln 0.75 +
// 0.25 ln 0.25) = 0.562335. Step 0 (A, B, C masked) commits B:
// mean (0.693147 + 0 + 0.562335)/3 = 0.418494; step 1 (A, C) commits C:
// 0.627741; step 2 (A): 0.693147. The table logarithm errs below 2e-7.
func TestMeanEntropyOverMasked(t *testing.T) {
	v := tokVocab(t, 2)
	res := gen(t, product([]float32{0.5, 0.5}, []float32{1, 0}, []float32{0.75, 0.25}), v, 3, decode.FastDLLM{}, decode.Options{})
	want := []float64{0.418494, 0.627741, 0.693147}
	if len(res.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(res.Steps), len(want))
	}
	for k, w := range want {
		if got := res.Steps[k].MeanEntropy; !within(got, w, 2e-6) {
			t.Errorf("step %d mean entropy %v, want %v", k, got, w)
		}
	}
}
