package decode_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// denseOnly hides every method of a denoiser but Denoise, so that a run
// takes the dense path.
type denseOnly struct{ d decode.Denoiser }

func (d denseOnly) Denoise(dst, ev *soft.Dense, t float64) error { return d.d.Denoise(dst, ev, t) }

// topSamplers lists every configuration of the top-k samplers the test
// compares (greedy, tempered, filtered, every rule).
func topSamplers() []decode.Algorithm {
	return []decode.Algorithm{
		decode.LLaDA{}, decode.LLaDA{Remasking: decode.RandomRemasking}, decode.LLaDA{Temperature: 0.7}, decode.LLaDA{Temperature: 1},
		decode.FastDLLM{}, decode.FastDLLM{Threshold: 0.3}, decode.FastDLLM{Factor: 1}, decode.FastDLLM{Factor: 1, StrictPrefix: true}, decode.FastDLLM{Temperature: 0.5},
		decode.Dream{}, decode.DreamDefaults(), decode.Dream{Alg: decode.DreamMaskGitPlus}, decode.Dream{Alg: decode.DreamTopKMargin},
		decode.Dream{Alg: decode.DreamTopKMargin, TopK: 2, Temperature: 1}, decode.Dream{Alg: decode.DreamOrigin, Temperature: 1},
		decode.Dream{Alg: decode.DreamMaskGitPlus, Temperature: 1, AlgTemp: 0.5}, decode.Dream{Alg: decode.DreamEntropy, Temperature: 0.5, TopP: 0.5},
	}
}

// The top-k path gives exactly the dense path's tokens when the dense
// beliefs are the top-k expansion (TopCut's Denoise): for every top-k
// sampler and option, with and without a prompt, at several k (k = 1 and
// k = 3 leave residual mass, so the shared tokens and their ties count).
// The reference is the same sampler on the dense path (a denoiser without
// DenoiseTop), an independent reading of the same beliefs.
func TestTopPathEqualsDense(t *testing.T) {
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(3, 4)), 3, 6, 8)
	if err != nil {
		t.Fatal(err)
	}
	v, L := h.Vocab(), 8
	prompt := make([]int32, L)
	for i := range prompt {
		prompt[i] = soft.NoToken
	}
	prompt[0], prompt[5] = 1, 2
	for _, k := range []int{1, 3, v.Size()} {
		cut := decode.TopCut(h, v, k)
		for _, alg := range topSamplers() {
			for _, fixed := range [][]int32{nil, prompt} {
				for seed := uint64(0); seed < 12; seed++ {
					opts := decode.Options{Seed: seed, Steps: 4, BlockLen: 0, Fixed: fixed}
					if _, ok := alg.(decode.LLaDA); ok && fixed == nil {
						opts.BlockLen = 4 // 8 free positions: 2 blocks of 2 steps
					}
					top, err1 := decode.Generate(context.Background(), cut, v, L, alg, opts)
					dense, err2 := decode.Generate(context.Background(), denseOnly{cut}, v, L, alg, opts)
					if (err1 == nil) != (err2 == nil) {
						t.Fatalf("k %d %s seed %d: errors %v / %v", k, alg.Name(), seed, err1, err2)
					}
					if err1 != nil {
						continue
					}
					if top.TopBeliefs == nil || top.Beliefs != nil || dense.TopBeliefs != nil || dense.Beliefs == nil {
						t.Fatalf("k %d %s: paths not taken (top %v/%v, dense %v/%v)", k, alg.Name(), top.TopBeliefs != nil, top.Beliefs != nil, dense.TopBeliefs != nil, dense.Beliefs != nil)
					}
					if !slices.Equal(top.Tokens, dense.Tokens) || top.NFE != dense.NFE || len(top.Steps) != len(dense.Steps) {
						t.Fatalf("k %d %s seed %d fixed %v: top %v (NFE %d) dense %v (NFE %d)", k, alg.Name(), seed, fixed != nil, top.Tokens, top.NFE, dense.Tokens, dense.NFE)
					}
					for s := range top.Steps {
						a, b := top.Steps[s], dense.Steps[s]
						// the entropies differ only in the order of float64 additions
						if d := math.Abs(a.MeanEntropy - b.MeanEntropy); !(d <= 1e-12) || a.Committed != b.Committed || a.Changed != b.Changed {
							t.Fatalf("k %d %s step %d: %+v vs %+v", k, alg.Name(), s, a, b)
						}
					}
				}
			}
		}
	}
}

