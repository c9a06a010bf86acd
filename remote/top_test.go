package remote

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// hardTokens draws L identities, MASK with probability 1/2.
func hardTokens(rng *rand.Rand, L, K int, mask int32) []int32 {
	x := make([]int32, L)
	for i := range x {
		if rng.IntN(2) == 0 {
			x[i] = mask
		} else {
			x[i] = int32(rng.IntN(K - 1))
			if x[i] >= mask {
				x[i]++
			}
		}
	}
	return x
}

// TestDenoiseTop: the top-k answer written straight into soft.TopBeliefs
// expands (soft.TopRow.Expand) to exactly the dense beliefs DenoiseBatch
// writes for the same request with the same TopK, whose reading of the
// answer (topkRow) is a separate implementation; the evidence travels as
// one listed state per position when the model takes sparse evidence and
// dense otherwise, with the same answer.
func TestDenoiseTop(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	rng := rand.New(rand.NewPCG(21, 22))
	for _, opts := range []Options{{TopK: 3}, {TopK: 3, DenseEvidence: true}, {TopK: 5, JSON: true}, {TopK: 2, MaxBatch: 2}} {
		m := dial(t, f, opts)
		B, L := 5, 6
		x := make([][]int32, B)
		dst := make([]*soft.TopBeliefs, B)
		ev, dense := make([]*soft.Dense, B), make([]*soft.Dense, B)
		ts := make([]float64, B)
		for b := range x {
			x[b] = hardTokens(rng, L, f.K, f.mask)
			dst[b] = soft.NewTopBeliefs(L, f.K, opts.TopK, f.mask)
			ev[b] = soft.AllMask(L, f.K, f.mask)
			for i, id := range x[b] {
				r := ev[b].Row(i)
				clear(r)
				r[id] = 1
			}
			dense[b] = soft.NewDense(L, f.K)
			ts[b] = float64(b) / 4
		}
		if err := m.DenoiseTopBatch(dst, x, ts); err != nil {
			t.Fatal(err)
		}
		if err := m.DenoiseBatch(dense, ev, ts); err != nil {
			t.Fatal(err)
		}
		got := soft.NewDense(L, f.K)
		for b := range x {
			dst[b].ToDense(got)
			if !slices.Equal(got.Data, dense[b].Data) {
				t.Fatalf("%+v sequence %d: expansion differs from the dense reading", opts, b)
			}
		}
	}
	// wrong destinations and tokens are errors before any request
	m := dial(t, f, Options{TopK: 3})
	n0, _ := f.seen()
	for _, c := range []struct {
		dst *soft.TopBeliefs
		x   []int32
		msg string
	}{
		{soft.NewTopBeliefs(4, f.K, 2, f.mask), make([]int32, 4), "dst is not"},
		{soft.NewTopBeliefs(4, f.K, 3, soft.NoToken), make([]int32, 4), "dst is not"},
		{soft.NewTopBeliefs(4, f.K, 3, f.mask), []int32{0, 1, int32(f.K), 2}, "token 40 outside"},
	} {
		errContains(t, m.DenoiseTop(c.dst, c.x, 0.5), c.msg)
	}
	errContains(t, dial(t, f, Options{}).DenoiseTop(soft.NewTopBeliefs(4, f.K, 3, f.mask), make([]int32, 4), 0.5), "needs Options.TopK")
	if n, _ := f.seen(); n != n0 {
		t.Errorf("bad arguments reached the server (%d requests)", n-n0)
	}
}

// TestDenoiseTopBadAnswers: faulty top-k answers are ErrBadResponse errors
// naming the sequence, the position and the fault.
func TestDenoiseTopBadAnswers(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(outs []*fakeOut)
		msg    string
	}{
		{"dup", func(o []*fakeOut) { ids := outNamed(o, "topk_ids"); ids.Vals[1] = ids.Vals[0] }, "sequence 0, position 0: top-k answer: slot 1: token id"},
		{"mask", func(o []*fakeOut) { outNamed(o, "topk_ids").Vals[2*3] = 7 }, "sequence 0, position 2: top-k answer"},
		{"range", func(o []*fakeOut) { outNamed(o, "topk_ids").Vals[1] = 40 }, "id 40 is not a token"},
		{"sum", func(o []*fakeOut) { outNamed(o, "topk_residual").Vals[3] += 0.01 }, "sequence 0, position 3: top-k answer: listed mass plus residual"},
		{"nan", func(o []*fakeOut) { outNamed(o, "topk_probs").Vals[4] = math.NaN() }, "position 1: top-k answer: slot 1: probability NaN"},
		{"shape", func(o []*fakeOut) { r := outNamed(o, "topk_residual"); r.Shape[1]--; r.Vals = r.Vals[1:] }, `output "topk_residual" has shape`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, tinyDir, "tiny")
			f.mutate = func(_ int, outs []*fakeOut) { c.mutate(outs) }
			m := dial(t, f, Options{TopK: 3})
			err := m.DenoiseTop(soft.NewTopBeliefs(6, f.K, 3, f.mask), hardTokens(rand.New(rand.NewPCG(1, 2)), 6, f.K, f.mask), 0.5)
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v does not wrap ErrBadResponse", err)
			}
			errContains(t, err, c.msg)
		})
	}
}

// denseOnly hides DenoiseTop, so that a run takes the dense path.
type denseOnly struct{ m *Model }

func (d denseOnly) Denoise(dst, ev *soft.Dense, t float64) error { return d.m.Denoise(dst, ev, t) }

// TestGenerateTopPath: over a Model with TopK, the top-k samplers take the
// top-k path (no dense beliefs in the Result) and give the dense path's
// tokens, for every sampler rule, greedy and tempered.
func TestGenerateTopPath(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	v := vocabOf(t, f.model)
	m := dial(t, f, Options{TopK: 4})
	algs := []decode.Algorithm{decode.LLaDA{}, decode.LLaDA{Temperature: 0.8}, decode.FastDLLM{Threshold: 0.5}, decode.FastDLLM{Factor: 1},
		decode.Dream{}, decode.DreamDefaults(), decode.Dream{Alg: decode.DreamTopKMargin}, decode.Dream{Alg: decode.DreamMaskGitPlus, Temperature: 1}}
	for _, alg := range algs {
		for seed := uint64(1); seed <= 3; seed++ {
			o := decode.Options{Seed: seed, Steps: 8, BlockLen: 8}
			top, err := decode.Generate(context.Background(), m, v, 16, alg, o)
			if err != nil {
				t.Fatal(err)
			}
			dense, err := decode.Generate(context.Background(), denseOnly{m}, v, 16, alg, o)
			if err != nil {
				t.Fatal(err)
			}
			if top.Beliefs != nil || top.TopBeliefs == nil {
				t.Fatalf("%s: not the top-k path", alg.Name())
			}
			if !slices.Equal(top.Tokens, dense.Tokens) || top.NFE != dense.NFE {
				t.Errorf("%s seed %d: top-k path %v, dense %v", alg.Name(), seed, top.Tokens, dense.Tokens)
			}
		}
	}
}
