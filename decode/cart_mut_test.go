package decode_test

import (
	"context"
	"math"
	"testing"

	"github.com/softdiff/softdiff/decode"
)

// TestCARTSettings: P must lie in [0, 1) (the doc: 1 − p is the decay per
// position and must be positive), so 1 itself is rejected and the largest
// float64 below 1 accepted; NaN P, negative, NaN or +Inf Temperature are
// errors.
func TestCARTSettings(t *testing.T) {
	v := tokVocab(t, 2)
	den := product([]float32{0.75, 0.25}, []float32{0.5, 0.5}, []float32{1, 0})
	for _, c := range []struct {
		alg decode.CART
		ok  bool
	}{
		{decode.CART{}, true},
		{decode.CART{P: 0.5}, true},
		{decode.CART{P: math.Nextafter(1, 0)}, true},
		{decode.CART{P: 1}, false},
		{decode.CART{P: -0.5}, false},
		{decode.CART{P: math.NaN()}, false},
		{decode.CART{Temperature: -1}, false},
		{decode.CART{Temperature: math.NaN()}, false},
		{decode.CART{Temperature: math.Inf(1)}, false},
	} {
		_, err := decode.Generate(context.Background(), den, v, 3, c.alg, decode.Options{Steps: 3})
		if (err == nil) != c.ok {
			t.Errorf("%+v: error %v, want ok %v", c.alg, err, c.ok)
		}
	}
}