// GenerateBatch takes the top-k path with a TopBatchDenoiser and gives each
// sequence what Generate gives it alone; a sequence whose options need the
// dense end state (Record) takes the dense path in the same batch, with
// the same tokens.
func TestTopPathBatch(t *testing.T) {
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(5, 6)), 3, 6, 8)
	if err != nil {
		t.Fatal(err)
	}
	v, L := h.Vocab(), 8
	cut := decode.TopCut(h, v, 2)
	for _, alg := range []decode.Algorithm{decode.LLaDA{}, decode.FastDLLM{Threshold: 0.4}, decode.DreamDefaults()} {
		opts := make([]decode.Options, 5)
		for j := range opts {
			opts[j] = decode.Options{Seed: uint64(j), Steps: 4, Record: j == 2}
		}
		res, err := decode.GenerateBatch(context.Background(), cut, v, L, alg, opts)
		if err != nil {
			t.Fatal(err)
		}
		for j, o := range opts {
			o.Record = false
			one, err := decode.Generate(context.Background(), denseOnly{cut}, v, L, alg, o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res[j].Tokens, one.Tokens) || res[j].NFE != one.NFE {
				t.Fatalf("%s sequence %d: batch %v, alone %v", alg.Name(), j, res[j].Tokens, one.Tokens)
			}
			if (res[j].TopBeliefs != nil) != (j != 2) {
				t.Fatalf("%s sequence %d: top-k path %v", alg.Name(), j, res[j].TopBeliefs != nil)
			}
		}
	}
}

// Samplers that are not TopSamplers, and runs that keep the end state, take
// the dense path with a TopDenoiser.
func TestTopPathFallback(t *testing.T) {
	m := oracle.Agreement()
	cut := decode.TopCut(m, m.Vocab(), 2)
	for _, c := range []struct {
		alg  decode.Algorithm
		opts decode.Options
	}{{decode.MDLM{}, decode.Options{}}, {decode.ReMDM{}, decode.Options{}}, {decode.LLaDA{}, decode.Options{Record: true}}} {
		res, err := decode.Generate(context.Background(), cut, m.Vocab(), m.Len(), c.alg, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Beliefs == nil || res.TopBeliefs != nil {
			t.Fatalf("%s: not the dense path", c.alg.Name())
		}
	}
}

// badTop answers a valid cut, then breaks one row of it.
type badTop struct {
	decode.TopDenoiser
	pos  int
	edit func(r soft.TopRow, resid *float32)
}

func (b badTop) DenoiseTop(dst *soft.TopBeliefs, x []int32, t float64) error {
	if err := b.TopDenoiser.DenoiseTop(dst, x, t); err != nil {
		return err
	}
	b.edit(dst.Row(b.pos), &dst.Resid[b.pos])
	return nil
}

// A faulty top-k answer is an error naming the position and the fault.
func TestTopPathFaultyAnswer(t *testing.T) {
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(7, 8)), 3, 6, 8)
	if err != nil {
		t.Fatal(err)
	}
	v := h.Vocab()
	cut := decode.TopCut(h, v, 3)
	for _, c := range []struct {
		what string
		edit func(r soft.TopRow, resid *float32)
	}{
		{"listed twice", func(r soft.TopRow, _ *float32) { r.IDs[1] = r.IDs[0] }},
		{"MASK", func(r soft.TopRow, _ *float32) { r.IDs[0] = v.Mask() }},
		{"probability NaN", func(r soft.TopRow, _ *float32) { r.Probs[0] = float32(math.NaN()) }},
		{"not 1", func(_ soft.TopRow, res *float32) { *res += 0.5 }},
	} {
		_, err := decode.Generate(context.Background(), badTop{cut, 3, c.edit}, v, 8, decode.LLaDA{}, decode.Options{Steps: 8})
		if err == nil || !strings.Contains(err.Error(), "position 3") || !strings.Contains(err.Error(), c.what) {
			t.Errorf("%s: %v", c.what, err)
		}
	}
}

// Greedy LLaDA (low confidence) and greedy Fast-dLLM (threshold) read only
// each row's largest probability and its token, which a top-k answer holds
// exactly for every k ≥ 1 (the residual's share of an unlisted token is at
// most the largest listed probability). So the top-k transfer's k changes
// their tokens only where the largest probability is tied: the same tokens
// at k = 1, 8 and 64 as from the dense beliefs (k = V), on an HMM whose
// beliefs have no ties (random emission and transition weights). This is why
// cmd/oipbench's timings at a small k are timings of the same generations.
func TestGreedyTopOnlyReadsTheTop(t *testing.T) {
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(8, 9)), 4, 199, 24)
	if err != nil {
		t.Fatal(err)
	}
	v, L := h.Vocab(), 24
	for _, alg := range []decode.Algorithm{decode.LLaDA{}, decode.FastDLLM{}, decode.FastDLLM{Threshold: 0.3}} {
		for seed := uint64(0); seed < 4; seed++ {
			opts := decode.Options{Seed: seed, Steps: 12, BlockLen: 8, NoEntropy: true} // 3 blocks of 4 steps
			ref, err := decode.Generate(context.Background(), denseOnly{h}, v, L, alg, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []int{1, 8, 64} {
				got, err := decode.Generate(context.Background(), decode.TopCut(h, v, k), v, L, alg, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got.TopBeliefs == nil {
					t.Fatalf("%s k %d: the top-k path was not taken", alg.Name(), k)
				}
				if !slices.Equal(got.Tokens, ref.Tokens) || got.NFE != ref.NFE {
					t.Fatalf("%s seed %d k %d: tokens %v (NFE %d), dense %v (NFE %d)", alg.Name(), seed, k, got.Tokens, got.NFE, ref.Tokens, ref.NFE)
				}
			}
		}
	}
}
