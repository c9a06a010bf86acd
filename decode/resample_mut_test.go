package decode

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// scriptSrc is a rand.Source that returns the scripted values, then 0.
// rand.Rand.Float64 is (Uint64()<<11>>11)/2⁵³, one value per call: 0
// gives u = 0 and 1<<52 gives u = ½.
type scriptSrc struct{ v []uint64 }

func (s *scriptSrc) Uint64() uint64 {
	if len(s.v) == 0 {
		return 0
	}
	x := s.v[0]
	s.v = s.v[1:]
	return x
}

// table1 scores the one-position sequences [0] and [1].
type table1 [2]float64

func (t table1) LogProb(x []int32) (float64, error) { return t[x[0]], nil }

// recScorer records the sequences it scores.
type recScorer struct {
	sc    JointScorer
	calls [][]int32
}

func (r *recScorer) LogProb(x []int32) (float64, error) {
	r.calls = append(r.calls, slices.Clone(x))
	return r.sc.LogProb(x)
}

// wantCalls fails unless the candidates scored were [0], [1].
func wantCalls(t *testing.T, r *recScorer) {
	t.Helper()
	if len(r.calls) != 2 || r.calls[0][0] != 0 || r.calls[1][0] != 1 {
		t.Fatalf("candidates %v, want [0] [1]", r.calls)
	}
}

// halfState is one position with beliefs (½, ½) over 2 tokens, no
// evidence: soft.Sample draws token 0 for u = 0 and token 1 for u = ½
// (the cumulative sum passes ½ only at token 1).
func halfState(t *testing.T) *FinalState {
	return mutState(t, 2, []float32{0.5, 0.5, 0})
}

// TestIRAllZeroFirst: when every candidate has weight zero the first one
// is returned: candidates [0], [1] (u = 0, ½), both of probability zero:
// [0], Score −Inf, Evals 2.
func TestIRAllZeroFirst(t *testing.T) {
	ninf := math.Inf(-1)
	rng := rand.New(&scriptSrc{[]uint64{0, 1 << 52}})
	sc := &recScorer{sc: table1{ninf, ninf}}
	d, err := ImportanceResample{N: 2}.Decode(context.Background(), halfState(t), sc, rng)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, sc)
	if !slices.Equal(d.Tokens, []int32{0}) || !math.IsInf(d.Score, -1) || d.Evals != 2 {
		t.Fatalf("%+v, want [0] −Inf in 2", d)
	}
}

// TestIRZeroWeightNeverDrawn: candidates [0] (probability zero, weight 0)
// and [1] (p = ½, q = ½: log weight 0), so z = 1; the resampling uniform
// is exactly 0 (probability 2⁻⁵³ for a real source), and the candidate
// drawn must still be [1]: the first whose cumulative weight exceeds u,
// never one of weight zero. Score log ½.
func TestIRZeroWeightNeverDrawn(t *testing.T) {
	rng := rand.New(&scriptSrc{[]uint64{0, 1 << 52, 0}})
	sc := &recScorer{sc: table1{math.Inf(-1), math.Log(0.5)}}
	d, err := ImportanceResample{N: 2}.Decode(context.Background(), halfState(t), sc, rng)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, sc)
	if !slices.Equal(d.Tokens, []int32{1}) || !(math.Abs(d.Score-math.Log(0.5)) <= 1e-12) {
		t.Fatalf("%+v, want [1] log ½", d)
	}
}

// TestSamplingDecodersCheckInputs: the belief row of an uncommitted
// position must be a distribution (sum 1.1 is an error naming position 1;
// the same row at a committed position is not read and is accepted); a
// scorer value of +Inf or NaN is an error, −Inf is probability zero; N −1
// is an error and N 0 means 8 candidates.
func TestSamplingDecodersCheckInputs(t *testing.T) {
	ctx := context.Background()
	s := mutState(t, 2, []float32{0.5, 0.5, 0}, []float32{0.5, 0.6, 0})
	sc := table2mut{}
	for _, dec := range []FinalDecoder{ImportanceResample{}, MBR{}} {
		rng := rand.New(rand.NewPCG(1, 2))
		if _, err := dec.Decode(ctx, s, sc, rng); err == nil || !strings.Contains(err.Error(), "position 1") {
			t.Fatalf("%s: bad row at an uncommitted position: err %v", dec.Name(), err)
		}
		c := *s
		c.Tokens = []int32{0, 1}
		if _, err := dec.Decode(ctx, &c, sc, rng); err != nil {
			t.Fatalf("%s: bad row at a committed position: %v", dec.Name(), err)
		}
		for _, bad := range []float64{math.Inf(1), math.NaN()} {
			if _, err := dec.Decode(ctx, halfState(t), table1{0, bad}, rng); err == nil || !strings.Contains(err.Error(), "not a log-probability") {
				t.Fatalf("%s: scorer value %v: err %v", dec.Name(), bad, err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := (ImportanceResample{N: -1}).Decode(ctx, halfState(t), table1{0, 0}, rng); err == nil {
		t.Fatal("N −1 accepted")
	}
	d, err := ImportanceResample{}.Decode(ctx, halfState(t), table1{0, 0}, rng)
	if err != nil || d.Evals != 8 {
		t.Fatalf("N 0: %+v %v, want 8 candidates", d, err)
	}
}

// table2mut is the uniform law over 2 binary positions.
type table2mut struct{}

func (table2mut) LogProb([]int32) (float64, error) { return math.Log(0.25), nil }

// TestMedoidTieFirst: {0,0} and {1,1} with equal weights both agree with
// half of the (self-included) weight, ½: the first wins.
func TestMedoidTieFirst(t *testing.T) {
	j, score := medoid([][]int32{{0, 0}, {1, 1}}, []float64{1, 1})
	if j != 0 || score != 0.5 {
		t.Fatalf("medoid %d score %v, want 0, ½", j, score)
	}
}

// TestFinalStateEvidenceValues: evidence entries must be finite and
// non-negative (NaN, −0.5 and +Inf are errors naming the position and
// id); 0, unnormalised positive weights and the largest float32 are
// accepted.
func TestFinalStateEvidenceValues(t *testing.T) {
	s := mutState(t, 2, []float32{0.5, 0.5, 0}, []float32{0.5, 0.5, 0})
	ev := s.Evidence
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	copy(ev.Row(1), []float32{0, 3, math.MaxFloat32})
	if err := s.Validate(); err != nil {
		t.Fatalf("evidence (0, 3, MaxFloat32): %v", err)
	}
	for _, bad := range []float32{float32(math.NaN()), -0.5, float32(math.Inf(1))} {
		ev.Row(1)[1] = bad
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "at position 1, id 1 ") {
			t.Fatalf("evidence %v: err %v", bad, err)
		}
	}
}
