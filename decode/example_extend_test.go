package decode_test

import (
	"context"
	"fmt"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// mostConfident is a sampler written outside package decode: each step
// commits the one masked position whose belief is most concentrated, with
// its most likely token (ties to the smaller position, as every built-in
// confidence rule).
type mostConfident struct{}

func (mostConfident) Name() string { return "most-confident" }

func (mostConfident) Start(r *decode.Run) (decode.Stepper, error) {
	return &mostConfidentRun{r: r, idx: make([]int, 0, r.Len()), key: make([]float64, r.Len())}, nil
}

type mostConfidentRun struct {
	r   *decode.Run
	idx []int
	key []float64
}

func (s *mostConfidentRun) Step(k int) (bool, error) {
	r := s.r
	if err := r.Denoise(float64(r.NumMasked()) / float64(len(r.Free()))); err != nil {
		return false, err
	}
	s.idx = s.idx[:0]
	for _, i := range r.Free() {
		if r.Masked(i) {
			s.idx = append(s.idx, i)
			s.key[i] = float64(r.Beliefs().Row(i)[r.Argmax(i)])
		}
	}
	draw.TopK(s.idx, s.key, 1)
	r.SetToken(s.idx[0], r.Argmax(s.idx[0]))
	return r.NumMasked() == 0, nil
}

// A sampler is any value with Name and Start; its Stepper advances the run
// through Run's methods. This one commits one position per step, the most
// confident first; on the two-sentence corpus every belief is ½ until the
// first commit, so it starts at position 0 (the smaller position), and the
// rest follows with certainty. The trace lists each step's changes.
func ExampleAlgorithm() {
	c := oracle.TwoSentence()
	v := c.Vocab()
	res, err := decode.Generate(context.Background(), c, v, 3, mostConfident{}, decode.Options{Record: true})
	if err != nil {
		panic(err)
	}
	for _, st := range res.Steps {
		for _, ch := range st.Changes {
			fmt.Printf("step %d: position %d ← %s\n", st.Step, ch.Pos, v.Token(ch.To))
		}
	}
	fmt.Printf("%q in %d NFE\n", v.Decode(res.Tokens), res.NFE)
	// Output:
	// step 0: position 0 ← He
	// step 1: position 1 ← likes
	// step 2: position 2 ← apple
	// "He likes apple" in 3 NFE
}

// A final decoder replaces the sampler's last parallel draw by a joint
// choice. One parallel step from the two-sentence corpus's marginals is
// invalid with probability 3/4; importance resampling of 8 candidates,
// scored by the corpus, is invalid only if all 8 are (0.75⁸ ≈ 0.10).
// Result.Final keeps the end state, so several decoders can be compared on
// the same run.
func ExampleFinalDecoder() {
	c := oracle.TwoSentence()
	v := c.Vocab()
	res, err := decode.Generate(context.Background(), c, v, 3, decode.SoftSL{},
		decode.Options{Steps: 1, Seed: 4, Final: decode.ImportanceResample{N: 8}, Scorer: c})
	if err != nil {
		panic(err)
	}
	fmt.Printf("IR: %q (%d NFE, %d scorer calls)\n", v.Decode(res.Tokens), res.NFE, res.JointEvals)
	for _, d := range []decode.FinalDecoder{decode.Beam{Width: 2, K: 2}, decode.MAP{K: 2}} {
		out, err := d.Decode(context.Background(), res.Final, c, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %q, log p = %.3f\n", d.Name(), v.Decode(out.Tokens), out.Score)
	}
	// Output:
	// IR: "I play tennis" (1 NFE, 8 scorer calls)
	// beam: "He likes apple", log p = -0.693
	// MAP: "He likes apple", log p = -0.693
}

// batchCalls counts the batch calls of a BatchDenoiser.
type batchCalls struct {
	decode.BatchDenoiser
	calls, seqs int
}

func (b *batchCalls) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	b.calls++
	b.seqs += len(ev)
	return b.BatchDenoiser.DenoiseBatch(dst, ev, t)
}

// GenerateBatch runs many generations in lockstep: here 4 sequences of 5
// steps are 5 batch calls of 4 sequences each, and every sequence is what
// Generate gives alone with the same Options.
func ExampleGenerateBatch() {
	h := oracle.Sticky3()
	v := h.Vocab()
	opts := make([]decode.Options, 4)
	for j := range opts {
		opts[j] = decode.Options{Steps: 5, Seed: uint64(j)}
	}
	den := &batchCalls{BatchDenoiser: h}
	res, err := decode.GenerateBatch(context.Background(), den, v, 5, decode.LLaDA{Temperature: 1}, opts)
	if err != nil {
		panic(err)
	}
	same := true
	for j, o := range opts {
		alone, err := decode.Generate(context.Background(), h, v, 5, decode.LLaDA{Temperature: 1}, o)
		if err != nil {
			panic(err)
		}
		same = same && v.Decode(alone.Tokens) == v.Decode(res[j].Tokens)
	}
	fmt.Printf("%d batch calls, %d sequences denoised, same as alone: %v\n", den.calls, den.seqs, same)
	// Output:
	// 5 batch calls, 20 sequences denoised, same as alone: true
}

// A Grid places a sampler's steps in time. Stochastic localisation's
// geometric SNR grid starts at 0 and steps geometrically from Min (0:
// the end over 100) to the end.
func ExampleGrid() {
	t := make([]float64, 5)
	if err := decode.GridGeometric.Times(t, 0, 16); err != nil {
		panic(err)
	}
	fmt.Printf("%.3g\n", t)
	if err := decode.GridUniform.Times(t, 1, 0); err != nil {
		panic(err)
	}
	fmt.Printf("%.3g\n", t)
	// Output:
	// [0 0.16 0.743 3.45 16]
	// [1 0.75 0.5 0.25 0]
}
