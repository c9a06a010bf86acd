package decode_test

import (
	"context"
	"fmt"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// Generate a sentence of the two-sentence corpus one token per step
// (exact under the oracle), then show the marginal trap and its cure: the
// one-step marginals put ½ on each word, and a joint decode over their
// top-2 lattice returns a sentence of the corpus.
func Example() {
	c := oracle.TwoSentence()
	v := c.Vocab()
	res, err := decode.Generate(context.Background(), c, v, 3,
		decode.LLaDA{Remasking: decode.RandomRemasking, Temperature: 1}, decode.Options{Steps: 3, Seed: 7})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q in %d NFE\n", v.Decode(res.Tokens), res.NFE)

	bel := soft.NewDense(3, v.Size())
	if err := c.Denoise(bel, soft.AllMask(3, v.Size(), v.Mask()), 1); err != nil {
		panic(err)
	}
	fmt.Printf("p(x_0 = He) = %.2f, p(x_0 = I) = %.2f\n", bel.Row(0)[0], bel.Row(0)[3])
	st, err := decode.BeliefState(v, bel)
	if err != nil {
		panic(err)
	}
	d, err := decode.Beam{Width: 2, K: 2}.Decode(context.Background(), st, c, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("joint decode: %q, log p = %.3f\n", v.Decode(d.Tokens), d.Score)
	// Output:
	// "I play tennis" in 3 NFE
	// p(x_0 = He) = 0.50, p(x_0 = I) = 0.50
	// joint decode: "He likes apple", log p = -0.693
}

// Stochastic localisation on the sticky HMM, then an exact joint decode of
// its end state: the MAP over the top-2 candidates of each position, hidden
// states summed. Its objective is the posterior given the evidence SL has
// accumulated, so it returns the mode of that posterior, here the constant
// sequence t1…t1 (p = ⅓·0.8⁴, log p = −1.991), one token away from the
// sequence SL sampled; from the prior marginals alone (no evidence) it returns the
// model's mode among the candidates, a constant sequence of probability
// 0.8⁴/3 (log p = −1.991).
func ExampleMAP() {
	h := oracle.Sticky3()
	v := h.Vocab()
	res, err := decode.Generate(context.Background(), h, v, 5, decode.SoftSL{Grid: decode.GridGeometric}, decode.Options{Steps: 4, Seed: 1, Record: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("sampled %q in %d NFE\n", v.Decode(res.Tokens), res.NFE)
	d, err := decode.MAP{K: 2}.Decode(context.Background(), res.Final, h, nil)
	if err != nil {
		panic(err)
	}
	lp, _ := h.LogProb(d.Tokens)
	fmt.Printf("MAP of the end state %q, log p = %.3f\n", v.Decode(d.Tokens), lp)
	prior := soft.NewDense(5, v.Size())
	if err := h.Denoise(prior, soft.AllMask(5, v.Size(), v.Mask()), 1); err != nil {
		panic(err)
	}
	st, err := decode.BeliefState(v, prior)
	if err != nil {
		panic(err)
	}
	d, err = decode.MAP{K: 2}.Decode(context.Background(), st, h, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("MAP of the prior %q, log p = %.3f\n", v.Decode(d.Tokens), d.Score)
	// Output:
	// sampled "t1 t1 t1 t1 t0" in 4 NFE
	// MAP of the end state "t1 t1 t1 t1 t1", log p = -1.991
	// MAP of the prior "t0 t0 t0 t0 t0", log p = -1.991
}
