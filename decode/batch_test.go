package decode_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// countingBatch counts the batch calls and the largest batch it saw.
type countingBatch struct {
	b           decode.BatchDenoiser
	calls, seqs atomic.Int64
	largest     atomic.Int64
}

func (c *countingBatch) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	c.calls.Add(1)
	c.seqs.Add(int64(len(ev)))
	if n := int64(len(ev)); n > c.largest.Load() {
		c.largest.Store(n)
	}
	return c.b.DenoiseBatch(dst, ev, t)
}

// TestGenerateBatchMatchesGenerate: every sequence of GenerateBatch is the
// Result Generate gives for the same Options, at batch sizes 1, 2 and 5,
// for samplers with fixed steps, a cache, corrector moves and adaptive
// stops, on an HMM and on a corpus whose oracle rejects the evidence of
// some sequences (the marginal trap, CompleteOnError): an error of one
// sequence does not change the others.
func TestGenerateBatchMatchesGenerate(t *testing.T) {
	h := must(oracle.RandomHMM(rand.New(rand.NewPCG(3, 3)), 3, 5, 6))
	c := oracle.Agreement()
	type model interface {
		decode.Denoiser
		decode.BatchDenoiser
		Vocab() *soft.Vocab
		Len() int
	}
	algs := []decode.Algorithm{
		decode.MDLM{}, decode.LLaDA{Temperature: 1}, decode.FastDLLM{Temperature: 1, Threshold: 0.5}, decode.EB{Gamma: 0.5, Temperature: 1},
		decode.SoftSL{Grid: decode.GridGeometric}, decode.Hybrid{SoftSL: decode.SoftSL{Commit: decode.CommitLocalised, CommitThreshold: 0.2}, Corrector: decode.CorrectGibbs, Moves: 2},
		decode.ReMDM{}, decode.LRD{Temperature: 1},
	}
	trapped := 0
	for _, m := range []model{h, c} {
		L, v := m.Len(), m.Vocab()
		for _, a := range algs {
			for _, B := range []int{1, 2, 5} {
				opts := make([]decode.Options, B)
				for j := range opts {
					opts[j] = decode.Options{Steps: 2 + j%3, Seed: uint64(10 + j), CompleteOnError: true, Record: true, Workers: 1}
				}
				cb := &countingBatch{b: m}
				got, err := decode.GenerateBatch(context.Background(), cb, v, L, a, opts)
				if err != nil {
					t.Fatalf("%s B=%d: %v", a.Name(), B, err)
				}
				var nfe int64
				for j, o := range opts {
					want, err := decode.Generate(context.Background(), decode.Unbatched(m), v, L, a, o)
					if err != nil {
						t.Fatal(err)
					}
					g := got[j]
					if !reflect.DeepEqual(g.Tokens, want.Tokens) || g.NFE != want.NFE || !reflect.DeepEqual(g.Steps, want.Steps) ||
						!reflect.DeepEqual(g.Trajectory, want.Trajectory) || fmt.Sprint(g.Err) != fmt.Sprint(want.Err) {
						t.Fatalf("%s B=%d sequence %d: batch %v (NFE %d, err %v), alone %v (NFE %d, err %v)",
							a.Name(), B, j, g.Tokens, g.NFE, g.Err, want.Tokens, want.NFE, want.Err)
					}
					nfe += int64(g.NFE)
					if g.Err != nil {
						trapped++
					}
				}
				// every denoiser call of a sequence went through a batch call
				// (retries of a failed batch count once more per sequence).
				if cb.seqs.Load() < nfe {
					t.Fatalf("%s B=%d: %d sequences in batch calls for %d NFE", a.Name(), B, cb.seqs.Load(), nfe)
				}
				if B > 1 && cb.largest.Load() < 2 {
					t.Fatalf("%s B=%d: no call batched more than one sequence", a.Name(), B)
				}
			}
		}
	}
	if trapped == 0 {
		t.Fatal("no sequence met the marginal trap: the error path is not exercised")
	}
}

// TestGenerateBatchLockstep: sequences with equal step counts are
// denoised together, one batch call per step.
func TestGenerateBatchLockstep(t *testing.T) {
	h := must(oracle.RandomHMM(rand.New(rand.NewPCG(4, 4)), 3, 5, 8))
	opts := make([]decode.Options, 7)
	for j := range opts {
		opts[j] = decode.Options{Steps: 4, Seed: uint64(j)}
	}
	cb := &countingBatch{b: h}
	res, err := decode.GenerateBatch(context.Background(), cb, h.Vocab(), 8, decode.LLaDA{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	// 4 steps, each one call of all 7 sequences.
	if cb.calls.Load() != 4 || cb.largest.Load() != 7 || res[6].NFE != 4 {
		t.Fatalf("%d calls, largest batch %d, NFE %d; want 4, 7, 4", cb.calls.Load(), cb.largest.Load(), res[6].NFE)
	}
}

// TestGenerateBatchErrors: a bad setting of one sequence is its own error;
// the others run.
func TestGenerateBatchErrors(t *testing.T) {
	h := oracle.Sticky3()
	opts := []decode.Options{{Steps: 2}, {Steps: -1}, {Steps: 3, Fixed: []int32{0, soft.NoToken, soft.NoToken, soft.NoToken, soft.NoToken}}}
	res, err := decode.GenerateBatch(context.Background(), h, h.Vocab(), 5, decode.MDLM{}, opts)
	if err == nil || !strings.Contains(err.Error(), "sequence 1: ") || strings.Contains(err.Error(), "sequence 0") {
		t.Fatalf("error %v, want one naming sequence 1", err)
	}
	if res[0] == nil || res[2] == nil || res[1] != nil || res[2].Tokens[0] != 0 {
		t.Fatalf("results %v", res)
	}
	if _, err := decode.GenerateBatch(context.Background(), h, h.Vocab(), 5, decode.MDLM{}, nil); err == nil {
		t.Fatal("empty batch accepted")
	}
	var u decode.Denoiser = decode.Unbatched(h)
	if err := u.Denoise(soft.NewDense(2, 2), soft.NewDense(2, 2), 0); err == nil {
		t.Fatal("shape error lost through Unbatched")
	}
	if err := decode.Batched(h, 1).DenoiseBatch(nil, nil, nil); err == nil {
		t.Fatal("empty batch accepted by Batched")
	}
}
