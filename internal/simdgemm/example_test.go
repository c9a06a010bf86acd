package simdgemm_test

import (
	"fmt"

	"github.com/softdiff/softdiff/internal/simdgemm"
)

// C = A·B for a 2×3 A and a 3×2 B, then C = 2·A·B + C with B packed once.
func ExampleSgemm() {
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	c := make([]float32, 4)
	simdgemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	pb := simdgemm.PackB(false, 3, 2, b, 2)
	simdgemm.SgemmPacked(false, 2, 2, a, 3, pb, 1, c, 2)
	fmt.Println(c)
	// Output:
	// [4 5 10 11]
	// [12 15 30 33]
}
