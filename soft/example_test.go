package soft_test

import (
	"fmt"
	"math"

	"github.com/softdiff/softdiff/soft"
)

func ExampleSoftmaxEntropy() {
	logits := []float32{0, float32(math.Log(3)), float32(math.Inf(-1))}
	p := make([]float32, 3)
	h, err := soft.SoftmaxEntropy(p, logits)
	if err != nil {
		panic(err)
	}
	fmt.Printf("p = %.4f, H = %.4f nats\n", p, h)
	_, err = soft.SoftmaxEntropy(p[:1], []float32{float32(math.Inf(-1))})
	fmt.Println(err)
	// Output:
	// p = [0.2500 0.7500 0.0000], H = 0.5623 nats
	// every logit is -Inf
}

func ExampleSoftmaxEntropyRows() {
	logits := []float32{
		0, 0, 0, 0, // no preference: uniform, H = log 4
		9, 0, 0, 0, // nearly one-hot
	}
	d := soft.NewDense(2, 4)
	h := make([]float64, 2)
	if err := soft.SoftmaxEntropyRows(d, h, logits, 2); err != nil {
		panic(err)
	}
	fmt.Printf("H = %.4f (log 4 = %.4f), %.4f\n", h[0], math.Log(4), h[1])
	// Output:
	// H = 1.3863 (log 4 = 1.3863), 0.0037
}

func ExampleSparseTopK() {
	d, err := soft.FromProbs(1, 6, []float32{0.05, 0.5, 0.05, 0.3, 0.05, 0.05})
	if err != nil {
		panic(err)
	}
	s := soft.NewSparse(1, 6, 2)
	soft.SparseTopK(s, d, 1)
	r := s.Row(0)
	fmt.Printf("ids %v probs %.2f residual %.2f share %.3f\n", r.IDs, r.Probs, r.Resid, r.Share())
	back := soft.NewDense(1, 6)
	soft.SparseToDense(back, s, 1)
	fmt.Printf("round trip %.3f, TV %.3f\n", back.Row(0), soft.TV(d.Row(0), back.Row(0)))
	// Output:
	// ids [1 3] probs [0.50 0.30] residual 0.20 share 0.050
	// round trip [0.050 0.500 0.050 0.300 0.050 0.050], TV 0.000
}

func ExampleDense_Validate() {
	d := &soft.Dense{L: 2, K: 2, Data: []float32{1, 0, 0.7, 0.2}}
	fmt.Println(d.Validate())
	d.Data[3] = float32(math.NaN())
	fmt.Println(d.Validate())
	// Output:
	// soft: row 1: entries sum to 0.899999991, not 1 (tolerance 0.0001)
	// soft: row 1, column 1: NaN entry NaN
}
