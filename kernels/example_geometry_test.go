package kernels_test

import (
	"fmt"
	"strings"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// Token geometry from the shipped KJV text: PPMI embeddings of the shipped
// model's vocabulary (the MASK id, last, excluded), then the nearest
// neighbours of a few frequent words by cosine similarity.
func ExamplePPMIEmbeddings() {
	h, err := oracle.KJV(1)
	if err != nil {
		panic(err)
	}
	v := h.Vocab()
	ids, err := oracle.EncodeText(v, oracle.KJVVerses())
	if err != nil {
		panic(err)
	}
	n := v.Size() - 1 // tokens 0..n−1; MASK is id n
	const dim = 32
	emb, err := kernels.PPMIEmbeddings(ids, n, kernels.PPMIOptions{Dim: dim})
	if err != nil {
		panic(err)
	}
	nbr, err := kernels.KNN(emb, n, dim, kernels.KNNOptions{K: 5, Workers: 1})
	if err != nil {
		panic(err)
	}
	for _, w := range []string{"god", "said", "land", "son", "gold", "three", "he"} {
		id, _ := v.ID(w)
		var near []string
		for _, j := range nbr[int(id)*5 : int(id)*5+5] {
			near = append(near, v.Token(j))
		}
		fmt.Printf("%s: %s\n", w, strings.Join(near, " "))
	}
	// Output:
	// god: lord servant fathers hath cattle
	// said: gave spake called took saw
	// land: tabernacle wilderness field congregation family
	// son: daughter father wife voice name
	// gold: round thereof altar about blood
	// three: six seven five four two
	// he: they she joseph we it
}

// The evidence a noisy token carries about x_0 under a kernel without
// absorption is a full likelihood row, not an indicator: under the uniform
// kernel (3 tokens and a MASK that never moves), x_t = token 1 at α(t) = ½
// has likelihood ½ + ½·⅓ from x_0 = 1 and ½·⅓ from each other token.
func ExampleUniform_Likelihood() {
	k, err := kernels.NewUniform(4, 3, kernels.Linear{})
	if err != nil {
		panic(err)
	}
	like := soft.NewDense(1, 4)
	k.Likelihood(like, []int32{1}, 0, 0.5) // P(x_0.5 = 1 | x_0 = v) for every v
	fmt.Printf("%.4f\n", like.Row(0))
	// Output: [0.1667 0.6667 0.1667 0.0000]
}
