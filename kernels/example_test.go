package kernels_test

import (
	"fmt"

	"github.com/softdiff/softdiff/kernels"
)

func ExampleCARTWeights() {
	// Positions 1 and 2 are masked; each sees an unmasked neighbour at
	// distance 1 (weight p) and one at distance 2 (weight p(1−p)), halved.
	w := make([]float64, 4)
	kernels.CARTWeights(w, []bool{false, true, true, false}, 0.5)
	fmt.Println(w)
	// Output: [0 0.375 0.375 0]
}

func ExampleLogLinear() {
	a, da := kernels.LogLinear{}.Alpha(0.5)
	fmt.Printf("%.4f %.4f\n", a, da)
	// Output: 0.5005 -0.9990
}
