package decode_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

var errTopCalled = errors.New("DenoiseTop called on a denoiser with TopK 0")

// zeroTop is a TopDenoiser whose TopK is 0: by TopDenoiser's doc it answers
// only dense beliefs, so a run must call Denoise.
type zeroTop struct{ decode.Denoiser }

func (zeroTop) TopK() int { return 0 }
func (zeroTop) DenoiseTop(*soft.TopBeliefs, []int32, float64) error {
	return errTopCalled
}

// zeroTopBatch is the same for GenerateBatch.
type zeroTopBatch struct{ decode.BatchDenoiser }

func (zeroTopBatch) TopK() int { return 0 }
func (zeroTopBatch) DenoiseTopBatch([]*soft.TopBeliefs, [][]int32, []float64) error {
	return errTopCalled
}

// TestTopKZeroIsDense: a TopDenoiser (or TopBatchDenoiser) with TopK 0
// takes the dense path (Result.Beliefs set, TopBeliefs nil) and gives the
// dense path's tokens; its top-k method is never called.
func TestTopKZeroIsDense(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.75, 0.25}, []float32{0.5, 0.5}, []float32{1, 0})
	want, err := decode.Generate(context.Background(), den, v, 3, decode.LLaDA{}, decode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := decode.Generate(context.Background(), zeroTop{den}, v, 3, decode.LLaDA{}, decode.Options{})
	if err != nil || res.Beliefs == nil || res.TopBeliefs != nil || !slices.Equal(res.Tokens, want.Tokens) {
		t.Fatalf("TopK 0: error %v, dense %v, top %v, tokens %v (want %v)", err, res != nil && res.Beliefs != nil, res != nil && res.TopBeliefs != nil, res, want.Tokens)
	}
	bres, err := decode.GenerateBatch(context.Background(), zeroTopBatch{decode.Batched(den, 1)}, v, 3, decode.LLaDA{}, []decode.Options{{}, {Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for j, r := range bres {
		if r.Beliefs == nil || r.TopBeliefs != nil || !slices.Equal(r.Tokens, want.Tokens) {
			t.Fatalf("batch TopK 0, sequence %d: dense %v, top %v, tokens %v (want %v)", j, r.Beliefs != nil, r.TopBeliefs != nil, r.Tokens, want.Tokens)
		}
	}
}

// topCutDen is what TopCut returns.
type topCutDen interface {
	decode.TopDenoiser
	decode.TopBatchDenoiser
}

// countTop counts the DenoiseTopBatch calls of a TopCut and their sizes;
// with failMulti it fails every call of more than one sequence (after
// answering it), as a denoiser that rejects one sequence of a batch does.
type countTop struct {
	topCutDen
	failMulti bool
	mu        sync.Mutex
	sizes     []int
}

func (c *countTop) DenoiseTopBatch(dst []*soft.TopBeliefs, x [][]int32, tt []float64) error {
	c.mu.Lock()
	c.sizes = append(c.sizes, len(dst))
	c.mu.Unlock()
	if err := c.topCutDen.DenoiseTopBatch(dst, x, tt); err != nil {
		return err
	}
	if c.failMulti && len(dst) > 1 {
		return errors.New("batch rejected")
	}
	return nil
}

// TestTopBatchCalls: GenerateBatch answers the top-k requests of a round
// with one DenoiseTopBatch call for the whole batch. Two LLaDA sequences of
// 4 positions, Steps 2, in lockstep: 2 rounds, so 2 calls of 2 sequences,
// and each sequence gets what Generate gives it alone. When a batch call
// fails, its requests are retried one sequence at a time (GenerateBatch's
// doc): per round 1 call of 2, then 2 calls of 1, and the same tokens.
func TestTopBatchCalls(t *testing.T) {
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(41, 42)), 3, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	v := h.Vocab()
	opts := []decode.Options{{Seed: 1, Steps: 2}, {Seed: 2, Steps: 2}}
	for _, c := range []struct {
		fail bool
		want []int
	}{{false, []int{2, 2}}, {true, []int{2, 1, 1, 2, 1, 1}}} {
		den := &countTop{topCutDen: decode.TopCut(h, v, 2), failMulti: c.fail}
		res, err := decode.GenerateBatch(context.Background(), den, v, 4, decode.LLaDA{}, opts)
		if err != nil {
			t.Fatalf("fail %v: %v", c.fail, err)
		}
		if !slices.Equal(den.sizes, c.want) {
			t.Errorf("fail %v: DenoiseTopBatch call sizes %v, want %v", c.fail, den.sizes, c.want)
		}
		for j, o := range opts {
			one, err := decode.Generate(context.Background(), decode.TopCut(h, v, 2), v, 4, decode.LLaDA{}, o)
			if err != nil {
				t.Fatal(err)
			}
			if res[j].TopBeliefs == nil || !slices.Equal(res[j].Tokens, one.Tokens) || res[j].NFE != 2 {
				t.Errorf("fail %v, sequence %d: top path %v, tokens %v NFE %d; alone %v", c.fail, j, res[j].TopBeliefs != nil, res[j].Tokens, res[j].NFE, one.Tokens)
			}
		}
	}
}

// TestTopCutMaskSlot: with k = K (the whole vocabulary, MASK included) the
// cut lists MASK, of probability 0; TopCut's doc: it becomes an unused slot
// (id −1, probability 0). Row (0.5, 0.3, 0.2) over tokens 0..2, MASK 3:
// slots (0, 0.5), (1, 0.3), (2, 0.2), (−1, 0), residual 0, a valid row.
func TestTopCutMaskSlot(t *testing.T) {
	v := tokVocab(t, 3)
	cut := decode.TopCut(product([]float32{0.5, 0.3, 0.2}), v, v.Size())
	dst := soft.NewTopBeliefs(1, v.Size(), v.Size(), v.Mask())
	if err := cut.DenoiseTop(dst, []int32{v.Mask()}, 1); err != nil {
		t.Fatal(err)
	}
	r := dst.Row(0)
	wantIDs, wantP := []int32{0, 1, 2, -1}, []float32{0.5, 0.3, 0.2, 0}
	if !slices.Equal(r.IDs, wantIDs) || !slices.Equal(r.Probs, wantP) || r.Resid != 0 {
		t.Fatalf("row %v %v residual %v, want %v %v 0", r.IDs, r.Probs, r.Resid, wantIDs, wantP)
	}
	if err := r.Check(nil); err != nil {
		t.Fatal(err)
	}
	res, err := decode.Generate(context.Background(), cut, v, 1, decode.LLaDA{}, decode.Options{})
	if err != nil || res.TopBeliefs == nil || res.Tokens[0] != 0 {
		t.Fatalf("Generate on the cut: %v, %v", res, err)
	}
}

// TestTopCutTokenRange: DenoiseTop's tokens must be ids in [0, K): K itself
// and negative ids are errors naming the position (not a panic).
func TestTopCutTokenRange(t *testing.T) {
	v := tokVocab(t, 2)
	K := int32(v.Size())
	cut := decode.TopCut(product([]float32{0.5, 0.5}, []float32{0.5, 0.5}), v, 2)
	dst := soft.NewTopBeliefs(2, v.Size(), 2, v.Mask())
	if err := cut.DenoiseTop(dst, []int32{v.Mask(), K - 1}, 1); err != nil {
		t.Fatalf("tokens MASK, %d: %v", K-1, err)
	}
	for _, x := range [][]int32{{v.Mask(), K}, {v.Mask(), -1}} {
		err := cut.DenoiseTop(dst, x, 1)
		if err == nil || !strings.Contains(err.Error(), "position 1") {
			t.Errorf("tokens %v: error %v, want one naming position 1", x, err)
		}
	}
}

// oneHotTop answers in top-k form only: every position's row lists token 0
// with probability 1 (residual 0). Its dense Denoise is never to be called.
type oneHotTop struct{}

func (oneHotTop) Denoise(*soft.Dense, *soft.Dense, float64) error {
	return errors.New("dense call")
}
func (oneHotTop) TopK() int { return 1 }
func (oneHotTop) DenoiseTop(dst *soft.TopBeliefs, _ []int32, _ float64) error {
	for i := range dst.L {
		r := dst.Row(i)
		r.IDs[0], r.Probs[0] = 0, 1
		dst.Resid[i] = 0
	}
	return nil
}

// TestTopPathMemory: the top-k path holds no L×K matrix (TopDenoiser's
// doc): a LLaDA run of L = 16 over K = 2¹⁶ states (an L×K float32 matrix
// is 4 MiB) through a one-slot TopDenoiser allocates less than half of
// one such matrix in all. Its per-vocabulary state is a duplicate-check
// bitset of ⌈K/64⌉ words (8 KiB) per block of 16 rows.
func TestTopPathMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	const L = 16
	v := tokVocab(t, 1<<16-1)
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	res, err := decode.Generate(context.Background(), oneHotTop{}, v, L, decode.LLaDA{}, decode.Options{NoEntropy: true})
	runtime.ReadMemStats(&b)
	if err != nil || res.TopBeliefs == nil {
		t.Fatalf("top path: %v, %v", res, err)
	}
	got, limit := b.TotalAlloc-a.TotalAlloc, uint64(L*v.Size()*4/2)
	t.Logf("allocated %d bytes (limit %d)", got, limit)
	if got > limit {
		t.Errorf("the run allocated %d bytes, want < %d (half an L×K float32 matrix)", got, limit)
	}
}
